"""What a person may be told about a notice: whether it went out (:func:`delivery_state`).

A page that speaks of a message ("we sent the confirmation to your email") asks here first and
says only what happened: ``sent`` once the provider accepted it (``sent`` or, on its receipt,
``delivered``; for the portal inbox, once it is there), ``queued`` while it waits or is being
handed over ("on its way"), ``retrying``
after a try that failed and will be repeated, ``failed`` when it will not be sent. The words
for each state, per channel, are :mod:`portal.notify.labels` (``delivery_sentence``).

The state says nothing about who a notice was for or what it said; the caller decides who may
see it (it knows the notice's idempotency key because it wrote the notice).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Message

QUEUED, RETRYING, SENT, FAILED = "queued", "retrying", "sent", "failed"
DELIVERY_STATES = (QUEUED, RETRYING, SENT, FAILED)

_BY_STATUS = {
    "queued": QUEUED,
    "sending": QUEUED,
    "temporary_failure": RETRYING,
    # handed to a provider that reports back, its receipt not in yet: it went out
    "sent": SENT,
    "delivered": SENT,
    "permanent_failure": FAILED,
}


def state_of(message: Message) -> str:
    """The delivery state of a notice already loaded."""
    return _BY_STATUS[message.status]


def delivery_state(session: Session, idempotency_key: str | None) -> str | None:
    """``"queued" | "retrying" | "sent" | "failed"`` for the notice written with
    ``idempotency_key``, or None when there is none (nothing was written: e.g. the
    recipient's hourly share of mails was used up). A read: it writes nothing."""
    if not idempotency_key:
        return None
    status = session.scalar(select(Message.status).where(Message.idempotency_key == idempotency_key))
    return _BY_STATUS[status] if status is not None else None


def delivery_states(session: Session, idempotency_keys) -> dict[str, str]:
    """:func:`delivery_state` of several notices at once: key -> state (missing keys left out)."""
    keys = [k for k in dict.fromkeys(idempotency_keys) if k]
    if not keys:
        return {}
    rows = session.execute(select(Message.idempotency_key, Message.status)
                           .where(Message.idempotency_key.in_(keys)))
    return {key: _BY_STATUS[status] for key, status in rows}
