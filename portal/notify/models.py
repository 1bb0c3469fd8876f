"""The notification outbox and each resident's notification preferences.

A ``Message`` row is written in the producer's transaction and delivered by a Celery task after
that transaction commits.  The row is the source of truth: the broker only carries ids, and a
periodic sweep re-queues rows the broker lost.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.types import JSONType, UTCDateTime, utcnow

from .limits import CLAIM_TOKEN_LENGTH, ERROR_CODE_MAX, IDEMPOTENCY_KEY_MAX

CHANNELS = ("app", "email", "sms", "voice")
STATUSES = ("queued", "sending", "delivered", "temporary_failure", "permanent_failure")
FAILED = ("temporary_failure", "permanent_failure")
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
