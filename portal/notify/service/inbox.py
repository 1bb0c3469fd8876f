"""The resident's inbox: their notices, newest first, and read marks.

A notice to the portal inbox is there once delivered. A notice sent to the resident by another
channel (email, text message, call) is listed too, whatever became of it, with its delivery
state (:mod:`.states`): the page says "on its way", "sent" or "could not be sent" for each, and
the resident can read it in the portal either way. The API's inbox lists delivered notices only
(:func:`inbox`), as documented there.

Listing and counting only read: a notice is marked read by :func:`mark_read` alone (a POST)."""

from __future__ import annotations

from sqlalchemy import func, or_, select, update
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
    """The signed-in resident's delivered notices."""
    require_login(user)
    return select(Message).where(Message.user_id == user.id, Message.status == "delivered")


def notices_query(user):
    """What the inbox page lists: the resident's delivered notices, and those sent to them by
    another channel than the inbox whatever their state (an inbox notice not delivered yet is
    not in the inbox yet)."""
    require_login(user)
    return select(Message).where(Message.user_id == user.id,
                                 or_(Message.status == "delivered", Message.channel != "app"))


def inbox(session: Session, user, *, cursor: str | None = None, limit: int = INBOX_PAGE):
    """The signed-in resident's delivered notices, newest first: (rows, next_cursor)."""
    return paginate(session, inbox_query(user), INBOX_ORDER, cursor, limit)


def notices(session: Session, user, *, cursor: str | None = None, limit: int = INBOX_PAGE):
    """The inbox page's notices (:func:`notices_query`), newest first: (rows, next_cursor)."""
    return paginate(session, notices_query(user), INBOX_ORDER, cursor, limit)


def unread_count(session: Session, user) -> int:
    return session.scalar(select(func.count()).select_from(
        notices_query(user).where(Message.read_at.is_(None)).subquery())) or 0


def inbox_message(session: Session, user, message_id: int) -> Message:
    message = session.scalars(notices_query(user).where(Message.id == message_id)).first()
    # another person's notice is indistinguishable from a missing one
    if message is None:
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
