"""Welfare rules of the house: programmes, profiles, CSV import, eligibility and the scan.

Every function takes the session and, where a person acts, the acting user; authorisation is
checked here. Nothing in this module logs profile data.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import audit
from portal.accounts.models import User
from portal.accounts.service import require_login, require_role
from portal.errors import Conflict, Invalid, NotFound
from portal.i18n import LOCALES, pick
from portal.types import JSONType, UTCDateTime, utcnow
from welfare import rules
from welfare.models import CHANNELS, Notice, Programme, WelfareProfile

SEOUL = ZoneInfo("Asia/Seoul")
OFFICER = "welfare_officer"
NOTICE_TEMPLATE = "welfare.eligible"
PROFILE_FIELDS = ("birth_date", "income_percentile", "household_size", "lives_alone",
                  "disability_grade", "youngest_child_birth_date", "district")
CSV_COLUMNS = ("email", *PROFILE_FIELDS)
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{2,30}$")


def seoul_today() -> date:
    return datetime.now(SEOUL).date()


def _insert(session: Session, model):
    """The dialect's INSERT (PostgreSQL or SQLite), for ON CONFLICT clauses."""
    if session.get_bind(mapper=sa.inspect(model)).dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


# ---------------------------------------------------------------------------------------------
# Profile values: one normaliser for CSV rows, the API and the resident's form
# ---------------------------------------------------------------------------------------------

TRUE = {"1", "true", "yes", "y", "t", "on", "예"}
FALSE = {"0", "false", "no", "n", "f", "off", "", "아니오"}


def _as_int(value, low: int, high: int, errors: dict, name: str, *, required=False, default=None):
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = _("This field is required.")
        return default
    if isinstance(value, bool):
        errors[name] = _("Must be a whole number.")
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            errors[name] = _("Must be a whole number.")
            return None
    if not isinstance(value, int):
        errors[name] = _("Must be a whole number.")
        return None
    if not low <= value <= high:
        errors[name] = _("Must be between %(low)d and %(high)d.", low=low, high=high)
        return None
    return value


def _as_date(value, errors: dict, name: str, today: date):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            errors[name] = _("Must be a date written YYYY-MM-DD.")
            return None
    if isinstance(value, datetime) or not isinstance(value, date):
        errors[name] = _("Must be a date written YYYY-MM-DD.")
        return None
    if value > today:
        errors[name] = _("Must not be in the future.")
        return None
    if value.year < 1890:
        errors[name] = _("Must be after 1890.")
        return None
    return value


def _as_bool(value, errors: dict, name: str):
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    errors[name] = _("Must be true or false.")
    return None


def normalise_profile(data: dict, today: date | None = None) -> tuple[dict, dict]:
    """(values, errors) for the profile fields of `data` (strings or typed values)."""
    today = today or seoul_today()
    errors: dict[str, str] = {}
    values = {
        "birth_date": _as_date(data.get("birth_date"), errors, "birth_date", today),
        "income_percentile": _as_int(data.get("income_percentile"), 0, 100, errors, "income_percentile"),
        "household_size": _as_int(data.get("household_size"), 1, 30, errors, "household_size",
                                  default=1),
        "lives_alone": _as_bool(data.get("lives_alone"), errors, "lives_alone"),
        "disability_grade": _as_int(data.get("disability_grade"), 1, 6, errors, "disability_grade"),
        "youngest_child_birth_date": _as_date(data.get("youngest_child_birth_date"), errors,
                                              "youngest_child_birth_date", today),
        "district": None,
    }
    district = data.get("district")
    if district is not None and not isinstance(district, str):
        errors["district"] = _("Must be text.")
    elif district and district.strip():
        if len(district.strip()) > 64:
            errors["district"] = _("Too long: at most %(n)s characters.", n=64)
        values["district"] = district.strip()
    if values["lives_alone"] and (values["household_size"] or 1) > 1 and "household_size" not in errors:
        errors["household_size"] = _("A person who lives alone has a household of 1.")
    return values, errors


