"""The notification queue's rules, by concern (GOV.UK Notify's dao/delivery/celery split):

- :mod:`.outbox`: producers write notices (:func:`send`, :func:`send_many`, :func:`send_select`);
- :mod:`.queue`: the new rows go to Celery after the producer's commit (:func:`enqueue`);
- :mod:`.delivery`: a worker claims, renders and delivers a batch, with retries and backoff;
- :mod:`.claims`: the claim on each notice, checked and renewed before each send, kept alive
  while a send is in flight;
- :mod:`.sweep`: rows the broker or a dead worker lost go back on the queue;
- :mod:`.rendering`: the notice templates, in the recipient's language;
- :mod:`.inbox`, :mod:`.preferences`: what a resident sees and chooses;
- :mod:`.states`: what a person may be told of a notice (on its way, sent, failed);
- :mod:`.dashboard`: what welfare officers and staff see and do (each as their role allows).

Other services, the views, API, tasks, CLI, bench and tests import from here only.
"""

from .dashboard import (
    OFFICER_ROLES,
    RECIPIENT_ROLES,
    get_message,
    list_messages,
    queue_stats,
    retry,
    sees_recipients,
    stats,
)
from .delivery import BatchOutcome, backoff, deliver_batch, fresh_session
from .inbox import (
    INBOX_ORDER,
    inbox,
    inbox_message,
    inbox_query,
    mark_read,
    notices,
    notices_query,
    unread_count,
)
from .outbox import send, send_many, send_select
from .preferences import get_preferences, update_preferences
from .queue import enqueue, queue_after_commit
from .rendering import render, rendered, sealed_context, template_exists
from .states import DELIVERY_STATES, delivery_state, delivery_states, state_of
from .sweep import sweep, sweep_and_enqueue

__all__ = [
    "DELIVERY_STATES", "INBOX_ORDER", "OFFICER_ROLES", "RECIPIENT_ROLES", "BatchOutcome", "backoff", "deliver_batch",
    "delivery_state", "delivery_states", "notices", "notices_query", "state_of",
    "enqueue", "fresh_session", "get_message", "get_preferences", "inbox", "inbox_message",
    "inbox_query", "list_messages", "mark_read", "queue_after_commit", "queue_stats", "render",
    "rendered", "retry", "sealed_context", "sees_recipients", "send", "send_many", "send_select",
    "stats", "sweep", "sweep_and_enqueue", "template_exists", "unread_count", "update_preferences",
]
