"""Personal API tokens: shown once, stored as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, joinedload

from portal.accounts import limits
from portal.accounts.models import ApiToken, User
from portal.db import commit_keeping_loaded
from portal.errors import Invalid, NotFound
from portal.types import utcnow

from . import values
from .guards import require_login

TOKEN_PREFIX = "pt_"  # noqa: S105 - a prefix, not a secret
TOKEN_NAME_MAX = limits.TOKEN_NAME_MAX


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str = "") -> tuple[str, ApiToken]:
    """A new bearer token for `user`. The plain token is returned once and never stored."""
    require_login(user)
    errors: dict = {}
    name = values.text(name, errors, "name", TOKEN_NAME_MAX) or ""
    if errors:
        raise Invalid(fields=errors)
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=digest(plain), prefix=plain[:10], created_at=utcnow())
    session.add(row)
    session.commit()
    return plain, row


# Built once: every API request by token runs it first, and building the statement (with its
# cache key) cost more than running it.
_TOKEN_USER = (
    select(User, ApiToken.id, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), User.active.is_(True))
    .options(joinedload(User.role_rows))
)


def user_for_token(session: Session, plain: str, *, writes: bool = False) -> User | None:
    """The active user a token belongs to. ``writes``: the request changes state, so its
    last use may be noted too (a GET never writes).

    One statement: the token, its user and the user's roles together (every API request by
    token runs it before anything else)."""
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    found = session.execute(_TOKEN_USER, {"token_hash": digest(plain)}).unique().first()
    if found is None:
        return None
    user, token_id, last_used_at = found
    now = utcnow()
    if writes and (last_used_at is None or now - last_used_at > timedelta(minutes=5)):
        session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        commit_keeping_loaded(session)  # the user just loaded stays as it is: no second load
    return user


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    require_login(user)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    require_login(user)
    row = session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if row is None or row.user_id != user.id:
        raise NotFound()
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return row
