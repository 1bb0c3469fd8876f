"""API request bodies and response shapes of /api/v1/notify.

Each answer has a pydantic model ``XOut`` describing its shape and, beside it, the one function
that builds it as a plain dict (what the API sends; ``tests/notify/test_schemas.py`` validates
real answers against the models).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel

from portal.api import MAX_LIMIT, Body, Query, iso
from portal.i18n import LOCALES

from .limits import DIGITS_MAX, EVENT_REFERENCE_MAX, INBOX_PAGE, MESSAGES_PAGE
from .models import CHANNELS, FAILED, OPTIONAL_CHANNELS, PROVIDER_EVENTS, STATUSES, Message, Preference

Channel = Literal[CHANNELS]
OptionalChannel = Literal[OPTIONAL_CHANNELS]
Status = Literal[STATUSES]
Locale = Literal[LOCALES]


# -- requests ----------------------------------------------------------------------------------

def _only_optional_channels(schema: dict) -> None:
    # The model takes every channel so that the service can say why "app" is refused (the
    # portal inbox stays on, beside the field); the document says what is accepted.
    schema["items"]["enum"] = list(OPTIONAL_CHANNELS)


class PreferencesIn(Body):
    preferred_channel: Channel | None = Field(
        default=None, description="null: the portal chooses; sms and voice need a phone number in "
                                  "the profile; not a channel switched off")
    opted_out: list[Channel] = Field(default_factory=list, max_length=len(CHANNELS),
                                     description="channels switched off (the portal inbox, app, stays on)",
                                     json_schema_extra=_only_optional_channels)


_CURSOR = "next_cursor of the previous page (empty or absent: the first page)"


class InboxQuery(Query):
    cursor: str = Field(default="", description=_CURSOR)
    limit: int = Field(default=INBOX_PAGE, ge=1, le=MAX_LIMIT)


class MessagesQuery(Query):
    status: Literal[("", *STATUSES)] = Field(default="", description="only notices in this state (empty: all)")
    channel: Literal[("", *CHANNELS)] = Field(default="", description="only notices by this channel (empty: all)")
    cursor: str = Field(default="", description=_CURSOR)
    limit: int = Field(default=MESSAGES_PAGE, ge=1, le=MAX_LIMIT)


class ProviderEventIn(Body):
    """What a provider reports of a notice it accepted (signed: X-Provider-Timestamp and
    X-Provider-Signature)."""

    reference: str = Field(min_length=1, max_length=EVENT_REFERENCE_MAX,
                           description="the notice's reference, as the provider was handed it (the request's "
                                       "reference and Idempotency-Key)")
    event: Literal[PROVIDER_EVENTS] = Field(
        description="delivered (SMS, e-mail) and answered (voice) are the receipts; undeliverable fails the "
                    "notice for good; no_answer, busy and failed are retried; keypress is stored with its digits")
    digits: str | None = Field(default=None, min_length=1, max_length=DIGITS_MAX, pattern=r"^[0-9*#]+$",
                               description="the keys pressed (keypress)")
    at: AwareDatetime = Field(description="when it happened, with its time zone (RFC 3339)")


# -- answers -----------------------------------------------------------------------------------

class Out(BaseModel):
    """An answer's shape: a key the builder adds but the model lacks is an error too."""

    model_config = ConfigDict(extra="forbid")


class MessageSummaryOut(Out):
    """A notice as staff outside welfare see it: what the queue did with it, not whom it was for
    nor what it said."""

    id: int
    channel: Channel
    family: str = Field(description="the service that sent it: accounts, proposals, tourism, welfare, ...")
    status: Status
    attempts: int
    last_error: str | None = Field(description="machine code, e.g. smtp_550, http_503, opted_out")
    created_at: datetime | None
    queued_at: datetime | None
    sending_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    next_attempt_at: datetime | None


class MessageOut(MessageSummaryOut):
    """A notice as welfare officers (and admin) see it: also whom and which template (never an
    address, the context or its sealed part)."""

    user_id: int | None
    locale: Locale
    template: str
    idempotency_key: str


def message_json(m: Message, full: bool) -> dict:
    """A notice on the officers' list: ``MessageOut`` (``full``, for whom
    ``service.sees_recipients``) or ``MessageSummaryOut``. Never an address, the context (it
    may hold welfare data) or its sealed part."""
    out = {
        "id": m.id,
        "channel": m.channel,
        "family": m.family,
        "status": m.status,
        "attempts": m.attempts,
        "last_error": m.last_error,
        "created_at": iso(m.created_at),
        "queued_at": iso(m.queued_at),
        "sending_at": iso(m.sending_at),
        "delivered_at": iso(m.delivered_at),
        "failed_at": iso(m.failed_at),
        "next_attempt_at": iso(m.next_attempt_at),
    }
    if full:
        out.update(user_id=m.user_id, locale=m.locale, template=m.template,
                   idempotency_key=m.idempotency_key)
    return out


class MessageAnyOut(RootModel[MessageOut | MessageSummaryOut]):
    """One notice: ``MessageOut`` for whom ``service.sees_recipients``, else ``MessageSummaryOut``."""


class InboxItemOut(Out):
    id: int
    subject: str
    body: str
    channel: Channel
    locale: Locale
    template: str
    created_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    read: bool


def inbox_json(m: Message, rendered: dict) -> dict:
    """A notice in the resident's own inbox, rendered in the language it was sent in."""
    return {
        "id": m.id,
        "subject": rendered["subject"],
        "body": rendered["body"],
        "channel": m.channel,
        "locale": m.locale,
        "template": m.template,
        "created_at": iso(m.created_at),
        "delivered_at": iso(m.delivered_at),
        "read_at": iso(m.read_at),
        "read": m.read_at is not None,
    }


class InboxPageOut(Out):
    items: list[InboxItemOut]
    next_cursor: str | None


class MessagePageOut(Out):
    items: list[MessageOut] | list[MessageSummaryOut]
    next_cursor: str | None


def page_json(items: list[dict], next_cursor: str | None) -> dict:
    """A page of a list (``InboxPageOut``, ``MessagePageOut``)."""
    return {"items": items, "next_cursor": next_cursor}


class PreferencesOut(Out):
    preferred_channel: Channel | None
    opted_out: list[OptionalChannel]


def preferences_json(pref: Preference | None) -> dict:
    """A resident's preferences (no row yet: no preferred channel, nothing switched off)."""
    return {
        "preferred_channel": pref.preferred_channel if pref else None,
        "opted_out": sorted(pref.opted_out or []) if pref else [],
    }


class FailureOut(Out):
    status: Literal[FAILED]
    channel: Channel
    family: str
    reason: str
    count: int


class StatsOut(Out):
    depth: dict[Status, dict[Channel, int]]
    totals: dict[Status, int]
    delivery_rate: float | None
    failures: list[FailureOut]
    recent_failures: list[MessageOut] | list[MessageSummaryOut]


def stats_json(stats: dict, full: bool) -> dict:
    """The queue's statistics (``service.stats``), the recent failures as ``message_json``."""
    return {
        "depth": stats["depth"],
        "totals": stats["totals"],
        "delivery_rate": stats["delivery_rate"],
        "failures": stats["failures"],
        "recent_failures": [message_json(m, full) for m in stats["recent_failures"]],
    }
