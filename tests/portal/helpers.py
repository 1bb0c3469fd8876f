"""What the portal mailed, read from the outbox as a mail server would receive it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from portal.extensions import db


def mails_to(email: str, template: str | None = None) -> list:
    from portal.notify.models import Message

    stmt = select(Message).where(Message.email == email.lower(), Message.channel == "email")
    if template:
        stmt = stmt.where(Message.template == template)
    return list(db.session.scalars(stmt.order_by(Message.id)))


def opened(message) -> dict:
    """A notice's whole context as its delivery renders it: the sealed part (live tokens) opened."""
    from portal.notify import service

    return {**message.context, **service.sealed_context(message)}


def link_in(message) -> str:
    """The link of a mail, sealed (a live token) or not."""
    return opened(message)["link"]


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["t"][0]


def path_of(link: str) -> str:
    parts = urlsplit(link)
    return parts.path + ("?" + parts.query if parts.query else "")


def retry_after(resp) -> int:
    value = resp.headers.get("Retry-After", "")
    assert re.fullmatch(r"\d+", value), f"no Retry-After seconds: {value!r}"
    return int(value)
