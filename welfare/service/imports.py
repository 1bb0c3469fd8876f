"""CSV import of welfare profiles: every row is checked first; then all are written in one
transaction, or nothing is."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal import audit
from portal.accounts.models import User
from portal.db import insert
from portal.notify.text import MESSAGE as UNSTORABLE
from portal.notify.text import unstorable
from portal.types import utcnow
from welfare.errors import ImportRejected
from welfare.models import WelfareProfile
from welfare.service.common import require_officer, seoul_today
from welfare.service.values import DEPRECATED, INPUT_ONLY, PROFILE_FIELDS, normalise_profile

CSV_COLUMNS = ("email", *PROFILE_FIELDS, *INPUT_ONLY)
CHUNK = 1000  # emails, ids or rows per statement


@dataclass
class RowError:
    line: int
    column: str
    message: str


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)


def _chunks(items: list):
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def import_profiles(session: Session, actor, stream: Iterable[str],
                    progress: Callable[[int], None] | None = None,
                    today: date | None = None) -> ImportResult:
    """Validate every row, then write them all in one transaction, or write nothing.

    `stream` is a text CSV with a header naming the columns of CSV_COLUMNS (email required; a
    blank cell means unknown). `actor` None means the operator at the command line.
    """
    if actor is not None:
        require_officer(actor)
    today = today or seoul_today()
    reader = csv.DictReader(stream)
    header = [h.strip() for h in (reader.fieldnames or [])]
    errors: list[RowError] = []
    if "email" not in header:
        raise ImportRejected([RowError(1, "email", _("The header has no email column."))])
    unknown = [h for h in header if h not in CSV_COLUMNS and h not in DEPRECATED]
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
        if unstorable(email):
            errors.append(RowError(line, "email", str(UNSTORABLE)))
        elif not email or "@" not in email:
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
    for chunk in _chunks(list(seen)):
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
    for chunk in _chunks(list(ids.values())):
        existing.update(session.scalars(sa.select(WelfareProfile.user_id).where(
            WelfareProfile.user_id.in_(chunk))))
    now = utcnow()
    rows = [{**values, "user_id": ids[email], "source": "import", "updated_at": now}
            for _line, email, values in parsed]
    for chunk in _chunks(rows):
        stmt = insert(session.get_bind(), WelfareProfile).values(chunk)
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
