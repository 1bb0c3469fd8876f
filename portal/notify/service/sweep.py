"""The sweep: rows stuck in ``queued``/``sending`` (a lost broker message, a dead worker) go back
on the queue, so a lost task delays a notice but never loses it.  Run every
``NOTIFY_SWEEP_INTERVAL`` seconds by the ``notify.sweep`` beat task, or ``flask notify sweep``."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from portal.types import utcnow

from .. import settings
from ..models import Message
from . import quiet
from .delivery import purged
from .queue import enqueue

log = logging.getLogger(__name__)


def sweep(session: Session, *, now: datetime | None = None) -> list[tuple[int, str]]:
    """Put back on the queue what the broker or a dead worker lost; returns (id, channel)s.

    - ``sending`` whose claim was not renewed for ``NOTIFY_STUCK_SECONDS`` (the worker died, or
      the notice's turn in a long batch has not come): back to ``queued`` with the claim taken
      away, or ``permanent_failure`` once the attempts are used up. A live worker renews the
      claim of a send in flight (:class:`.claims.Lease`), so that is never taken back; a notice
      taken back is not sent by the worker that lost it (its renewal no longer matches);
    - ``queued`` for longer than that (the broker lost the task): queued again;
    - ``temporary_failure`` whose retry is that overdue (the retry task was lost): queued again;
    - voice calls and SMS held for the quiet hours (:mod:`.quiet`: ``next_attempt_at`` is the
      opening), at the opening: queued once (``updated_at`` moves past the opening), never before
      it; the channel's rate limit spreads them.
    The caller commits, then hands the pairs to :func:`enqueue`.
    """
    now = now or utcnow()
    cutoff = now - timedelta(seconds=settings.STUCK_SECONDS())
    session.execute(
        update(Message)
        .where(Message.status == "sending", Message.sending_at < cutoff,
               Message.attempts >= settings.MAX_ATTEMPTS())
        .values(status="permanent_failure", claim=None, failed_at=now, updated_at=now,
                last_error="worker_lost", **purged(now))
        .execution_options(synchronize_session=False))
    found: list[tuple[int, str]] = []
    for where, values in (
        ((Message.status == "sending", Message.sending_at < cutoff),
         {"status": "queued", "claim": None, "queued_at": now}),
        # a queued notice held for the quiet hours is not lost: it waits for the opening
        ((Message.status == "queued", Message.queued_at < cutoff,
          or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now)), {"queued_at": now}),
        ((Message.status == "temporary_failure", Message.next_attempt_at < cutoff),
         {"next_attempt_at": now}),
        *_opening(now),
    ):
        # conditional UPDATEs: a row a worker claimed (or finished) meanwhile no longer matches
        found.extend(session.execute(
            update(Message).where(*where).values(updated_at=now, **values)
            .returning(Message.id, Message.channel)
            .execution_options(synchronize_session=False)).all())
    return found


def _opening(now: datetime) -> list[tuple]:
    """The sweep's clause for what waits for the quiet hours' latest opening (none while they
    are off): held exactly until it, and not touched since it came."""
    opening = quiet.last_opening(now)
    if opening is None:
        return []
    return [((Message.next_attempt_at == opening, Message.updated_at < opening,
              Message.status.in_(("queued", "temporary_failure")), Message.claim.is_(None),
              Message.channel.in_(quiet.HELD_CHANNELS)),
             {"queued_at": now})]


def sweep_and_enqueue(session: Session, *, now: datetime | None = None) -> int:
    """The sweep as a use case: one commit, then the rows go to the broker."""
    found = sweep(session, now=now)
    session.commit()
    if found:
        log.info("notify sweep: re-queued %d notices", len(found))
        enqueue(found)
    return len(found)