# ---------------------------------------------------------------------------------------------
# Profiles
# ---------------------------------------------------------------------------------------------

def _profile_of(session: Session, user_id: int) -> WelfareProfile | None:
    return session.scalar(sa.select(WelfareProfile).where(WelfareProfile.user_id == user_id))


def my_profile(session: Session, actor) -> WelfareProfile | None:
    require_login(actor)
    return _profile_of(session, actor.id)


def view_profile(session: Session, actor, user_id: int) -> WelfareProfile:
    """A resident sees their own profile; a welfare officer sees anyone's, and it is audited."""
    require_login(actor)
    if actor.id != user_id:
        require_role(actor, OFFICER)
    profile = _profile_of(session, user_id)
    if actor.id != user_id:
        # Looking is an act: record it even when there is nothing to see.
        audit.record(session, actor, "welfare.profile.view", "welfare_profile", user_id,
                     found=profile is not None)
        session.commit()
    if profile is None:
        raise NotFound(_("This resident has no welfare profile."), code="no_profile")
    return profile


def require_officer(actor):
    return require_role(actor, OFFICER)


def profile_by_email(session: Session, actor, email: str) -> WelfareProfile:
    """An officer looks a resident up by email; the view is audited like any other."""
    require_role(actor, OFFICER)
    user_id = session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == (email or "").strip().lower()))
    if user_id is None:
        raise NotFound(_("No account has this email."), code="no_user")
    return view_profile(session, actor, user_id)


def update_my_profile(session: Session, actor, data: dict, consent: bool) -> WelfareProfile:
    """The resident writes their own profile; only with their consent to its use."""
    require_login(actor)
    if consent is not True:
        raise Invalid(_("Please agree to the use of your information first."), code="consent_required",
                      fields={"consent": _("Consent is required to save your profile.")})
    values, errors = normalise_profile(data)
    opt_out, opt_errors = data.get("notices_opt_out", False), {}
    opt_out = _as_bool(opt_out, opt_errors, "notices_opt_out")
    errors.update(opt_errors)
    if errors:
        raise Invalid(fields=errors)
    now = utcnow()
    row = {**values, "user_id": actor.id, "source": "resident", "consent_at": now,
           "notices_opt_out": opt_out, "updated_at": now}
    # Upsert: two concurrent first saves still give one profile (unique user_id).
    stmt = _insert(session, WelfareProfile).values(**row)
    stmt = stmt.on_conflict_do_update(index_elements=["user_id"],
                                      set_={k: stmt.excluded[k] for k in row if k != "user_id"})
    session.execute(stmt)
    session.commit()
    session.expire_all()
    return _profile_of(session, actor.id)


def withdraw_consent(session: Session, actor) -> bool:
    """The resident deletes the profile they gave (imported data stays with the city)."""
    require_login(actor)
    result = session.execute(sa.delete(WelfareProfile).where(
        WelfareProfile.user_id == actor.id, WelfareProfile.source == "resident"))
    session.commit()
    return result.rowcount > 0


def profile_json(profile: WelfareProfile) -> dict:
    return {
        "user_id": profile.user_id,
        **{f: (getattr(profile, f).isoformat() if isinstance(getattr(profile, f), date)
               else getattr(profile, f)) for f in PROFILE_FIELDS},
        "notices_opt_out": profile.notices_opt_out,
        "consent_at": profile.consent_at.isoformat() if profile.consent_at else None,
        "source": profile.source,
        "updated_at": profile.updated_at.isoformat() if profile.updated_at else None,
    }


# ---------------------------------------------------------------------------------------------
# CSV import
# ---------------------------------------------------------------------------------------------

@dataclass
class RowError:
    line: int
    column: str
    message: str


class ImportRejected(Invalid):
    code = "import_rejected"
    default_message = _l("The file was not imported: some rows are not valid.")

    def __init__(self, errors: list[RowError]):
        self.rows = errors
        super().__init__(fields={f"line {e.line}.{e.column}": e.message for e in errors[:200]})


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)


