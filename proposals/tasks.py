"""Periodic work for proposals: close the windows that ended below the threshold."""

from __future__ import annotations

from celery import shared_task

BEAT_SCHEDULE = {
    "proposals-close-expired": {"task": "proposals.close_expired", "schedule": 600.0},
}


@shared_task(name="proposals.close_expired")
def close_expired() -> int:
    from portal.extensions import db

    from . import service

    return service.close_expired(db.session)
