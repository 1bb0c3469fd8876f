"""API request bodies and response shapes of /api/v1/notify."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from portal.api import iso

from .models import Message

Channel = Literal["app", "email", "sms", "voice"]


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    preferred_channel: Channel | None = None
    opted_out: list[Literal["app", "email", "sms", "voice"]] = Field(default_factory=list, max_length=4)


def message_json(m: Message) -> dict:
    """A notice as officers see it: no address, no context (it may hold welfare data)."""
    return {
        "id": m.id,
        "user_id": m.user_id,
        "channel": m.channel,
        "locale": m.locale,
        "template": m.template,
        "idempotency_key": m.idempotency_key,
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
