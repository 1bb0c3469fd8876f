"""The notification outbox and each resident's notification preferences.

A ``Message`` row is written in the producer's transaction and delivered by a Celery task after
that transaction commits.  The row is the source of truth: the broker only carries ids, and a
periodic sweep re-queues rows the broker lost.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.types import JSONType, UTCDateTime, utcnow

from .limits import CLAIM_TOKEN_LENGTH, DIGITS_MAX, ERROR_CODE_MAX, IDEMPOTENCY_KEY_MAX, REFERENCE_LENGTH

CHANNELS = ("app", "email", "sms", "voice")
# "sent": a provider that reports back (the HTTP SMS and voice providers) accepted it; it is
# "delivered" only on that provider's receipt (portal.notify.service.receipts).
STATUSES = ("queued", "sending", "sent", "delivered", "temporary_failure", "permanent_failure")
FAILED = ("temporary_failure", "permanent_failure")
# a notice in one of these is done: a receipt changes nothing, the sweep never touches it
FINAL = ("delivered", "permanent_failure")
# What a provider may report of a notice (POST /api/v1/notify/providers/<channel>/events).
PROVIDER_EVENTS = ("answered", "no_answer", "busy", "failed", "keypress", "delivered", "undeliverable")
# Channels a resident may switch off: the in-portal inbox always stays on, so a notice always
# has somewhere to land.
OPTIONAL_CHANNELS = ("email", "sms", "voice")
# Channels that reach a phone number.
PHONE_CHANNELS = ("sms", "voice")

_ID = BigInteger().with_variant(Integer, "sqlite")


def family(template: str) -> str:
    """The service a template belongs to (``welfare.eligible`` -> ``welfare``): what staff
    outside welfare may see of it."""
    return template.partition(".")[0]


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Message(db.Model):
    __tablename__ = "notify_message"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(
            "user_id IS NOT NULL OR email IS NOT NULL OR phone IS NOT NULL",
            name="recipient",
        ),
        # the sweep and the dashboard look rows up by status
        Index("ix_notify_message_status_channel", "status", "channel"),
        # the resident's inbox, newest first
        Index("ix_notify_message_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_MAX), unique=True)

    # recipient: a portal user, or a bare address (tourists booking without an account)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), nullable=True
    )
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))

    channel: Mapped[str] = mapped_column(String(10))
    locale: Mapped[str] = mapped_column(String(10), default="ko")
    template: Mapped[str] = mapped_column(String(120))
    context: Mapped[dict] = mapped_column(JSONType, default=dict)
    # What the producer sealed (a link with a live token): a Fernet token under a key derived
    # from SECRET_KEY (portal.notify.sealing), opened only to render the notice for delivery,
    # erased (NULL, with sealed_purged_at) once it is delivered or has failed for good.
    sealed: Mapped[str | None] = mapped_column(Text)
    sealed_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    status: Mapped[str] = mapped_column(String(20), default="queued")
    # The claim of the worker sending it: a random token, new with each claim, NULL when no
    # worker holds it. Each step of a delivery is a conditional UPDATE on it
    # (portal.notify.service.claims), so a worker whose claim was taken over sends nothing more.
    claim: Mapped[str | None] = mapped_column(String(CLAIM_TOKEN_LENGTH))
    # delivery attempts (a notice the sweep took back before its turn came was not attempted)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The keyed hash of the idempotency key (portal.notify.sealing.reference) a provider that
    # reports back was handed: how its receipts find the notice. Set when such a provider
    # accepts it (status "sent"); NULL for notices no provider reports on.
    reference: Mapped[str | None] = mapped_column(String(REFERENCE_LENGTH), unique=True)
    # a short machine code ("smtp_550", "opted_out", ...): never an address or a name
    last_error: Mapped[str | None] = mapped_column(String(ERROR_CODE_MAX))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def family(self) -> str:
        return family(self.template)

    def __repr__(self) -> str:  # no personal data in reprs either: they end up in logs
        return f"<Message {self.id} {self.channel} {self.status}>"


class Preference(db.Model):
    __tablename__ = "notify_preference"
    __table_args__ = (
        CheckConstraint(
            f"preferred_channel IS NULL OR {_in('preferred_channel', CHANNELS)}",
            name="preferred_channel",
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    preferred_channel: Mapped[str | None] = mapped_column(String(10))
    opted_out: Mapped[list] = mapped_column(JSONType, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ProviderEvent(db.Model):
    """What a provider reported of a notice (a signed POST to
    ``/api/v1/notify/providers/<channel>/events``), each event once: the same event posted
    again (same notice, event, time and digits) is not stored again and changes nothing.
    ``digits`` is "" unless the event is a keypress."""

    __tablename__ = "notify_provider_event"
    __table_args__ = (
        CheckConstraint(_in("event", PROVIDER_EVENTS), name="event"),
        UniqueConstraint("message_id", "event", "at", "digits", name="uq_notify_provider_event_once"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(_ID, ForeignKey("notify_message.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(20))
    digits: Mapped[str] = mapped_column(String(DIGITS_MAX), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it happened, as the provider says
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ProviderEvent {self.id} {self.message_id} {self.event}>"
