"""Periodic upkeep: mark cards past their validity expired; forget used token ids."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="eid.expire_cards")
def expire_cards() -> int:
    from portal.eid import service
    from portal.extensions import db

    return service.expire_cards(db.session)


@shared_task(name="eid.purge_used_tokens")
def purge_used_tokens() -> int:
    from portal.eid import verify
    from portal.extensions import db

    return verify.purge_used_tokens(db.session)


BEAT_SCHEDULE = {
    "eid-expire-cards": {"task": "eid.expire_cards", "schedule": 3600.0},
    # Every gate check that passes adds a row; purged each minute, the table holds about two
    # minutes of checks (a busy pool: a few hundred thousand rows) instead of ten.
    "eid-purge-used-tokens": {"task": "eid.purge_used_tokens", "schedule": 60.0},
}
