"""Periodic work for proposals: close the windows that ended below the threshold; count the
ballots of votes that have ended."""

from __future__ import annotations

from celery import shared_task

BEAT_SCHEDULE = {
    "proposals-close-expired": {"task": "proposals.close_expired", "schedule": 600.0},
    "proposals-count-ballots": {"task": "proposals.count_ballots", "schedule": 60.0},
}


@shared_task(name="proposals.close_expired")
def close_expired() -> int:
    from portal.extensions import db

    from . import service

    return service.close_expired(db.session)


@shared_task(name="proposals.count_ballots")
def count_ballots() -> int:
    """Count every ended vote not counted yet; a vote that cannot be counted is logged and
    tried again next minute."""
    from portal.extensions import db

    from . import service

    return len(service.count_ended_votes(db.session).counted)