def import_profiles(session: Session, actor, stream: Iterable[str],
                    progress: Callable[[int], None] | None = None,
                    today: date | None = None) -> ImportResult:
    """Validate every row, then write them all in one transaction, or write nothing.

    `stream` is a text CSV with a header naming the columns of CSV_COLUMNS (email required; a
    blank cell means unknown). `actor` None means the operator at the command line.
    """
    if actor is not None:
        require_role(actor, OFFICER)
    today = today or seoul_today()
    reader = csv.DictReader(stream)
    header = [h.strip() for h in (reader.fieldnames or [])]
    errors: list[RowError] = []
    if "email" not in header:
        raise ImportRejected([RowError(1, "email", _("The header has no email column."))])
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise ImportRejected([RowError(1, h, _("Unknown column.")) for h in unknown])
    reader.fieldnames = header

    parsed: list[tuple[int, str, dict]] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        if None in raw:
            errors.append(RowError(line, "-", _("Too many cells in this row.")))
            continue
        email = (raw.get("email") or "").strip().lower()
        if not email or "@" not in email:
            errors.append(RowError(line, "email", _("Not a valid email address.")))
        elif email in seen:
            errors.append(RowError(line, "email", _("Same email as line %(line)d.", line=seen[email])))
        else:
            seen[email] = line
        values, row_errors = normalise_profile(raw, today)
        errors.extend(RowError(line, col, msg) for col, msg in row_errors.items())
        parsed.append((line, email, values))
        if progress:
            progress(1)

    # Match residents by their account's email, in chunks, not one query per row.
    ids: dict[str, int] = {}
    emails = list(seen)
    for i in range(0, len(emails), 1000):
        chunk = emails[i:i + 1000]
        for uid, mail in session.execute(
                sa.select(User.id, sa.func.lower(User.email)).where(sa.func.lower(User.email).in_(chunk))):
            ids[mail] = uid
    for line, email, _values in parsed:
        if email and email in seen and seen[email] == line and email not in ids:
            errors.append(RowError(line, "email", _("No account has this email.")))
    if errors:
        errors.sort(key=lambda e: (e.line, e.column))
        raise ImportRejected(errors)

    existing = set()
    id_list = list(ids.values())
    for i in range(0, len(id_list), 1000):
        existing.update(session.scalars(sa.select(WelfareProfile.user_id).where(
            WelfareProfile.user_id.in_(id_list[i:i + 1000]))))
    now = utcnow()
    rows = [{**values, "user_id": ids[email], "source": "import", "updated_at": now}
            for _line, email, values in parsed]
    for i in range(0, len(rows), 1000):
        stmt = _insert(session, WelfareProfile).values(rows[i:i + 1000])
        # An import overwrites the facts; a resident's consent and opt-out stay theirs.
        stmt = stmt.on_conflict_do_update(
            index_elements=["user_id"],
            set_={k: stmt.excluded[k] for k in (*PROFILE_FIELDS, "source", "updated_at")})
        session.execute(stmt)
    audit.record(session, actor, "welfare.profiles.import", "welfare_profile", "*", rows=len(rows))
    session.commit()
    created = sum(1 for r in rows if r["user_id"] not in existing)
    return ImportResult(rows=len(rows), created=created, updated=len(rows) - created)


def import_file(session: Session, actor, path: str, progress=None) -> ImportResult:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return import_profiles(session, actor, fh, progress=progress)


def count_rows(path: str) -> int:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return max(sum(1 for _row in csv.reader(fh)) - 1, 0)


# ---------------------------------------------------------------------------------------------
# Programmes
# ---------------------------------------------------------------------------------------------

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
    if required and not clean.get("ko"):
        errors[f"{name}.ko"] = _("The Korean text is required.")
    return clean


