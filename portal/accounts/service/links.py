"""Links sent by email: confirm an address, reset a password; and the registration mails.

A link's token is 32 random bytes; only its SHA-256 is stored. It is used up by one
conditional UPDATE (unused and not expired), so a link works once. Mails to an address that
someone typed are limited per recipient (``ACCOUNT_MAIL_RATE_LIMIT``) and carry nothing the
typist wrote.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal import audit, links, throttle
from portal.accounts import limits, settings
from portal.accounts.errors import BadLink
from portal.accounts.models import AccountLink, User
from portal.errors import Invalid
from portal.types import utcnow

from . import values
from .guards import require_login
from .passwords import hash_password, validate_password
from .tokens import digest
from .users import create_user, find_by_email, normalise_email, set_password

CONFIRM, RESET = "confirm", "reset"
PATHS = {CONFIRM: "/account/confirm", RESET: "/account/password-reset/new"}


def _new_link(session: Session, user: User, purpose: str) -> str:
    token = secrets.token_urlsafe(32)
    lifetime = (timedelta(hours=settings.CONFIRM_LINK_HOURS()) if purpose == CONFIRM
                else timedelta(minutes=settings.RESET_LINK_MINUTES()))
    now = utcnow()
    session.add(AccountLink(user_id=user.id, purpose=purpose, token_hash=digest(token),
                            created_at=now, expires_at=now + lifetime))
    session.flush()
    return token


def _mail(session: Session, user: User | None, email: str, template: str, context: dict,
          locale: str, sealed: dict | None = None) -> str | None:
    """Queue one account mail unless the address had its share this hour: its outbox key (for
    ``notify.delivery_state``), or None when nothing was queued. ``sealed``: what the outbox
    keeps encrypted and erases once the mail is sent (a link's live token).

    The key names no template: a page may hold it, and which mail went out (a new account's
    link or "you already have an account") must not show."""
    if not throttle.allow(settings.ACCOUNT_MAIL_RATE_LIMIT(), "account-mail", email):
        return None
    from portal.notify import service as notify  # notify imports accounts

    key = f"accounts.mail:{uuid.uuid4()}"
    notify.send(session, template=template, context=context, idempotency_key=key,
                email=email, channel="email", locale=locale, sealed=sealed)
    return key


def _send_link(session: Session, user: User, purpose: str) -> str | None:
    token = _new_link(session, user, purpose)
    template = "accounts.confirm_email" if purpose == CONFIRM else "accounts.password_reset"
    context = {"hours": settings.CONFIRM_LINK_HOURS(), "minutes": settings.RESET_LINK_MINUTES()}
    # the link holds a live token: sealed, so that no reader of the outbox table can use it
    sealed = {"link": links.absolute(f"{PATHS[purpose]}?t={token}")}
    return _mail(session, user, user.email, template, context, user.locale, sealed)


def register(session: Session, email: str, password: str, name: str, locale: str = "ko") -> str | None:
    """Self-registration. Whether or not the address has an account, the answer is the same;
    the mail differs: a link to confirm a new account, or "you already have an account".
    Returns the mail's outbox key (None when the address had its share of mails this hour),
    so the page says truthfully whether it went out (``notify.delivery_state``)."""
    validate_password(password)
    errors: dict = {}
    values.text(name, errors, "name", limits.NAME_MAX, required=True)  # checked for both answers alike
    if errors:
        raise Invalid(fields=errors)
    existing = find_by_email(session, email)
    if existing is not None:
        hash_password(password)  # the same work as a new account, so timing tells nothing
        key = _mail(session, existing, existing.email, "accounts.already_registered",
                    {"link": links.absolute("/account/password-reset")}, existing.locale)
        session.commit()
        return key
    user = create_user(session, email, password, name=name, locale=locale, email_confirmed=False)
    key = _send_link(session, user, CONFIRM)
    session.commit()
    return key


def resend_confirmation(session: Session, user: User) -> bool:
    require_login(user)
    if user.email_confirmed:
        return False
    key = _send_link(session, user, CONFIRM)
    session.commit()
    return key is not None


def request_password_reset(session: Session, email: str) -> None:
    """A reset link to the address if an account uses it; nothing otherwise (same answer)."""
    user = find_by_email(session, normalise_email(email))
    if user is not None and user.active:
        _send_link(session, user, RESET)
        session.commit()


def _use_link(session: Session, token: str, purpose: str) -> User:
    """Use up a link (flushes): the user it was for. Unknown, used or expired: BadLink."""
    if not token or len(token) > 100:
        raise BadLink()
    row = session.execute(
        update(AccountLink)
        .where(AccountLink.token_hash == digest(token), AccountLink.purpose == purpose,
               AccountLink.used_at.is_(None), AccountLink.expires_at > utcnow())
        .values(used_at=utcnow()).returning(AccountLink.user_id)).first()
    if row is None:
        raise BadLink()
    return session.get(User, row[0])


def link_is_live(session: Session, token: str, purpose: str) -> bool:
    """Whether a link would work (a page shows its form only then; reading uses nothing up)."""
    if not token or len(token) > 100:
        return False
    return session.scalar(select(AccountLink.id).where(
        AccountLink.token_hash == digest(token), AccountLink.purpose == purpose,
        AccountLink.used_at.is_(None), AccountLink.expires_at > utcnow())) is not None


def confirm_email(session: Session, token: str) -> User:
    user = _use_link(session, token, CONFIRM)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    audit.record(session, user, "user.email_confirm", "user", user.id)
    session.commit()
    return user


def reset_password(session: Session, token: str, new_password: str) -> User:
    """Set a new password through a reset link: every session and every API token of the
    account ends (whoever held them may be who the reset is against). The link also proves
    the address."""
    validate_password(new_password)
    user = _use_link(session, token, RESET)
    set_password(session, user, new_password, revoke_tokens=True)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    audit.record(session, user, "user.password_reset", "user", user.id)
    session.commit()
    return user
