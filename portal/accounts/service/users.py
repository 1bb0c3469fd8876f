"""Accounts: creation, self-registration, sign-in, sessions, profile, roles, staff search."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import audit
from portal.accounts import limits
from portal.accounts import roles as roles_
from portal.accounts.errors import EmailTaken, WrongPassword
from portal.accounts.models import ROLES, ApiToken, User, UserRole
from portal.errors import Invalid
from portal.i18n import LOCALES
from portal.types import utcnow

from . import values
from .guards import require_login, require_role
from .passwords import check_password, hash_password, spend_a_check, validate_password

EMAIL_MAX, NAME_MAX = limits.EMAIL_MAX, limits.NAME_MAX


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def find_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(session: Session, email: str, password: str | None, *, name: str = "",
                roles: Iterable[str] = (roles_.RESIDENT,), birth_date: date | None = None,
                district: str | None = None, verified: bool = False, locale: str = "ko",
                phone: str | None = None, password_hash: str | None = None,
                email_confirmed: bool = True) -> User:
    """An account made by an operator (CLI, demo, tests): its address counts as confirmed
    unless `email_confirmed=False` (self-registration)."""
    email = normalise_email(email)
    if "@" not in email or len(email) > EMAIL_MAX:
        raise Invalid(fields={"email": _("Not a valid email address.")})
    roles = list(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise Invalid(fields={"roles": _("Unknown role: %(role)s", role=", ".join(unknown))})
    if locale not in LOCALES:
        raise Invalid(fields={"locale": _("Unsupported language.")})
    errors: dict = {}
    name = values.text(name, errors, "name", NAME_MAX)
    birth_date = values.birth_date(birth_date, errors)
    district = values.district(district, errors)
    phone = values.text(phone, errors, "phone", limits.PHONE_MAX)
    if errors:
        raise Invalid(fields=errors)
    if password_hash is None:
        validate_password(password or "")
        password_hash = hash_password(password)
    now = utcnow()
    user = User(email=email, password_hash=password_hash, name=name or email.split("@")[0][:NAME_MAX],
                birth_date=birth_date, district=district, locale=locale, phone=phone,
                verified_at=now if verified else None, verified_by="staff" if verified else None,
                email_confirmed_at=now if email_confirmed else None, session_version=1)
    user.role_rows = [UserRole(role=r) for r in roles]
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise EmailTaken(fields={"email": EmailTaken.default_message}) from None
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user when email and password match an active account; None otherwise. Commits a
    renewed password hash (sign-in is a POST)."""
    user = find_by_email(session, email)
    if user is None or not user.active:
        spend_a_check(password)
        return None
    if not check_password(session, user, password or ""):
        return None
    session.commit()
    return user


def end_sessions(session: Session, user: User) -> None:
    """End every session of the account (in the caller's transaction): the session version
    in each cookie no longer matches."""
    session.execute(update(User).where(User.id == user.id)
                    .values(session_version=User.session_version + 1)
                    .execution_options(synchronize_session=False))
    session.refresh(user, ["session_version"])


def log_out_everywhere(session: Session, user: User) -> None:
    require_login(user)
    end_sessions(session, user)
    session.commit()


def set_password(session: Session, user: User, new_password: str, *, revoke_tokens: bool) -> None:
    """A new password; every session ends (and with `revoke_tokens`, every API token)."""
    validate_password(new_password)
    user.password_hash = hash_password(new_password)
    end_sessions(session, user)
    if revoke_tokens:
        session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                        .values(revoked_at=utcnow()).execution_options(synchronize_session=False))


def change_password(session: Session, user: User, current_password: str, new_password: str) -> User:
    """The signed-in user changes their password: every session of the account ends (the
    caller signs the current one in again); API tokens stay."""
    require_login(user)
    if not check_password(session, user, current_password or ""):
        raise WrongPassword(fields={"current_password": WrongPassword.default_message})
    set_password(session, user, new_password, revoke_tokens=False)
    audit.record(session, user, "user.password_change", "user", user.id)
    session.commit()
    return user


def set_locale(session: Session, user: User | None, lang: str) -> str:
    if lang not in LOCALES:
        raise Invalid(_("Unsupported language."), code="unsupported_locale",
                      fields={"lang": _("Unsupported language.")})
    if user is not None and getattr(user, "is_authenticated", False):
        user.locale = lang
        session.commit()
    return lang


def update_profile(session: Session, user: User, *, name: str, phone: str | None,
                   birth_date: date | None = None, district: str | None = None) -> User:
    """The signed-in user's name and phone; their birth date and district until verified."""
    require_login(user)
    errors: dict = {}
    # What changes is checked (the API sends the stored values of the fields it was not given).
    checks = {"name": lambda v: values.text(v, errors, "name", NAME_MAX, required=True),
              "phone": lambda v: values.text(v, errors, "phone", limits.PHONE_MAX)}
    new = {"name": name, "phone": phone}
    if not user.is_verified:  # after verification these come from the register
        checks["birth_date"] = lambda v: values.birth_date(v, errors)
        checks["district"] = lambda v: values.district(v, errors)
        new.update(birth_date=birth_date, district=district)
    new = {field: value if value == getattr(user, field) else checks[field](value) for field, value in new.items()}
    if errors:
        raise Invalid(fields=errors)
    for field, value in new.items():
        setattr(user, field, value)
    session.commit()
    return user


def grant_roles(session: Session, actor: User, target: User, roles: Iterable[str]) -> None:
    require_role(actor, roles_.ADMIN)
    for role in roles:
        if role not in ROLES:
            raise Invalid(fields={"roles": _("Unknown role: %(role)s", role=role)})
        if role not in target.roles:
            target.role_rows.append(UserRole(role=role))
    audit.record(session, actor, "user.grant_roles", "user", target.id, roles=sorted(roles))
    session.commit()


def search_users(session: Session, actor: User, q: str = "", limit: int = 50) -> list[User]:
    require_role(actor, roles_.STAFF)
    stmt = select(User).order_by(User.id.desc()).limit(limit)
    q = (q or "").strip()
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where((User.email.like(like)) | (User.name.ilike(f"%{q}%")))
    return list(session.scalars(stmt))
