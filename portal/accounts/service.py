"""Account rules: registration, sign-in, roles, tokens, residency verification.

Plain functions on a SQLAlchemy session; the acting user is passed in and checked here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import date, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import audit
from portal.accounts import roles as roles_
from portal.accounts.models import ROLES, ApiToken, ResidentRecord, User, UserRole
from portal.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from portal.i18n import LOCALES
from portal.types import utcnow

TOKEN_PREFIX = "pt_"  # noqa: S105 - a prefix, not a secret


# -- authorisation guards ------------------------------------------------------------------

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
        raise Forbidden(_("Only verified residents can do this. Verify your residency first."),
                        code="not_verified")
    return user


# -- passwords -----------------------------------------------------------------------------

def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(memory_cost=cfg["ARGON2_MEMORY_COST"], time_cost=cfg["ARGON2_TIME_COST"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(session: Session, user: User, password: str) -> bool:
    ph = _hasher()
    try:
        ph.verify(user.password_hash or "", password)
    except (VerificationError, InvalidHashError):
        return False
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
        session.commit()
    return True


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def validate_password(password: str) -> None:
    if len(password or "") < 8:
        raise Invalid(fields={"password": _("Use at least 8 characters.")})
    if len(password) > 256:
        raise Invalid(fields={"password": _("Too long: at most %(n)s characters.", n=256)})


# -- users ---------------------------------------------------------------------------------

def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def find_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(session: Session, email: str, password: str | None, *, name: str = "",
                roles: Iterable[str] = (roles_.RESIDENT,), birth_date: date | None = None,
                district: str | None = None, verified: bool = False, locale: str = "ko",
                phone: str | None = None, password_hash: str | None = None) -> User:
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise Invalid(fields={"email": _("Not a valid email address.")})
    roles = list(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise Invalid(fields={"roles": _("Unknown role: %(role)s", role=", ".join(unknown))})
    if locale not in LOCALES:
        raise Invalid(fields={"locale": _("Unsupported language.")})
    if password_hash is None:
        validate_password(password or "")
        password_hash = hash_password(password)
    user = User(email=email, password_hash=password_hash, name=name or email.split("@")[0],
                birth_date=birth_date, district=district, locale=locale, phone=phone,
                verified_at=utcnow() if verified else None,
                verified_by="staff" if verified else None)
    user.role_rows = [UserRole(role=r) for r in roles]
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(_("This email address is already registered."), code="email_taken",
                       fields={"email": _("This email address is already registered.")}) from None
    return user


def register(session: Session, email: str, password: str, name: str, locale: str = "ko") -> User:
    """Self-registration: a resident account, not verified until matched to the register."""
    user = create_user(session, email, password, name=name, roles=(roles_.RESIDENT,), locale=locale)
    session.commit()
    return user


_DUMMY_HASH: str | None = None


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user when email and password match an active account; None otherwise."""
    global _DUMMY_HASH
    user = find_by_email(session, email)
    if user is None or not user.active:
        # Spend the same work as a real check, so timing does not reveal which emails exist.
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_hex(8))
        try:
            _hasher().verify(_DUMMY_HASH, password or "")
        except VerificationError:
            pass
        return None
    return user if check_password(session, user, password or "") else None


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
    require_login(user)
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise Invalid(fields={"name": _("Between 1 and 100 characters.")})
    user.name = name
    user.phone = (phone or "").strip() or None
    if not user.is_verified:  # after verification these come from the register
        user.birth_date = birth_date
        user.district = (district or "").strip() or None
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


# -- personal API tokens -------------------------------------------------------------------

def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str = "") -> tuple[str, ApiToken]:
    """A new bearer token for `user`. The plain token is returned once and never stored."""
    require_login(user)
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=(name or "").strip()[:100], token_hash=_token_digest(plain),
                   prefix=plain[:10], created_at=utcnow())
    session.add(row)
    session.commit()
    return plain, row


def user_for_token(session: Session, plain: str) -> User | None:
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(plain)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
        session.commit()
    return row.user


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    require_login(user)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    require_login(user)
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound()
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return row


