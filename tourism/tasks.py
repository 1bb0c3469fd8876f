"""Tourism Celery tasks: thin wrappers around the service."""

from __future__ import annotations

from celery import shared_task

from portal.extensions import db

from . import service

BEAT_SCHEDULE = {
    "tourism-release-expired-holds": {"task": "tourism.release_expired_holds", "schedule": 60.0},
}


@shared_task(name="tourism.release_expired_holds")
def release_expired_holds() -> int:
    """Expire unpaid holds and give their seats back (each exactly once); offers go to waiting lists."""
    total = 0
    for _round in range(20):
        released = service.release_expired(db.session)
        total += released
        if released == 0:
            break
    return total
