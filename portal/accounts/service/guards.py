"""Who may do what: the guards every service calls with the acting user."""

from __future__ import annotations

from portal.accounts.errors import EmailNotConfirmed, NotVerified
from portal.accounts.models import User
from portal.errors import Forbidden, Unauthorized


def require_login(user) -> User:
    if user is None or not getattr(user, "is_authenticated", False):
        raise Unauthorized()
    return user


def require_role(user, *roles: str) -> User:
    require_login(user)
    if not user.has_role(*roles):
        raise Forbidden()
    return user


def require_verified(user) -> User:
    require_login(user)
    if not user.is_verified:
        raise NotVerified()
    return user


def require_confirmed(user) -> User:
    """A confirmed email address: needed to propose, endorse and vote (a stranger's address
    cannot be made to speak)."""
    require_login(user)
    if not user.email_confirmed:
        raise EmailNotConfirmed()
    return user


def require_voice(user) -> User:
    """What a resident's voice needs: a verified residency and a confirmed address."""
    require_verified(user)
    return require_confirmed(user)
