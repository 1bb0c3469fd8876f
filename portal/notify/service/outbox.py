"""Writing the outbox: :func:`send`, :func:`send_many`, :func:`send_select`.

Producers (proposals, welfare, tourism) call them inside their own transaction and commit it
themselves: these functions only flush.  The new rows are queued to Celery only after that
transaction commits (:mod:`.queue`), so a worker never sees an id whose row is not there, and a
rolled-back producer sends nothing.

"Insert unless the idempotency key is there" is one set-based statement
(``INSERT ... ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, channel``): the unique key
decides between concurrent producers, never a read before the write.
"""

from __future__ import annotations

import json

from flask import has_request_context
from flask_babel import gettext as _
from sqlalchemy import (
    BigInteger,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    false,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.db import dialect_name, insert_ignoring
from portal.i18n import LOCALES, current_locale
from portal.types import UTCDateTime, utcnow

from .. import sealing
from ..errors import InvalidNotice
from ..limits import IDEMPOTENCY_KEY_MAX
from ..models import CHANNELS, Message, Preference
from ..text import MESSAGE, unstorable, unstorable_at
from .queue import queue_after_commit
from .rendering import template_exists

# -- validating what producers hand over ------------------------------------------------------

def _resolve_channel(requested: str | None, pref: Preference | None, *, has_user: bool,
                     email: str | None, phone: str | None) -> str | None:
    """The channel a notice goes by.

    For a resident: the one asked for, unless they switched it off; then their preferred
    channel; then the portal inbox, which cannot be switched off.  (A channel asked for that we
    have no address for is kept: it fails visibly as ``no_address`` on the officers' dashboard.)
    For a bare address (no account): the channel asked for, else what the address allows.
    """
    if not has_user:
        for candidate in (requested, "email" if email else None, "sms" if phone else None):
            if candidate:
                return candidate
        return None
    opted = set(pref.opted_out or ()) if pref else set()
    for candidate in (requested, pref.preferred_channel if pref else None):
        if candidate and candidate not in opted:
            return candidate
    return "app"


def _bad(index: int | None, name: str, message) -> InvalidNotice:
    key = name if index is None else f"items.{index}.{name}"
    return InvalidNotice(fields={key: message})


def _fallback_locale() -> str:
    """The language of a notice whose recipient has none: the request's, else Korean."""
    return current_locale() if has_request_context() else "ko"


def _json_object(value, name: str, index: int | None, checked: set[int]) -> dict:
    """A context (or its sealed part): a JSON object whose text can be stored."""
    if not value:
        return {}
    if not isinstance(value, dict):
        raise _bad(index, name, _("The context must be a JSON object."))
    if id(value) in checked:  # producers often share one context object (kept alive by the rows)
        return value
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise _bad(index, name, _("The context must be a JSON object.")) from None
    where = unstorable_at(value, name)
    if where is not None:
        raise _bad(index, where, MESSAGE)
    checked.add(id(value))
    return value


def _prepare_rows(session: Session, items: list[dict], *, single: bool) -> list[dict]:
    """Validate ``items`` and turn them into outbox rows (channel and locale resolved)."""
    user_ids = {int(it["user_id"]) for it in items if it.get("user_id") is not None}
    locales: dict[int, str] = {}
    prefs: dict[int, Preference] = {}
    if user_ids:
        ids = sorted(user_ids)
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            locales.update(session.execute(select(User.id, User.locale).where(User.id.in_(chunk))).all())
            prefs.update({p.user_id: p for p in session.scalars(
                select(Preference).where(Preference.user_id.in_(chunk)))})
    fallback_locale = _fallback_locale()
    known_templates: dict[str, bool] = {}
    serialisable: set[int] = set()
    now = utcnow()
    rows = []
    for n, item in enumerate(items):
        index = None if single else n
        template = item.get("template")
        if template not in known_templates:
            known_templates[template] = template_exists(template)
        if not known_templates[template]:
            raise _bad(index, "template", _("There is no message template of this name."))
        key = item.get("idempotency_key")
        if not isinstance(key, str) or not key.strip() or len(key) > IDEMPOTENCY_KEY_MAX:
            raise _bad(index, "idempotency_key", _("An idempotency key of 1 to 200 characters is required."))
        context = _json_object(item.get("context"), "context", index, serialisable)
        sealed = _json_object(item.get("sealed"), "sealed", index, serialisable)
        user_id = item.get("user_id")
        user_id = int(user_id) if user_id is not None else None
        if user_id is not None and user_id not in locales:
            raise _bad(index, "user", _("There is no such user."))
        email = (item.get("email") or "").strip() or None
        phone = (item.get("phone") or "").strip() or None
        for name, value in (("idempotency_key", key), ("email", email), ("phone", phone)):
            if unstorable(value):
                raise _bad(index, name, MESSAGE)
        requested = item.get("channel")
        if requested is not None and requested not in CHANNELS:
            raise _bad(index, "channel", _("Not one of the allowed values."))
        if user_id is None and requested == "app":
            raise _bad(index, "channel", _("Only a signed-up resident has a portal inbox."))
        channel = _resolve_channel(requested, prefs.get(user_id) if user_id else None,
                                   has_user=user_id is not None, email=email, phone=phone)
        if channel is None:
            raise _bad(index, "recipient", _("A user, an email address or a phone number is required."))
        locale = item.get("locale") or (locales.get(user_id) if user_id else None) or fallback_locale
        if locale not in LOCALES:
            raise _bad(index, "locale", _("Unsupported language."))
        rows.append({
            "idempotency_key": key, "user_id": user_id, "email": email, "phone": phone,
            "channel": channel, "locale": locale, "template": template,
            "context": context, "sealed": sealing.seal(sealed) if sealed else None,
            "status": "queued", "attempts": 0, "created_at": now, "updated_at": now,
            "queued_at": now,
        })
    return rows


# -- the set-based inserts ---------------------------------------------------------------------

# What a producer decides, as the columns of the JSON records PostgreSQL reads the rows from.
_RECORD = (("idempotency_key", Text), ("user_id", BigInteger), ("email", Text), ("phone", Text),
           ("channel", Text), ("locale", Text), ("template", Text), ("context", JSONB),
           ("sealed", Text))
_STATE = ("status", "attempts", "created_at", "updated_at", "queued_at")


def _insert_ignoring_key(bind):
    """``INSERT INTO notify_message ... ON CONFLICT (idempotency_key) DO NOTHING RETURNING id,
    channel``: the unique idempotency key makes a second insert of a notice a no-op, also
    between concurrent producers."""
    table = Message.__table__
    return (insert_ignoring(bind, table, index_elements=["idempotency_key"])
            .returning(table.c.id, table.c.channel))


def _pg_insert_records(bind):
    """``INSERT ... SELECT ... FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(...)``: the rows
    travel as one JSON document (a short statement however many rows), stamped with ``:now``."""
    records = (func.jsonb_to_recordset(cast(bindparam("rows"), JSONB))
               .table_valued(*(column(name, type_) for name, type_ in _RECORD))
               .render_derived(name="v", with_types=True))
    now = bindparam("now", type_=UTCDateTime)
    rows = select(*records.c, literal("queued"), literal(0), now, now, now)
    return _insert_ignoring_key(bind).from_select([name for name, _t in _RECORD] + list(_STATE), rows)


# The two inserts, built once per dialect (building one and its cache key cost more than running
# it); the rows and the time are the execution's parameters.
_built: dict[tuple[str, str], object] = {}


def _insert_new(session: Session, rows: list[dict]) -> list[tuple[int, str]]:
    """INSERT the rows, skipping any whose idempotency key exists.  Returns (id, channel) of
    the new rows.

    PostgreSQL: one ``INSERT ... SELECT FROM jsonb_to_recordset(<rows as one JSON document>)`` per
    10,000 rows; SQLite: a multi-row VALUES insert per 5,000 rows.
    """
    if not rows:
        return []
    new: list[tuple[int, str]] = []
    bind = session.get_bind(Message.__mapper__)
    dialect = dialect_name(bind)
    if dialect == "postgresql":
        stmt = _built.get(("records", dialect))
        if stmt is None:
            stmt = _built[("records", dialect)] = _pg_insert_records(bind)
        for start in range(0, len(rows), 10000):
            chunk = rows[start:start + 10000]
            payload = json.dumps([{name: row[name] for name, _t in _RECORD} for row in chunk],
                                 ensure_ascii=False)
            new.extend(tuple(r) for r in session.execute(
                stmt, {"rows": payload, "now": chunk[0]["created_at"]}))
        return new
    stmt = _built.get(("values", dialect))
    if stmt is None:
        stmt = _built[("values", dialect)] = _insert_ignoring_key(bind)
    for start in range(0, len(rows), 5000):
        new.extend(tuple(r) for r in session.execute(stmt, rows[start:start + 5000]))
    return new


# -- the producers' calls ------------------------------------------------------------------------

def send(session: Session, *, template: str, context: dict, idempotency_key: str, user=None,
         email: str | None = None, phone: str | None = None, channel: str | None = None,
         locale: str | None = None, sealed: dict | None = None) -> Message:
    """Write one notice to the outbox and queue it once the caller's transaction commits.

    A second call with the same ``idempotency_key`` returns the existing row (nothing new is
    sent).  ``channel=None``: the user's preferred channel; ``locale=None``: the user's locale.
    ``sealed``: more of the template's context that must not lie readable in the database (a
    link holding a live token): stored encrypted, opened only to render the notice for
    delivery (where it wins over ``context``), never shown by the API or the dashboard, and
    erased once the notice is delivered or has failed for good (:mod:`portal.notify.sealing`).
    The resident's inbox shows a notice without its sealed part.
    """
    user_id = None
    if user is not None and getattr(user, "is_authenticated", True):
        if getattr(user, "id", None) is None:
            session.flush()
        user_id = user.id
    session.flush()
    rows = _prepare_rows(session, [{
        "template": template, "context": context, "idempotency_key": idempotency_key,
        "user_id": user_id, "email": email, "phone": phone, "channel": channel, "locale": locale,
        "sealed": sealed,
    }], single=True)
    new = _insert_new(session, rows)
    if new:
        queue_after_commit(session, new)
    return session.scalars(
        select(Message).where(Message.idempotency_key == idempotency_key)
        .execution_options(populate_existing=True)).one()


def send_many(session: Session, items: list[dict]) -> int:
    """Bulk :func:`send` for producers such as the welfare scan.

    Each item has ``send()``'s keyword arguments (``sealed`` included) with ``user_id`` instead
    of ``user``.  One
    set-based insert per 5,000 rows skips existing idempotency keys; the new rows are queued in
    batch tasks after the caller commits.  Returns how many rows were new.
    """
    if not items:
        return 0
    session.flush()
    rows = _prepare_rows(session, items, single=False)
    new = _insert_new(session, rows)
    if new:
        queue_after_commit(session, new)
    return len(new)


_SOURCE_COLUMNS = ("user_id", "idempotency_key", "context", "channel")


def _opted_out_of(pref_opted_out, channel):
    """SQL: ``channel`` is in the resident's opt-out list (never NULL: no preference row, false)."""
    return func.coalesce(pref_opted_out.op("?", is_comparison=True)(channel), false())


def send_select(session: Session, source, *, template: str, locale: str | None = None) -> int:
    """Bulk :func:`send` whose items come from a SELECT: the outbox rows are written in the
    database, ``INSERT INTO notify_message ... SELECT ...``, and never travel through Python.

    ``source`` is a SQLAlchemy ``Select`` with columns labelled ``user_id`` (a resident: notices
    from a select go to portal users), ``idempotency_key``, ``context`` (a JSON object; NULL
    means ``{}``) and, optionally, ``channel`` (the channel asked for; NULL or missing means the
    resident's choice).  ``template`` and ``locale`` (``None``: each resident's own) apply to every
    row and are checked here.  Channel and locale are resolved exactly as :func:`send_many` does
    (the channel asked for unless the resident switched it off, then their preferred channel
    unless switched off, then the inbox), in SQL.  Existing idempotency keys are skipped
    (``ON CONFLICT DO NOTHING``), rows are inserted in key order (one lock order for concurrent
    producers), and the new rows are queued in batch tasks after the caller commits.  Returns
    how many rows were new.

    The row values are the producer's own SQL, so they are not validated one by one as
    :func:`send_many` does: an unknown user, a missing or over-long key or a channel that does
    not exist is refused by the table's constraints (``IntegrityError``/``DataError``).

    PostgreSQL does it in one statement; other databases run ``source`` and hand its rows to
    :func:`send_many` (the same rules, in Python).
    """
    if not template_exists(template):
        raise _bad(None, "template", _("There is no message template of this name."))
    if locale is not None and locale not in LOCALES:
        raise _bad(None, "locale", _("Unsupported language."))
    src = source.subquery("notify_source")
    missing = [name for name in _SOURCE_COLUMNS[:2] if name not in src.c]
    if missing:
        raise ValueError(f"send_select: the source has no column {missing[0]!r}")
    session.flush()
    bind = session.get_bind(Message.__mapper__)
    if dialect_name(bind) != "postgresql":
        return send_many(session, [
            {"user_id": row.user_id, "idempotency_key": row.idempotency_key, "template": template,
             "context": getattr(row, "context", None) or {}, "channel": getattr(row, "channel", None),
             "locale": locale}
            for row in session.execute(select(src))])

    pref = Preference.__table__.alias("notify_pref")
    user = User.__table__.alias("notify_user")
    requested = src.c.channel if "channel" in src.c else null()
    channel = case(
        (and_(requested.is_not(None), ~_opted_out_of(pref.c.opted_out, requested)), requested),
        (and_(pref.c.preferred_channel.is_not(None),
              ~_opted_out_of(pref.c.opted_out, pref.c.preferred_channel)), pref.c.preferred_channel),
        else_=literal("app"))
    empty = cast(literal("{}"), JSONB)
    # SQL NULL and a JSON null (what a None bound as JSON becomes) both mean {}
    context = (func.coalesce(func.nullif(src.c.context, cast(literal("null"), JSONB)), empty)
               if "context" in src.c else empty)
    stamp = literal(utcnow(), UTCDateTime)
    rows = (
        select(src.c.idempotency_key, src.c.user_id, channel,
               func.coalesce(literal(locale, String), user.c.locale, literal(_fallback_locale())),
               literal(template), context, literal("queued"), literal(0), stamp, stamp, stamp)
        .select_from(src)
        .outerjoin(user, user.c.id == src.c.user_id)
        .outerjoin(pref, pref.c.user_id == src.c.user_id)
        .order_by(src.c.idempotency_key.collate("C")))
    stmt = _insert_ignoring_key(bind).from_select(
        ["idempotency_key", "user_id", "channel", "locale", "template", "context", *_STATE], rows)
    new = [tuple(r) for r in session.execute(stmt)]
    if new:
        queue_after_commit(session, new)
    return len(new)