# -- residency verification ----------------------------------------------------------------

def document_hash(number: str) -> str:
    key = current_app.config.get("REGISTER_HASH_KEY") or current_app.config["SECRET_KEY"]
    digits = "".join(ch for ch in (number or "") if ch.isalnum()).upper()
    return hmac.new(key.encode(), digits.encode(), hashlib.sha256).hexdigest()


REGISTER_COLUMNS = ("name", "birth_date", "district", "document_number")


def import_register(session: Session, rows: Iterable[dict], actor: User | None = None) -> int:
    """Import resident-register rows (name, birth_date, district, document_number).

    All rows are validated first; one bad row rejects the whole file (nothing half-imported).
    Returns how many rows were added or updated.
    """
    parsed, errors = [], {}
    for line, row in enumerate(rows, start=2):
        missing = [c for c in REGISTER_COLUMNS if not (row.get(c) or "").strip()]
        if missing:
            errors[f"line {line}"] = _("Missing: %(cols)s", cols=", ".join(missing))
            continue
        try:
            born = date.fromisoformat(row["birth_date"].strip())
        except ValueError:
            errors[f"line {line}"] = _("birth_date must be YYYY-MM-DD.")
            continue
        parsed.append((row["name"].strip(), born, row["district"].strip(),
                       document_hash(row["document_number"])))
    if errors:
        raise Invalid(_("The register file has errors; nothing was imported."), fields=errors)
    existing = {r.document_hash: r for r in session.scalars(select(ResidentRecord))}
    for name, born, district, digest in parsed:
        rec = existing.get(digest)
        if rec is None:
            rec = ResidentRecord(document_hash=digest)
            session.add(rec)
            existing[digest] = rec
        rec.name, rec.birth_date, rec.district, rec.imported_at = name, born, district, utcnow()
    audit.record(session, actor, "register.import", "resident_register", "*", rows=len(parsed))
    session.commit()
    return len(parsed)


def verify_against_register(session: Session, user: User, *, name: str, birth_date: date,
                            district: str, document_number: str) -> User:
    """Mark `user` verified when the four facts match one register row."""
    require_login(user)
    if user.is_verified:
        return user
    rec = session.scalar(select(ResidentRecord).where(
        ResidentRecord.document_hash == document_hash(document_number)))
    if rec is None or rec.name != (name or "").strip() or rec.birth_date != birth_date \
            or rec.district != (district or "").strip():
        raise Invalid(_("These details do not match the resident register."), code="no_register_match")
    user.verified_at, user.verified_by = utcnow(), "register"
    user.birth_date, user.district = rec.birth_date, rec.district
    if roles_.RESIDENT not in user.roles:
        user.role_rows.append(UserRole(role=roles_.RESIDENT))
    audit.record(session, user, "user.verify", "user", user.id, method="register")
    session.commit()
    return user


def verify_manually(session: Session, actor: User, target_id: int, *, reason: str,
                    birth_date: date | None = None, district: str | None = None) -> User:
    """Staff verify a resident by hand (e.g. at a counter); recorded in the audit log."""
    require_role(actor, roles_.STAFF)
    target = session.get(User, target_id)
    if target is None:
        raise NotFound()
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(fields={"reason": _("This field is required.")})
    if target.is_verified:
        raise Conflict(_("This account is already verified."), code="already_verified")
    target.verified_at, target.verified_by = utcnow(), "staff"
    if birth_date:
        target.birth_date = birth_date
    if district:
        target.district = district.strip()
    if roles_.RESIDENT not in target.roles:
        target.role_rows.append(UserRole(role=roles_.RESIDENT))
    audit.record(session, actor, "user.verify", "user", target.id, method="staff", reason=reason[:200])
    session.commit()
    return target


def search_users(session: Session, actor: User, q: str = "", limit: int = 50) -> list[User]:
    require_role(actor, roles_.STAFF)
    stmt = select(User).order_by(User.id.desc()).limit(limit)
    q = (q or "").strip()
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where((User.email.like(like)) | (User.name.ilike(f"%{q}%")))
    return list(session.scalars(stmt))