def validate_programme(data: dict, partial: bool = False, current: Programme | None = None) -> dict:
    """Clean programme fields or raise Invalid with one message per field."""
    errors: dict[str, str] = {}
    out: dict = {}
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
            value = data.get(key)
            if value in (None, ""):
                out[key] = None
            elif isinstance(value, date):
                out[key] = value
            else:
                try:
                    out[key] = date.fromisoformat(str(value))
                except ValueError:
                    errors[key] = _("Must be a date written YYYY-MM-DD.")
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
            out["rules"] = rules.validate(data.get("rules"), "rules")
        except rules.RuleError as exc:
            errors.update(exc.fields or {})
    if errors:
        raise Invalid(fields=errors)
    return out


def list_programmes(session: Session, actor=None, include_inactive: bool = False,
                    today: date | None = None):
    """The statement listing programmes: active ones for everybody, all of them for officers."""
    stmt = sa.select(Programme)
    if include_inactive:
        require_role(actor, OFFICER)
    else:
        stmt = stmt.where(*_active_clause(today or seoul_today()))
    return stmt


def _active_clause(today: date):
    return (sa.or_(Programme.active_from.is_(None), Programme.active_from <= today),
            sa.or_(Programme.active_until.is_(None), Programme.active_until >= today))


def get_programme(session: Session, actor, code: str, today: date | None = None) -> Programme:
    prog = session.scalar(sa.select(Programme).where(Programme.code == code))
    if prog is None:
        raise NotFound(_("No such programme."), code="no_programme")
    if not prog.is_active(today or seoul_today()):
        # Inactive programmes are the officers' business only.
        if actor is None or not getattr(actor, "is_authenticated", False) or not actor.has_role(OFFICER):
            raise NotFound(_("No such programme."), code="no_programme")
    return prog


def create_programme(session: Session, actor, data: dict) -> Programme:
    require_role(actor, OFFICER)
    values = validate_programme(data)
    prog = Programme(**values)
    try:
        with session.begin_nested():
            session.add(prog)
            session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(_("A programme with this code exists already."), code="programme_code_taken",
                       fields={"code": _("Already taken.")}) from None
    audit.record(session, actor, "welfare.programme.create", "welfare_programme", prog.id, code=prog.code)
    session.commit()
    return prog


def update_programme(session: Session, actor, code: str, data: dict, partial: bool = True) -> Programme:
    require_role(actor, OFFICER)
    prog = session.scalar(sa.select(Programme).where(Programme.code == code).with_for_update())
    if prog is None:
        raise NotFound(_("No such programme."), code="no_programme")
    values = validate_programme(data, partial=partial, current=prog)
    for key, value in values.items():
        setattr(prog, key, value)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(_("A programme with this code exists already."), code="programme_code_taken",
                       fields={"code": _("Already taken.")}) from None
    audit.record(session, actor, "welfare.programme.update", "welfare_programme", prog.id,
                 fields=sorted(values))
    session.commit()
    return prog


def delete_programme(session: Session, actor, code: str) -> None:
    """Delete a programme nobody was told about; once notices exist, end it with active_until."""
    require_role(actor, OFFICER)
    prog = session.scalar(sa.select(Programme).where(Programme.code == code))
    if prog is None:
        raise NotFound(_("No such programme."), code="no_programme")
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
        raise Conflict(_("Residents were told about this programme: end it instead of deleting it."),
                       code="programme_has_notices")
    audit.record(session, actor, "welfare.programme.delete", "welfare_programme", prog.id, code=code)
    session.commit()


def programme_json(prog: Programme, lang: str | None = None, full: bool = True) -> dict:
    name, served = pick(prog.name, lang)
    out = {
        "code": prog.code,
        "name": name,
        "description": pick(prog.description, lang)[0],
        "how_to_apply": pick(prog.how_to_apply, lang)[0],
        "lang": served,
        "active_from": prog.active_from.isoformat() if prog.active_from else None,
        "active_until": prog.active_until.isoformat() if prog.active_until else None,
        "channels": list(prog.channels or []),
        "callback_phone": prog.callback_phone,
        "rules": prog.rules,
    }
    if full:
        out["translations"] = {"name": prog.name, "description": prog.description,
                               "how_to_apply": prog.how_to_apply}
    return out


