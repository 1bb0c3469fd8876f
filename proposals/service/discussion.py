"""Around a proposal: comments, abuse reports (flags) and following."""

from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from portal import audit
from portal.accounts import service as accounts
from portal.api import paginate
from portal.db import insert_ignore
from portal.errors import Invalid
from portal.i18n import author_lang
from portal.types import utcnow

from ..errors import Merged
from ..limits import COMMENT_MAX, COMMENTS_PAGE_SIZE, REASON_MAX
from ..models import Comment, Flag, Follow
from .common import clean_text, find, uid


def add_comment(session: Session, user, proposal_id, body) -> Comment:
    accounts.require_login(user)
    accounts.require_verified(user)
    proposal = find(session, user, proposal_id)
    if proposal.status == "merged":
        raise Merged()
    errors: dict = {}
    body = clean_text(body, "body", 1, COMMENT_MAX, errors)
    if errors:
        raise Invalid(fields=errors)
    comment = Comment(proposal_id=proposal.id, author_id=user.id, body=body, lang=author_lang(user),
                      created_at=utcnow())
    session.add(comment)
    session.commit()
    return comment


def comments_page(session: Session, proposal_id: int, cursor: str | None = None,
                  limit: int = COMMENTS_PAGE_SIZE):
    """Oldest first. Returns (comments, next_cursor)."""
    stmt = select(Comment).where(Comment.proposal_id == proposal_id)
    return paginate(session, stmt, [(Comment.id, "asc")], cursor, limit)


def flag(session: Session, user, proposal_id, reason) -> bool:
    """Report abuse; once per user and proposal. Returns True when the flag is new."""
    accounts.require_login(user)
    proposal = find(session, user, proposal_id)
    errors: dict = {}
    reason = clean_text(reason, "reason", 1, REASON_MAX, errors)
    if errors:
        raise Invalid(fields=errors)
    # Once per user: UNIQUE(proposal_id, user_id) decides.
    created = bool(insert_ignore(session, Flag, {
        "proposal_id": proposal.id, "user_id": user.id, "reason": reason, "created_at": utcnow()}))
    if created:
        audit.record(session, user, "proposals.flag", "proposal", proposal.id)
    session.commit()
    return created


def follow(session: Session, user, proposal_id) -> bool:
    """Returns True when the user did not follow the proposal before."""
    accounts.require_login(user)
    proposal = find(session, user, proposal_id)
    # Once per user: UNIQUE(proposal_id, user_id) decides.
    created = bool(insert_ignore(session, Follow, {
        "proposal_id": proposal.id, "user_id": user.id, "created_at": utcnow()}))
    session.commit()
    return created


def unfollow(session: Session, user, proposal_id) -> None:
    accounts.require_login(user)
    proposal = find(session, user, proposal_id)
    session.execute(delete(Follow).where(Follow.proposal_id == proposal.id, Follow.user_id == user.id))
    session.commit()


def is_following(session: Session, user, proposal_id: int) -> bool:
    user_id = uid(user)
    return bool(user_id) and session.scalar(select(exists().where(
        Follow.proposal_id == proposal_id, Follow.user_id == user_id)))
