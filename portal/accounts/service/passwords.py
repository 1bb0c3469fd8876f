"""Passwords: argon2id hashes, checks that take the same time for unknown accounts."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.errors import Invalid

PASSWORD_MIN = 8
PASSWORD_MAX = 256


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(memory_cost=cfg["ARGON2_MEMORY_COST"], time_cost=cfg["ARGON2_TIME_COST"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(session: Session, user: User, password: str) -> bool:
    """Whether `password` is the user's. A hash made with older costs is renewed (the caller's
    transaction: the sign-in commits it)."""
    ph = _hasher()
    try:
        ph.verify(user.password_hash or "", password)
    except (VerificationError, InvalidHashError):
        return False
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
    return True


_DUMMY_HASH: str | None = None


def spend_a_check(password: str) -> None:
    """The work of a real check, so that timing does not reveal which accounts exist."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    try:
        _hasher().verify(_DUMMY_HASH, password or "")
    except VerificationError:
        pass


def validate_password(password: str) -> None:
    if len(password or "") < PASSWORD_MIN:
        raise Invalid(fields={"password": _("Use at least 8 characters.")})
    if len(password) > PASSWORD_MAX:
        raise Invalid(fields={"password": _("Too long: at most %(n)s characters.", n=PASSWORD_MAX)})
