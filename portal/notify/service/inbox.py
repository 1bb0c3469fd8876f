"""The resident's inbox: their delivered notices, newest first, and read marks.

Listing and counting only read: a notice is marked read by :func:`mark_read` alone (a POST)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal.accounts.service import require_login
from portal.api import paginate
from portal.types import utcnow

from ..errors import NotInInbox
from ..limits import INBOX_PAGE
from ..models import Message

# newest first; the id breaks ties (keyset pagination needs a unique last key)
INBOX_ORDER = [(Message.created_at, "desc"), (Message.id, "desc")]


def inbox_query(user):
    require_login(user)
    return select(Message).where(Message.user_id == user.id, Message.status == "delivered")


def inbox(session: Session, user, *, cursor: str | None = None, limit: int = INBOX_PAGE):
    """The signed-in resident's delivered notices, newest first: (rows, next_cursor)."""
    return paginate(session, inbox_query(user), INBOX_ORDER, cursor, limit)


def unread_count(session: Session, user) -> int:
    return session.scalar(select(func.count()).select_from(
        inbox_query(user).where(Message.read_at.is_(None)).subquery())) or 0


def inbox_message(session: Session, user, message_id: int) -> Message:
    require_login(user)
    message = session.get(Message, message_id)
    # another person's notice is indistinguishable from a missing one
    if message is None or message.user_id != user.id or message.status != "delivered":
        raise NotInInbox()
    return message


def mark_read(session: Session, user, message_id: int) -> Message:
    message = inbox_message(session, user, message_id)
    # only the first read sets read_at: marking it again keeps the time it was first read
    session.execute(
        update(Message).where(Message.id == message.id, Message.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False))
    session.commit()
    session.refresh(message)
    return message
