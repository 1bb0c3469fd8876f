"""Celery tasks of the notification queue: thin wrappers around :mod:`portal.notify.service`.

- ``notify.deliver_batch(channel, ids)``: deliver a batch of outbox rows.  ``acks_late`` and
  ``reject_on_worker_lost``: a worker killed mid-batch leaves its message to be redelivered, and
  the rows it had claimed (``sending``) are put back by the sweep; the claim is a conditional
  UPDATE renewed before each send (``service.claims``), so a redelivered or duplicated task, or a
  worker whose claim the sweep took back, never sends a notice twice.
- ``notify.sweep``: every ``NOTIFY_SWEEP_INTERVAL`` seconds (default 60), re-queue rows stuck in
  ``queued``/``sending`` past ``NOTIFY_STUCK_SECONDS`` and retries whose task was lost, and, at
  the end of the quiet hours, the calls and texts that waited for it (``service.quiet``).
"""

from __future__ import annotations

import os

from celery import shared_task

from . import service, settings

BEAT_SCHEDULE = {
    "notify-sweep": {
        "task": "notify.sweep",
        "schedule": settings.SWEEP_INTERVAL.get(os.environ),  # read before an app exists
    },
}


@shared_task(name="notify.deliver_batch", bind=True, acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def deliver_batch(self, channel: str, ids: list[int]) -> int:
    eager = bool(self.request.is_eager)
    with service.fresh_session() as session:
        # rate limits only hold between real workers: in-process (eager) delivery is not limited
        outcome = service.deliver_batch(session, channel, ids, limit=not eager)
    if not eager:  # an eager "countdown" would run at once and find nothing due
        longest = settings.RETRY_MAX_SECONDS()
        for delay, batch in outcome.retry:
            # a retry the quiet hours put off to the opening (hours away) is queued by the sweep
            # then: a countdown that long would outlive the broker's visibility timeout and come
            # back early, once an hour
            if delay <= longest:
                deliver_batch.apply_async((channel, batch), countdown=delay)
        if outcome.deferred:
            deliver_batch.apply_async((channel, outcome.deferred), countdown=outcome.defer_for)
    return len(outcome.delivered)


@shared_task(name="notify.sweep", ignore_result=True)
def sweep() -> int:
    with service.fresh_session() as session:
        return service.sweep_and_enqueue(session)