# ---------------------------------------------------------------------------------------------
# Eligibility of one person
# ---------------------------------------------------------------------------------------------

@dataclass
class Eligibility:
    programme: Programme
    eligible: bool
    explanation: str


def eligibility_for_facts(session: Session, facts: rules.Facts, today: date | None = None,
                          only_eligible: bool = True) -> list[Eligibility]:
    """Evaluate every active programme for `facts`. Writes nothing (the screener uses this)."""
    today = today or seoul_today()
    progs = session.scalars(sa.select(Programme).where(*_active_clause(today)).order_by(Programme.id))
    out = []
    for prog in progs:
        ok, text = rules.explain(prog.rules, facts)
        if ok or not only_eligible:
            out.append(Eligibility(prog, ok, text))
    return out


def my_eligibility(session: Session, actor, today: date | None = None) -> tuple[WelfareProfile | None,
                                                                                list[Eligibility]]:
    require_login(actor)
    today = today or seoul_today()
    profile = _profile_of(session, actor.id)
    if profile is None:
        return None, []
    return profile, eligibility_for_facts(session, rules.Facts.from_profile(profile, today), today)


def screen(session: Session, data: dict, today: date | None = None) -> list[Eligibility]:
    """The anonymous self-check: same rules, nothing stored. `data` gives ages, not dates."""
    errors: dict[str, str] = {}
    facts = rules.Facts(
        age=_as_int(data.get("age"), 0, 130, errors, "age"),
        income_percentile=_as_int(data.get("income_percentile"), 0, 100, errors, "income_percentile"),
        household_size=_as_int(data.get("household_size"), 1, 30, errors, "household_size", default=1),
        lives_alone=bool(_as_bool(data.get("lives_alone"), errors, "lives_alone")),
        disability_grade=_as_int(data.get("disability_grade"), 1, 6, errors, "disability_grade"),
        youngest_child_age=_as_int(data.get("youngest_child_age"), 0, 30, errors, "youngest_child_age"),
        district=(str(data.get("district") or "").strip() or None),
    )
    if errors:
        raise Invalid(fields=errors)
    return eligibility_for_facts(session, facts, today)


# ---------------------------------------------------------------------------------------------
# The scan
# ---------------------------------------------------------------------------------------------

@dataclass
class ScanResult:
    programmes: int = 0
    batches: int = 0
    new_notices: int = 0
    queued_messages: int = 0
    by_programme: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"programmes": self.programmes, "batches": self.batches,
                "new_notices": self.new_notices, "queued_messages": self.queued_messages,
                "by_programme": self.by_programme}


def message_key(code: str, user_id: int) -> str:
    return f"welfare:{code}:{user_id}"


def scan_plan(session: Session, batch_size: int) -> list[tuple[int, int]]:
    """The user-id windows the scan walks through (each one statement per programme)."""
    low, high = session.execute(sa.select(sa.func.min(WelfareProfile.user_id),
                                          sa.func.max(WelfareProfile.user_id))).one()
    if low is None:
        return []
    return [(lo, min(lo + batch_size - 1, high)) for lo in range(low, high + 1, batch_size)]


