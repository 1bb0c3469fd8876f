"""Provider events: what a provider that reports back says of a notice it accepted.

A notice an HTTP provider (SMS, voice) accepted is ``sent``; the provider then posts what became
of it to ``POST /api/v1/notify/providers/<channel>/events``, signed as Stripe signs its webhooks:
``X-Provider-Timestamp`` (Unix seconds) and ``X-Provider-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<raw body>">`` under ``<CHANNEL>_PROVIDER_SECRET``. Without that secret every event
of the channel is refused; a timestamp more than five minutes away (either way) is refused too,
so a captured event cannot be replayed later.

What an event does (:func:`record_event`), only to a notice still ``sent`` (a receipt for a
notice already final, ``delivered`` or ``permanent_failure``, changes nothing; nor does one for
a notice waiting for its retry, whose next hand-over the provider will report on again):

- the receipt (``delivered`` for SMS and e-mail, ``answered`` for voice): ``delivered``;
- ``undeliverable``: ``permanent_failure`` (reason ``undeliverable``);
- ``no_answer``, ``busy``, ``failed``: a temporary failure, retried as a provider's 5xx is
  (the attempt counted, the same backoff, moved past the quiet hours like any retry of a call
  or a text, permanent once ``NOTIFY_MAX_ATTEMPTS`` are spent);
- ``keypress``: stored with its digits, nothing else here (officer follow-ups act on them).

Each newly stored event is also handed to the hooks in :data:`ON_EVENT` (welfare's follow-ups:
keypresses, unanswered calls), in the same transaction.

Each event is stored once (:class:`~portal.notify.models.ProviderEvent`, unique on notice,
event, time and digits): the same event posted again, or twice at once, has one effect.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.settings import Setting, as_str
from portal.types import utcnow

from .. import settings
from ..errors import BadProviderSignature, NotSentYet, UnknownReference
from ..limits import PROVIDER_EVENT_SKEW
from ..models import Message, ProviderEvent
from . import quiet
from .delivery import backoff, purged

log = logging.getLogger(__name__)

# Channels whose provider may report back. E-mail goes over SMTP (or the development catcher),
# which reports nothing, so no e-mail notice waits in "sent" today; an HTTP e-mail provider
# would post here under EMAIL_PROVIDER_SECRET.
RECEIPT_CHANNELS = ("email", "sms", "voice")
PROVIDER_SECRET = {channel: Setting(f"{channel.upper()}_PROVIDER_SECRET", None, as_str, environ=True,
                                    doc="the secret a provider signs its events with")
                   for channel in RECEIPT_CHANNELS}
# The event that proves delivery, per channel.
RECEIPT = {"email": "delivered", "sms": "delivered", "voice": "answered"}
RETRIED = ("no_answer", "busy", "failed")
# hook(session, message_id, event, digits, now) for each event stored the first time (flush only)
ON_EVENT: list = []
TIMESTAMP_HEADER = "X-Provider-Timestamp"
SIGNATURE_HEADER = "X-Provider-Signature"


def sign(secret: str, timestamp: int | str, raw_body: bytes) -> str:
    """The ``X-Provider-Signature`` of ``raw_body`` sent at ``timestamp``."""
    signed = str(timestamp).encode() + b"." + raw_body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(channel: str, timestamp: str | None, signature: str | None, raw_body: bytes,
                     *, now: float | None = None) -> None:
    """:class:`BadProviderSignature` unless the channel has a secret, the timestamp is within
    five minutes of ``now`` and the signature is that secret's over "<timestamp>.<raw body>"
    (compared in constant time)."""
    secret = PROVIDER_SECRET[channel]()
    if not secret or not timestamp or not signature:
        raise BadProviderSignature()
    try:
        sent_at = int(timestamp.strip())
    except ValueError:
        raise BadProviderSignature() from None
    now = time.time() if now is None else now
    if abs(now - sent_at) > PROVIDER_EVENT_SKEW:
        raise BadProviderSignature()
    expected = sign(secret, timestamp.strip(), raw_body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise BadProviderSignature()


def _insert_once(session: Session, values: dict) -> bool:
    """Store an event unless it is already stored; True when this call stored it."""
    dialect = session.get_bind().dialect.name
    table = ProviderEvent.__table__
    if dialect == "postgresql":
        stmt = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - the portal runs on PostgreSQL and SQLite
        stmt = insert(table).values(**values)
    return session.execute(stmt.returning(table.c.id)).first() is not None


def record_event(session: Session, channel: str, reference: str, event: str, at: datetime,
                 digits: str | None = None, *, now: datetime | None = None) -> list[tuple[int, float]]:
    """Store a provider's event and apply it (see the module's docstring); the caller commits,
    then queues the retries returned as ``(message id, seconds)`` (:func:`queue_retries`).
    :class:`UnknownReference` when no notice of ``channel`` has that reference (its first
    hand-over not recorded yet included: the provider posts it again), :class:`NotSentYet`
    while it is being handed over again."""
    now = now or utcnow()
    row = session.execute(select(Message.id, Message.attempts, Message.status)
                          .where(Message.reference == reference, Message.channel == channel)).first()
    if row is None:
        raise UnknownReference()
    message_id, attempts, status = row
    if status == "sending":
        # a retry in flight whose outcome is not recorded yet: its receipt would find it not
        # "sent" and be lost, so it is refused (409, nothing stored) and posted again later
        raise NotSentYet()
    if not _insert_once(session, {"message_id": message_id, "event": event, "at": at,
                                  "digits": digits or "", "received_at": now}):
        return []  # told before: it had its effect then
    for hook in ON_EVENT:
        hook(session, message_id, event, digits, now)
    sent = update(Message).where(Message.id == message_id, Message.status == "sent") \
        .execution_options(synchronize_session=False)
    if event == RECEIPT[channel]:
        session.execute(sent.values(status="delivered", delivered_at=now, updated_at=now, next_attempt_at=None,
                                    last_error=None, **purged(now)))
    elif event == "undeliverable":
        _fail(session, sent, event, now)
    elif event in RETRIED:
        if attempts >= settings.MAX_ATTEMPTS():
            _fail(session, sent, event, now)
        else:
            # the backoff, or the end of the quiet hours it would end in (a call at 3 a.m. waits)
            retry_at = quiet.not_before(channel, now + timedelta(seconds=backoff(attempts)))
            delay = (retry_at - now).total_seconds()
            done = session.execute(sent.values(status="temporary_failure", failed_at=now, updated_at=now,
                                               next_attempt_at=retry_at, last_error=event)
                                   .returning(Message.id)).first()
            if done is not None:
                return [(message_id, delay)]
    return []


def _fail(session: Session, sent, reason: str, now: datetime) -> None:
    session.execute(sent.values(status="permanent_failure", failed_at=now, updated_at=now, next_attempt_at=None,
                                last_error=reason, **purged(now)))


def queue_retries(channel: str, retries: list[tuple[int, float]]) -> None:
    """After the commit: each retried notice's delivery task, due when its backoff ends (one put
    off to the end of the quiet hours is left to the sweep). Never raises: a retry whose task
    is lost is queued again by the sweep."""
    from .. import tasks  # the tasks module imports the service

    longest = settings.RETRY_MAX_SECONDS()
    for message_id, delay in retries:
        if delay > longest:
            # put off to the end of the quiet hours: the sweep queues it then (a countdown of
            # hours would outlive the broker's visibility timeout), as the workers' retries
            continue
        try:
            tasks.deliver_batch.apply_async((channel, [message_id]), countdown=delay, retry=True,
                                            retry_policy={"max_retries": 2, "interval_start": 0.2})
        except Exception as exc:  # noqa: BLE001 - the row is safe; the sweep retries
            log.warning("notify: could not queue a retry after a provider event (%s)", type(exc).__name__)
