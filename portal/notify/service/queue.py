"""Handing outbox rows to Celery: after the writer's commit (:func:`queue_after_commit`), or at
once for rows already committed (:func:`enqueue`, the sweep's way).  The broker carries only ids:
the row is the source of truth, and a lost task only delays a notice (the sweep re-queues it)."""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import event
from sqlalchemy.orm import scoped_session

from .. import settings

log = logging.getLogger(__name__)

_PENDING = "notify.pending"
_HOOKED = "notify.hooked"


# -- queueing after the producer's commit ----------------------------------------------------

def _real(session):
    return session() if isinstance(session, scoped_session) else session


def _after_commit(session) -> None:
    if session.in_nested_transaction():  # a savepoint was released: the rows are not out yet
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        enqueue(pending)


def _after_rollback(session, previous_transaction) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


def queue_after_commit(session, new: list[tuple[int, str]]) -> None:
    """Hand ``(id, channel)`` pairs to :func:`enqueue` once ``session`` commits (forgotten if
    it rolls back)."""
    real = _real(session)
    real.info.setdefault(_PENDING, []).extend(new)
    if not real.info.get(_HOOKED):
        event.listen(real, "after_commit", _after_commit)
        event.listen(real, "after_soft_rollback", _after_rollback)
        real.info[_HOOKED] = True


def enqueue(pairs: list[tuple[int, str]]) -> int:
    """Hand ``(id, channel)`` pairs to Celery, one task per channel and batch of ids.

    Never raises: if the broker cannot be reached the rows stay ``queued`` and the sweep picks
    them up.  Returns how many tasks were queued.
    """
    from .. import tasks  # the tasks module imports this one

    by_channel: dict[str, list[int]] = defaultdict(list)
    for message_id, channel in pairs:
        by_channel[channel].append(int(message_id))
    size, queued = settings.BATCH_SIZE(), 0
    for channel, ids in by_channel.items():
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            try:
                tasks.deliver_batch.apply_async(
                    (channel, chunk), retry=True,
                    # a short repr for logs and monitors: Celery's own saferepr of 200 ids costs
                    # more than the rest of queueing the task
                    argsrepr=f"({channel!r}, <{len(chunk)} ids {chunk[0]}..{chunk[-1]}>)",
                    retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5})
                queued += 1
            except Exception as exc:  # noqa: BLE001 - the outbox row is safe; the sweep retries
                log.warning("notify: could not queue %d %s notices (%s); the sweep will retry",
                            len(chunk), channel, type(exc).__name__)
    return queued