def scan(session: Session, actor=None, today: date | None = None, batch_size: int = 20000,
         progress: Callable[[int], None] | None = None) -> ScanResult:
    """Find residents who newly qualify for an active programme and queue one notice each.

    Set-based and in batches: per window of user ids, ONE statement reads the window's
    candidates once (verified, active, not opted out: a materialised CTE), tests every active
    programme's compiled rule on them (UNION ALL, one branch per programme), takes out who was
    told already (EXCEPT the window's notices), and
    INSERT INTO welfare_notice ... ON CONFLICT DO NOTHING RETURNING the rows it inserted; then
    one notify.send_select writes their outbox messages straight from those notice rows (in
    SQL: the rows never travel through Python), committed together with them. A second or
    concurrent scan finds the notices (or waits on the unique index and skips them), so no
    resident hears twice about one programme. `actor` None is the system (command line, beat
    task).
    """
    from portal.notify import service as notify

    if actor is not None:
        require_role(actor, OFFICER)
    if batch_size < 1:
        raise Invalid(fields={"batch_size": _("Must be at least %(n)s.", n=1)})
    today = today or seoul_today()
    progs = list(session.scalars(sa.select(Programme).where(*_active_clause(today)).order_by(Programme.id)))
    windows = scan_plan(session, batch_size) if progs else []
    result = ScanResult(programmes=len(progs), by_programme={p.code: 0 for p in progs})
    codes = {p.id: p.code for p in progs}
    notice_values = _notice_values(progs)
    session.commit()  # end the read transaction: each batch is its own
    for lo, hi in windows:
        now = utcnow()
        counts = _new_notice_counts(session, _scan_statement(session, progs, lo, hi, today, now))
        if counts:
            for programme_id, count in counts:
                result.by_programme[codes[programme_id]] += count
                result.new_notices += count
            # The window's new notices are the rows this statement wrote: this window's ids
            # with this statement's timestamp. (Should another scan ever have committed notices
            # with the very same timestamp, their messages were committed with them and the
            # outbox's idempotency keys skip them.)
            result.queued_messages += notify.send_select(
                session, _messages_source(notice_values, lo, hi, now), template=NOTICE_TEMPLATE)
        session.commit()
        result.batches += 1
        if progress:
            progress(1)
    if actor is not None or result.new_notices:
        audit.record(session, actor, "welfare.scan", "welfare_programme", "*",
                     new_notices=result.new_notices, programmes=result.programmes)
        session.commit()
    return result


def _new_notice_counts(session: Session, insert) -> list[tuple[int, int]]:
    """Run the scan's INSERT ... RETURNING; (programme_id, new notices) for each programme.

    PostgreSQL counts in the statement (the INSERT as a data-modifying CTE): twenty rows come
    back instead of one per notice. SQLite has no such CTE: its rows are counted here.
    """
    if session.get_bind(mapper=sa.inspect(Notice)).dialect.name == "postgresql":
        new = insert.cte("new_notices")
        return session.execute(sa.select(new.c.programme_id, sa.func.count())
                               .group_by(new.c.programme_id)).all()
    counts: dict[int, int] = {}
    for programme_id, _user_id in session.execute(insert):
        counts[programme_id] = counts.get(programme_id, 0) + 1
    return list(counts.items())


def _notice_values(progs: list[Programme]):
    """Per programme, what its notices carry: the context and the channel asked for (a small
    UNION ALL of literal rows, which SQLite reads as well as PostgreSQL)."""
    rows = [sa.select(sa.literal(p.id, sa.Integer).label("programme_id"),
                      sa.literal(_notice_context(p), JSONType).label("context"),
                      sa.literal((p.channels or [None])[0], sa.String(10)).label("channel"))
            for p in progs]
    return (sa.union_all(*rows) if len(rows) > 1 else rows[0]).subquery("welfare_notice_values")


def _messages_source(notice_values, lo: int, hi: int, now):
    """The outbox rows (for notify.send_select) of the notices one scan statement wrote."""
    v = notice_values
    return (sa.select(Notice.user_id.label("user_id"), Notice.message_key.label("idempotency_key"),
                      v.c.context.label("context"), v.c.channel.label("channel"))
            .join(v, v.c.programme_id == Notice.programme_id)
            .where(Notice.user_id.between(lo, hi), Notice.created_at == sa.literal(now, UTCDateTime)))


