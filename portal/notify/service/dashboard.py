"""What welfare officers and staff see and do: every notice, a failed one sent again, the queue's
statistics (the ``/notify/dashboard`` page and ``/api/v1/notify/messages|stats``)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal import audit
from portal.accounts import roles
from portal.accounts.service import require_role
from portal.api import paginate
from portal.errors import Invalid
from portal.types import utcnow

from ..errors import MessageNotFound, NotRetryable
from ..limits import MESSAGES_PAGE
from ..models import CHANNELS, FAILED, STATUSES, Message
from .inbox import INBOX_ORDER
from .queue import queue_after_commit

# Who may see every notice, send a failed one again and read the statistics (and so whose
# navigation shows the dashboard).
OFFICER_ROLES = (roles.WELFARE_OFFICER, roles.STAFF)


def list_messages(session: Session, user, *, status: str | None = None, channel: str | None = None,
                  cursor: str | None = None, limit: int = MESSAGES_PAGE):
    """All notices, newest first, for welfare officers and staff: (rows, next_cursor).

    Looking is an act: each page an officer reads is recorded in the audit log (what was
    filtered, how many rows), in this use case's one commit.
    """
    require_role(user, *OFFICER_ROLES)
    fields = {}
    if status and status not in STATUSES:
        fields["status"] = _("Not one of the allowed values.")
    if channel and channel not in CHANNELS:
        fields["channel"] = _("Not one of the allowed values.")
    if fields:
        raise Invalid(fields=fields)
    stmt = select(Message)
    if status:
        stmt = stmt.where(Message.status == status)
    if channel:
        stmt = stmt.where(Message.channel == channel)
    rows, next_cursor = paginate(session, stmt, INBOX_ORDER, cursor, limit)
    audit.record(session, user, "notify.messages.view", "notify_message", "*",
                 status=status, channel=channel, count=len(rows))
    session.commit()
    return rows, next_cursor


def get_message(session: Session, user, message_id: int) -> Message:
    require_role(user, *OFFICER_ROLES)
    message = session.get(Message, message_id)
    if message is None:
        raise MessageNotFound()
    return message


def retry(session: Session, user, message_id: int) -> Message:
    """Send a failed notice again (attempts start over), after the officer's transaction."""
    message = get_message(session, user, message_id)
    now = utcnow()
    # conditional UPDATE: of two officers retrying one notice, one wins; the other gets 409
    row = session.execute(
        update(Message)
        .where(Message.id == message.id, Message.status.in_(FAILED))
        .values(status="queued", attempts=0, next_attempt_at=None, queued_at=now, updated_at=now)
        .returning(Message.id, Message.channel)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        raise NotRetryable()
    audit.record(session, user, "notify.retry", "notify_message", message.id)
    queue_after_commit(session, [tuple(row)])
    session.commit()
    session.refresh(message)
    return message


def stats(session: Session, user) -> dict:
    """Queue depth by status and channel, delivery rate, failures by reason (officers)."""
    require_role(user, *OFFICER_ROLES)
    return queue_stats(session)


def queue_stats(session: Session) -> dict:
    """:func:`stats` without the role check, for the CLI and other services' dashboards."""
    depth = {status: dict.fromkeys(CHANNELS, 0) for status in STATUSES}
    for status, channel, count in session.execute(
            select(Message.status, Message.channel, func.count()).group_by(Message.status, Message.channel)):
        depth[status][channel] = count
    totals = {status: sum(by_channel.values()) for status, by_channel in depth.items()}
    finished = totals["delivered"] + totals["permanent_failure"]
    failures = [
        {"status": status, "channel": channel, "reason": reason or "", "count": count}
        for status, channel, reason, count in session.execute(
            select(Message.status, Message.channel, Message.last_error, func.count())
            .where(Message.status.in_(FAILED))
            .group_by(Message.status, Message.channel, Message.last_error)
            .order_by(func.count().desc()))
    ]
    recent = list(session.scalars(
        select(Message).where(Message.status.in_(FAILED))
        .order_by(Message.updated_at.desc(), Message.id.desc()).limit(20)))
    return {
        "depth": depth,
        "totals": totals,
        "delivery_rate": (totals["delivered"] / finished) if finished else None,
        "failures": failures,
        "recent_failures": recent,
    }
