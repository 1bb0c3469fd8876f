"""The city's resident register and residency verification.

One register entry speaks for one account: ``user.register_id`` is unique, so the database
refuses a second account for the same person however the requests race. Verification (by the
resident against the register, or by staff at a counter) links the entry and takes the birth
date and district from it: what a card attests comes only from checked data.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import audit, places
from portal.accounts import limits
from portal.accounts import roles as roles_
from portal.accounts.errors import AlreadyClaimed, AlreadyVerified, NoRegisterMatch
from portal.accounts.models import ResidentRecord, User, UserRole
from portal.errors import Invalid, NotFound
from portal.types import utcnow

from . import values
from .guards import require_login, require_role

REGISTER_COLUMNS = ("name", "birth_date", "district", "document_number")

# Called as hook(session, actor, user) in the transaction that takes a register entry from an
# account (the account is no longer verified): services that hold what verification gave (the
# e-ID card) register here in their init_app, so accounts need not know them.
ON_RELEASE: list = []


def document_hash(number: str) -> str:
    key = current_app.config.get("REGISTER_HASH_KEY") or current_app.config["SECRET_KEY"]
    digits = "".join(ch for ch in (number or "") if ch.isalnum()).upper()
    return hmac.new(key.encode(), digits.encode(), hashlib.sha256).hexdigest()


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
        cells: dict = {}  # what a card would attest: seen, within the columns, a life's dates
        name = values.text(row["name"], cells, "name", limits.NAME_MAX, required=True)
        district = values.district(row["district"], cells, required=True)
        born = values.birth_date(born, cells)
        if cells:
            errors[f"line {line}"] = "; ".join(_("%(column)s: %(message)s", column=column, message=message)
                                               for column, message in cells.items())
            continue
        parsed.append((name, born, district, document_hash(row["document_number"])))
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
        rec.source = "import"
    audit.record(session, actor, "register.import", "resident_register", "*", rows=len(parsed))
    session.commit()
    return len(parsed)


def _claim(session: Session, user: User, rec: ResidentRecord, method: str) -> None:
    """Link `rec` to `user` and take the verified facts from it (flushes; the unique
    register_id makes a second account for the same entry fail here)."""
    try:
        with session.begin_nested():
            session.execute(update(User).where(User.id == user.id, User.register_id.is_(None))
                            .values(register_id=rec.id).execution_options(synchronize_session=False))
    except IntegrityError:
        raise AlreadyClaimed() from None
    session.refresh(user, ["register_id"])
    if user.register_id != rec.id:  # pragma: no cover - an account holds one entry
        raise AlreadyVerified()
    user.verified_at, user.verified_by = utcnow(), method
    user.birth_date, user.district = rec.birth_date, rec.district
    if roles_.RESIDENT not in user.roles:
        user.role_rows.append(UserRole(role=roles_.RESIDENT))


def _claimed_by(session: Session, rec: ResidentRecord) -> User | None:
    return session.scalar(select(User).where(User.register_id == rec.id))


def verify_against_register(session: Session, user: User, *, name: str, birth_date: date,
                            district: str, document_number: str) -> User:
    """Mark `user` verified when the four facts match one register entry nobody has claimed."""
    require_login(user)
    if user.is_verified:
        return user
    errors: dict = {}
    values.birth_date(birth_date, errors, required=True)
    if errors:  # no entry has such a date: say what is wrong with it rather than "no match"
        raise Invalid(fields=errors)
    rec = session.scalar(select(ResidentRecord).where(
        ResidentRecord.document_hash == document_hash(document_number)))
    if rec is None or rec.name != (name or "").strip() or rec.birth_date != birth_date \
            or rec.district != (places.match(district, "district") or (district or "").strip()):
        raise NoRegisterMatch()
    claimed = _claimed_by(session, rec)
    if claimed is not None and claimed.id != user.id:
        audit.record(session, user, "register.claim_refused", "resident_register", rec.id)
        session.commit()
        raise AlreadyClaimed()
    _claim(session, user, rec, "register")
    audit.record(session, user, "user.verify", "user", user.id, method="register")
    session.commit()
    return user


def verify_manually(session: Session, actor: User, target_id: int, *, reason: str, name: str,
                    birth_date: date | None, district: str | None, document_number: str) -> User:
    """Staff verify a resident at a counter from the documents shown: the document number
    links (or, for someone not in the imported register yet, creates) the register entry, and
    the birth date and district the card will attest are what staff checked."""
    require_role(actor, roles_.STAFF)
    target = session.get(User, target_id) if 0 < target_id < 2**31 else None
    if target is None:
        raise NotFound()
    fields: dict = {}
    # What staff read on the ID is what the card will attest: seen, within the columns, a life's dates.
    reason = values.text(reason, fields, "reason", limits.REASON_MAX, required=True)
    name = values.text(name, fields, "name", limits.NAME_MAX, required=True)
    birth_date = values.birth_date(birth_date, fields, required=True)
    district = values.district(district, fields, required=True)
    if len("".join(ch for ch in (document_number or "") if ch.isalnum())) < limits.DOCUMENT_MIN:
        fields["document_number"] = _("This field is required.")
    if fields:
        raise Invalid(fields=fields)
    if target.is_verified:
        raise AlreadyVerified()
    digest = document_hash(document_number)
    rec = session.scalar(select(ResidentRecord).where(ResidentRecord.document_hash == digest))
    if rec is None:
        rec = ResidentRecord(name=name, birth_date=birth_date, district=district,
                             document_hash=digest, source="counter", imported_at=utcnow())
        session.add(rec)
        session.flush()
    elif rec.birth_date != birth_date or rec.district != district:
        raise NoRegisterMatch()
    _claim(session, target, rec, "staff")
    audit.record(session, actor, "user.verify", "user", target.id, method="staff", reason=reason)
    session.commit()
    return target


def register_entry(session: Session, actor: User, document_number: str) -> tuple[ResidentRecord, User | None]:
    """Staff: the register entry of a document number and the account that claimed it."""
    require_role(actor, roles_.STAFF)
    rec = session.scalar(select(ResidentRecord).where(
        ResidentRecord.document_hash == document_hash(document_number)))
    if rec is None:
        raise NotFound(_("No register entry has this document number."))
    return rec, _claimed_by(session, rec)


def release_entry(session: Session, actor: User, entry_id: int, reason: str) -> ResidentRecord:
    """Staff release a register entry from the account that claimed it (that account is no
    longer verified), so that its rightful holder can verify their own account."""
    require_role(actor, roles_.STAFF)
    fields: dict = {}
    reason = values.text(reason, fields, "reason", limits.REASON_MAX, required=True)
    if fields:
        raise Invalid(fields=fields)
    rec = session.get(ResidentRecord, entry_id) if 0 < entry_id < 2**31 else None
    if rec is None:
        raise NotFound(_("No register entry has this document number."))
    holder = _claimed_by(session, rec)
    if holder is not None:
        holder.register_id = None
        holder.verified_at = holder.verified_by = None
        for hook in ON_RELEASE:
            hook(session, actor, holder)
        audit.record(session, actor, "register.release", "resident_register", rec.id,
                     user_id=holder.id, reason=reason)
    session.commit()
    return rec