def _scan_statement(session: Session, progs: list[Programme], lo: int, hi: int, today: date, now):
    """INSERT the notices of one window of user ids for every programme; RETURNING the new ones.

    Both the profiles and the users are read by the window's id range (an index range each, not
    the whole user table). Who was told already is taken out with one EXCEPT against the
    window's notices: a hash or sort of two sets of the window's size, never a nested loop that
    a stale row estimate (right after a big scan) could make quadratic.
    """
    candidates = (
        sa.select(WelfareProfile.user_id, WelfareProfile.birth_date, WelfareProfile.income_percentile,
                  WelfareProfile.household_size, WelfareProfile.lives_alone, WelfareProfile.disability_grade,
                  WelfareProfile.youngest_child_birth_date, WelfareProfile.district)
        .join(User, User.id == WelfareProfile.user_id)
        .where(WelfareProfile.user_id.between(lo, hi),
               User.id.between(lo, hi),
               WelfareProfile.notices_opt_out.is_(False),
               User.verified_at.is_not(None),
               User.active.is_(True))
        .cte("welfare_scan_window").prefix_with("MATERIALIZED"))
    c = candidates.c
    eligible = [
        sa.select(c.user_id.label("user_id"), sa.literal(prog.id, sa.Integer).label("programme_id"))
        .where(rules.to_sql(prog.rules, c, today))
        for prog in progs]
    told = sa.select(Notice.user_id, Notice.programme_id).where(Notice.user_id.between(lo, hi))
    eligible = (sa.union_all(*eligible) if len(eligible) > 1 else eligible[0]).subquery("eligible")
    found = sa.select(eligible.c.user_id, eligible.c.programme_id).except_(told).subquery("found")
    prefix = sa.case({prog.id: f"welfare:{prog.code}:" for prog in progs}, value=found.c.programme_id)
    select = (sa.select(found.c.user_id, found.c.programme_id,
                        (prefix + sa.cast(found.c.user_id, sa.String)).label("message_key"),
                        sa.literal(now, UTCDateTime))
              .where(sa.true())  # SQLite: a WHERE keeps "ON CONFLICT" from parsing as a join
              .order_by(found.c.programme_id, found.c.user_id))  # one lock order for concurrent scans
    return (_insert(session, Notice)
            .from_select(["user_id", "programme_id", "message_key", "created_at"], select)
            .on_conflict_do_nothing(index_elements=["programme_id", "user_id"])
            .returning(Notice.programme_id, Notice.user_id))


def queue_scan(session: Session, actor, today: date | None = None) -> str:
    """An officer asks for a scan in the background (Celery); the request is audited."""
    from welfare.tasks import scan_task

    require_role(actor, OFFICER)
    audit.record(session, actor, "welfare.scan.requested", "welfare_programme", "*")
    session.commit()
    return scan_task.delay(today.isoformat() if today else None).id


def _notice_context(prog: Programme) -> dict:
    """What the notice templates need: public programme facts, nothing about the resident."""
    return {"programme_code": prog.code, "name": dict(prog.name or {}),
            "how_to_apply": dict(prog.how_to_apply or {}), "callback_phone": prog.callback_phone or ""}


def reach(session: Session, actor) -> list[dict]:
    """Per programme: notices queued by scans, and how many of their messages were delivered."""
    require_role(actor, OFFICER)
    counts = dict(session.execute(sa.select(Notice.programme_id, sa.func.count())
                                  .group_by(Notice.programme_id)).all())
    delivered = _delivered_counts(session)
    out = []
    for prog in session.scalars(sa.select(Programme).order_by(Programme.id)):
        out.append({"programme": prog, "notices": counts.get(prog.id, 0),
                    "delivered": delivered.get(prog.id, 0) if delivered is not None else None})
    return out


def _delivered_counts(session: Session) -> dict | None:
    """Delivered messages per programme, joined on the outbox's idempotency key."""
    try:
        from portal.notify.models import Message
    except ImportError:
        return None
    rows = session.execute(
        sa.select(Notice.programme_id, sa.func.count())
        .join(Message, Message.idempotency_key == Notice.message_key)
        .where(Message.status == "delivered")
        .group_by(Notice.programme_id)).all()
    return dict(rows)
