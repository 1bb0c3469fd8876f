"""What welfare officers and staff see and do: every notice, a failed one sent again, the queue's
statistics (the ``/notify/dashboard`` page and ``/api/v1/notify/messages|stats``).

Who sees what: a notice's recipient, template and idempotency key say who qualifies for which
welfare programme (``welfare:<programme>:<user id>``), so only welfare officers (and admin) see
them (:func:`sees_recipients`). Other staff run the queue: they see counts, channels, statuses,
failure codes and a template's family (``tourism``, ``welfare``: the service that sent it,
never a programme), and may send a failed notice again by its id. Residents see their own
inbox only.

Reads write nothing: an officer's look at the list is an application log line (actor id, filter,
count: no personal data), not an audit row.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal import audit
from portal.accounts import roles
from portal.accounts.service import require_role
from portal.api import paginate
from portal.errors import Invalid
from portal.types import utcnow

from ..errors import MessageNotFound, NotRetryable, SealedGone
from ..limits import MESSAGES_PAGE, RECENT_FAILURES
from ..models import CHANNELS, FAILED, STATUSES, Message, family
from .inbox import INBOX_ORDER
from .queue import queue_after_commit

log = logging.getLogger(__name__)

# Who may see every notice (as far as their role allows), send a failed one again and read the
# statistics (and so whose navigation shows the dashboard).
OFFICER_ROLES = (roles.WELFARE_OFFICER, roles.STAFF)
# Who also sees each notice's recipient, template and idempotency key (admin passes too).
RECIPIENT_ROLES = (roles.WELFARE_OFFICER,)


def sees_recipients(user) -> bool:
    """Whether ``user`` sees whom a notice went to and what it was (else: counts and failures)."""
    return bool(getattr(user, "is_authenticated", False) and user.has_role(*RECIPIENT_ROLES))


def list_messages(session: Session, user, *, status: str | None = None, channel: str | None = None,
                  cursor: str | None = None, limit: int = MESSAGES_PAGE):
    """All notices, newest first, for welfare officers and staff: (rows, next_cursor). What
    each may see of a row is :func:`sees_recipients`'s answer.

    A read: it writes nothing. A welfare officer's look is an application log line (who, the
    filter, how many rows).
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
    if sees_recipients(user):
        log.info("notify.messages.view actor=%s status=%s channel=%s count=%d",
                 user.id, status or "*", channel or "*", len(rows))
    return rows, next_cursor


def get_message(session: Session, user, message_id: int) -> Message:
    require_role(user, *OFFICER_ROLES)
    message = session.get(Message, message_id)
    if message is None:
        raise MessageNotFound()
    return message


def retry(session: Session, user, message_id: int) -> Message:
    """Send a failed notice again (attempts start over), after the officer's transaction.

    Not one whose sealed part was erased when it failed for good (a one-time link): sent again
    it would arrive without it (409 ``sealed_gone``: the resident asks for a new one).
    """
    message = get_message(session, user, message_id)
    if message.sealed_purged_at is not None:
        raise SealedGone()
    now = utcnow()
    # conditional UPDATE: of two officers retrying one notice, one wins; the other gets 409
    row = session.execute(
        update(Message)
        .where(Message.id == message.id, Message.status.in_(FAILED), Message.sealed_purged_at.is_(None))
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
    # by template in SQL (a handful of them), folded into families here
    by_family: dict[tuple, int] = defaultdict(int)
    for status, channel, template, reason, count in session.execute(
            select(Message.status, Message.channel, Message.template, Message.last_error, func.count())
            .where(Message.status.in_(FAILED))
            .group_by(Message.status, Message.channel, Message.template, Message.last_error)):
        by_family[(status, channel, family(template), reason or "")] += count
    failures = [{"status": status, "channel": channel, "family": fam, "reason": reason, "count": count}
                for (status, channel, fam, reason), count in sorted(
                    by_family.items(), key=lambda item: (-item[1], item[0]))]
    recent = list(session.scalars(
        select(Message).where(Message.status.in_(FAILED))
        .order_by(Message.updated_at.desc(), Message.id.desc()).limit(RECENT_FAILURES)))
    return {
        "depth": depth,
        "totals": totals,
        "delivery_rate": (totals["delivered"] / finished) if finished else None,
        "failures": failures,
        "recent_failures": recent,
    }
