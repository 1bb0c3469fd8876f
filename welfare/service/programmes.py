"""Programmes: validation of what officers write, the public and the officers' lists, CRUD."""

from __future__ import annotations

import re
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import audit
from portal.errors import Invalid
from portal.i18n import LOCALES
from portal.inputs import visible
from portal.notify.text import MESSAGE as UNSTORABLE
from portal.notify.text import unstorable_at
from welfare import limits, rules
from welfare.errors import INVISIBLE, NoProgramme, ProgrammeCodeFixed, ProgrammeCodeTaken, ProgrammeHasNotices
from welfare.models import CHANNELS, Notice, Programme
from welfare.service.common import is_officer, require_officer, seoul_today

CODE_RE = re.compile(limits.PROGRAMME_CODE_PATTERN)
PHONE_RE = re.compile(limits.CALLBACK_PHONE_PATTERN)


# -- validation ----------------------------------------------------------------------------

def _translations(value, name: str, errors: dict, required: bool) -> dict:
    if value is None:
        value = {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        errors[name] = _('Must be an object {"ko": ..., "en": ..., "zh": ...}.')
        return {}
    unknown = [k for k in value if k not in LOCALES]
    if unknown:
        errors[name] = _("Unknown language %(lang)s.", lang=repr(unknown[0]))
        return {}
    clean = {k: v.strip() for k, v in value.items() if v and v.strip()}
    for lang, text in clean.items():
        if not visible(text):  # only zero-width, bidi-control or filler characters
            errors[f"{name}.{lang}"] = str(INVISIBLE)
    if required and not clean.get("ko") and f"{name}.ko" not in errors:
        errors[f"{name}.ko"] = _("The Korean text is required.")
    return clean


def as_day(value, errors: dict, name: str) -> date | None:
    """A programme's start or end, or a scan's date: a date (or YYYY-MM-DD) within
    limits.CALENDAR; None when empty; a message in `errors` otherwise."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, date) or isinstance(value, datetime):
        errors[name] = _("Must be a date written YYYY-MM-DD.")
        return None
    first, last = limits.CALENDAR
    if not first <= value <= last:
        errors[name] = _("Choose a date between %(first)s and %(last)s.", first=first.isoformat(),
                         last=last.isoformat())
        return None
    return value


def validate_programme(data: dict, partial: bool = False, current: Programme | None = None) -> dict:
    """Clean programme fields or raise Invalid with one message per field."""
    errors: dict[str, str] = {}
    out: dict = {}
    where = unstorable_at(data)
    if where is not None:  # texts, rules: nothing the database cannot store
        raise Invalid(fields={where: UNSTORABLE})
    if not partial or "code" in data:
        code = data.get("code")
        if not isinstance(code, str) or not CODE_RE.match(code.strip()):
            errors["code"] = _("Use 2-64 lower-case letters, digits, - or _.")
        else:
            out["code"] = code.strip()
    for key, required in (("name", True), ("description", False), ("how_to_apply", False)):
        if not partial or key in data:
            out[key] = _translations(data.get(key), key, errors, required)
    for key in ("active_from", "active_until"):
        if not partial or key in data:
            day = as_day(data.get(key), errors, key)
            if key not in errors:
                out[key] = day
    start = out.get("active_from", current.active_from if current else None)
    end = out.get("active_until", current.active_until if current else None)
    if start and end and start > end and "active_until" not in errors:
        errors["active_until"] = _("Must not be before the start date.")
    if not partial or "channels" in data:
        channels = data.get("channels") or []
        if not isinstance(channels, list) or not all(c in CHANNELS for c in channels):
            errors["channels"] = _("Choose among: %(channels)s.", channels=", ".join(CHANNELS))
        else:
            out["channels"] = list(dict.fromkeys(channels))
    if not partial or "callback_phone" in data:
        phone = data.get("callback_phone")
        if phone in (None, ""):
            out["callback_phone"] = None
        elif not isinstance(phone, str) or not PHONE_RE.match(phone.strip()):
            errors["callback_phone"] = _("Not a valid phone number.")
        else:
            out["callback_phone"] = phone.strip()
    if not partial or "rules" in data:
        try:
            out["rules"] = rules.district_codes(rules.validate(data.get("rules"), "rules"))
        except rules.RuleError as exc:
            errors.update(exc.fields or {})
    if errors:
        raise Invalid(fields=errors)
    return out


# -- reading -------------------------------------------------------------------------------

def active_clause(today: date):
    """A programme runs from active_from to active_until, both days included, either open."""
    return (sa.or_(Programme.active_from.is_(None), Programme.active_from <= today),
            sa.or_(Programme.active_until.is_(None), Programme.active_until >= today))


def active_programmes(session: Session, today: date) -> list[Programme]:
    return list(session.scalars(sa.select(Programme).where(*active_clause(today)).order_by(Programme.id)))


def list_programmes(session: Session, actor=None, include_inactive: bool = False,
                    today: date | None = None):
    """The statement listing programmes: active ones for everybody, all of them for officers."""
    stmt = sa.select(Programme)
    if include_inactive:
        require_officer(actor)
    else:
        stmt = stmt.where(*active_clause(today or seoul_today()))
    return stmt


def _programme(session: Session, code: str, *, for_update: bool = False) -> Programme:
    if not isinstance(code, str) or not CODE_RE.match(code):
        raise NoProgramme()  # no programme can have this code (nor reach the database with it)
    stmt = sa.select(Programme).where(Programme.code == code)
    prog = session.scalar(stmt.with_for_update() if for_update else stmt)
    if prog is None:
        raise NoProgramme()
    return prog


def get_programme(session: Session, actor, code: str, today: date | None = None) -> Programme:
    prog = _programme(session, code)
    # Inactive programmes are the officers' business only.
    if not prog.is_active(today or seoul_today()) and not is_officer(actor):
        raise NoProgramme()
    return prog


# -- writing (each use case commits once, at its end) --------------------------------------

def _flush_unique_code(session: Session, *new: Programme) -> None:
    """Add `new` and flush, in a savepoint; the unique index on code decides between two officers
    saving the same code at once (never a read before the write)."""
    try:
        with session.begin_nested():
            session.add_all(new)
            session.flush()
    except IntegrityError:
        session.rollback()
        raise ProgrammeCodeTaken() from None


def create_programme(session: Session, actor, data: dict) -> Programme:
    require_officer(actor)
    values = validate_programme(data)
    prog = Programme(**values)
    _flush_unique_code(session, prog)
    audit.record(session, actor, "welfare.programme.create", "welfare_programme", prog.id, code=prog.code)
    session.commit()
    return prog


def update_programme(session: Session, actor, code: str, data: dict, partial: bool = True) -> Programme:
    """An officer edits a programme. Its code is fixed once residents were told about it (409
    programme_code_fixed): the code names their notices' outbox messages."""
    require_officer(actor)
    # Row lock: two edits apply one after the other, and a scan batch, which holds this row
    # FOR KEY SHARE from before it writes notices until it commits (scan.py), either commits
    # first (its notices are seen below) or waits for this edit and reads the new code.
    prog = _programme(session, code, for_update=True)
    values = validate_programme(data, partial=partial, current=prog)
    if values.get("code", prog.code) != prog.code and session.scalar(
            sa.select(sa.exists().where(Notice.programme_id == prog.id))):
        session.rollback()
        raise ProgrammeCodeFixed()
    for key, value in values.items():
        setattr(prog, key, value)
    _flush_unique_code(session)
    audit.record(session, actor, "welfare.programme.update", "welfare_programme", prog.id,
                 fields=sorted(values))
    session.commit()
    return prog


def delete_programme(session: Session, actor, code: str) -> None:
    """Delete a programme nobody was told about; once notices exist, end it with active_until."""
    require_officer(actor)
    prog = _programme(session, code)
    # Conditional delete; the RESTRICT foreign key of welfare_notice covers a scan that inserts
    # notices for this programme at the same moment.
    try:
        with session.begin_nested():
            deleted = session.execute(sa.delete(Programme).where(
                Programme.id == prog.id,
                ~sa.exists().where(Notice.programme_id == prog.id))).rowcount
    except IntegrityError:
        deleted = 0
    if deleted == 0:
        session.rollback()
        raise ProgrammeHasNotices()
    audit.record(session, actor, "welfare.programme.delete", "welfare_programme", prog.id, code=code)
    session.commit()
