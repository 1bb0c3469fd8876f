"""The notification queue's rules: outbox writes, delivery, retries, the sweep, inbox, stats.

Producers (proposals, welfare, tourism) call :func:`send` or :func:`send_many` inside their own
transaction; the rows are queued to Celery only after that transaction commits, so a worker never
sees an id whose row is not there, and a rolled-back producer sends nothing.

Delivery (:func:`deliver_batch`, run by the ``notify.deliver_batch`` task) claims rows with a
conditional ``UPDATE ... WHERE status IN (queued, due temporary_failure)``, so two workers never
both send one notice; it records each outcome fenced on the claim (``status = 'sending' AND
sending_at = <this claim>``), so a worker that lost its claim to the sweep cannot overwrite a
newer attempt.  The sweep (:func:`sweep`) puts rows stuck in ``queued``/``sending`` back on the
queue: a lost broker message delays a notice but never loses it.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app, has_request_context
from flask_babel import force_locale
from flask_babel import gettext as _
from jinja2 import TemplateNotFound
from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    event,
    false,
    func,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from portal import audit
from portal.accounts.models import User
from portal.accounts.service import require_login, require_role
from portal.errors import Conflict, Invalid, NotFound
from portal.extensions import db
from portal.i18n import LOCALES, current_locale
from portal.types import UTCDateTime, utcnow

from .. import ratelimit
from ..channels import DeliveryError, Envelope, PermanentFailure, TemporaryFailure, get_channel, setting
from ..models import CHANNELS, OPTIONAL_CHANNELS, STATUSES, Message, Preference

log = logging.getLogger(__name__)

OFFICER_ROLES = ("welfare_officer", "staff")
FAILED = ("temporary_failure", "permanent_failure")
_TEMPLATE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_PENDING = "notify.pending"
_HOOKED = "notify.hooked"


# -- settings --------------------------------------------------------------------------------

def max_attempts() -> int:
    return int(setting("NOTIFY_MAX_ATTEMPTS", 5))


def stuck_seconds() -> int:
    return int(setting("NOTIFY_STUCK_SECONDS", 300))


def batch_size() -> int:
    return max(1, int(setting("NOTIFY_BATCH_SIZE", 200)))


def backoff(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, with jitter (half fixed,
    half random) so that a provider outage does not end in a thundering herd."""
    base = float(setting("NOTIFY_RETRY_BASE_SECONDS", 30))
    cap = float(setting("NOTIFY_RETRY_MAX_SECONDS", 3600))
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


# -- rendering -------------------------------------------------------------------------------

def _template_name(template: str, part: str) -> str:
    return f"notify/{template}.{part}.txt"


def template_exists(template: str) -> bool:
    if not isinstance(template, str) or not _TEMPLATE_RE.match(template):
        return False
    env = current_app.jinja_env
    try:
        env.get_template(_template_name(template, "subject"))
        env.get_template(_template_name(template, "body"))
    except TemplateNotFound:
        return False
    return True


def render(template: str, context: dict, locale: str, *, voice: bool = True) -> tuple[str, str, str | None]:
    """(subject, body, voice script or None) of ``template`` in ``locale``.

    Templates are plain text (no HTML escaping), found in any blueprint's ``templates/notify/``.
    ``voice=False`` skips the call script (only the voice channel reads it).
    """
    env = current_app.jinja_env
    context = dict(context or {})
    script = None
    with force_locale(locale):
        subject = env.get_template(_template_name(template, "subject")).render(context)
        body = env.get_template(_template_name(template, "body")).render(context)
        if voice:
            try:
                script = env.get_template(_template_name(template, "voice")).render(context).strip()
            except TemplateNotFound:
                script = None
    return " ".join(subject.split()), body.strip(), script


# -- writing the outbox ----------------------------------------------------------------------

def _real(session):
    return session() if isinstance(session, scoped_session) else session


def _after_commit(session) -> None:
    if session.in_nested_transaction():  # a savepoint was released: the rows are not out yet
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        enqueue(pending)


def _after_rollback(session, previous_transaction) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


def _queue_after_commit(session, new: list[tuple[int, str]]) -> None:
    real = _real(session)
    real.info.setdefault(_PENDING, []).extend(new)
    if not real.info.get(_HOOKED):
        event.listen(real, "after_commit", _after_commit)
        event.listen(real, "after_soft_rollback", _after_rollback)
        real.info[_HOOKED] = True


def enqueue(pairs: list[tuple[int, str]]) -> int:
    """Hand ``(id, channel)`` pairs to Celery, one task per channel and batch of ids.

    Never raises: if the broker cannot be reached the rows stay ``queued`` and the sweep picks
    them up.  Returns how many tasks were queued.
    """
    from .. import tasks  # the tasks module imports this one

    by_channel: dict[str, list[int]] = defaultdict(list)
    for message_id, channel in pairs:
        by_channel[channel].append(int(message_id))
    size, queued = batch_size(), 0
    for channel, ids in by_channel.items():
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            try:
                tasks.deliver_batch.apply_async(
                    (channel, chunk), retry=True,
                    # a short repr for logs and monitors: Celery's own saferepr of 200 ids costs
                    # more than the rest of queueing the task
                    argsrepr=f"({channel!r}, <{len(chunk)} ids {chunk[0]}..{chunk[-1]}>)",
                    retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5})
                queued += 1
            except Exception as exc:  # noqa: BLE001 - the outbox row is safe; the sweep retries
                log.warning("notify: could not queue %d %s notices (%s); the sweep will retry",
                            len(chunk), channel, type(exc).__name__)
    return queued


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


def _bad(index: int | None, name: str, message) -> Invalid:
    key = name if index is None else f"items.{index}.{name}"
    return Invalid(fields={key: message}, code="invalid_notice")


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
    fallback_locale = current_locale() if has_request_context() else "ko"
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
        if not isinstance(key, str) or not key.strip() or len(key) > 200:
            raise _bad(index, "idempotency_key", _("An idempotency key of 1 to 200 characters is required."))
        context = item.get("context") or {}
        if not isinstance(context, dict):
            raise _bad(index, "context", _("The context must be a JSON object."))
        try:
            if id(context) not in serialisable:  # producers often share one context object
                json.dumps(context)
                serialisable.add(id(context))
        except (TypeError, ValueError):
            raise _bad(index, "context", _("The context must be a JSON object.")) from None
        user_id = item.get("user_id")
        user_id = int(user_id) if user_id is not None else None
        if user_id is not None and user_id not in locales:
            raise _bad(index, "user", _("There is no such user."))
        email = (item.get("email") or "").strip() or None
        phone = (item.get("phone") or "").strip() or None
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
            "context": context,
            "status": "queued", "attempts": 0, "created_at": now, "updated_at": now,
            "queued_at": now,
        })
    return rows


_PG_INSERT = text("""
INSERT INTO notify_message (idempotency_key, user_id, email, phone, channel, locale, template, context,
                            status, attempts, created_at, updated_at, queued_at)
SELECT v.idempotency_key, v.user_id, v.email, v.phone, v.channel, v.locale, v.template, v.context,
       'queued', 0, :now, :now, :now
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(idempotency_key text, user_id bigint, email text,
     phone text, channel text, locale text, template text, context jsonb)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id, channel
""")
_PG_COLUMNS = ("idempotency_key", "user_id", "email", "phone", "channel", "locale", "template", "context")


def _insert_new(session: Session, rows: list[dict]) -> list[tuple[int, str]]:
    """INSERT the rows, skipping any whose idempotency key exists: set-based statements
    (``ON CONFLICT (idempotency_key) DO NOTHING``).  Returns (id, channel) of the new rows.

    PostgreSQL: one ``INSERT ... SELECT FROM jsonb_to_recordset(<rows as one JSON document>)`` per
    10,000 rows (a short statement however many rows); SQLite: a multi-row VALUES insert per 5,000 rows.
    """
    if not rows:
        return []
    new: list[tuple[int, str]] = []
    dialect = session.get_bind(Message.__mapper__).dialect.name
    if dialect == "postgresql":
        for start in range(0, len(rows), 10000):
            chunk = rows[start:start + 10000]
            payload = json.dumps([{c: row[c] for c in _PG_COLUMNS} for row in chunk], ensure_ascii=False)
            new.extend(tuple(r) for r in session.execute(
                _PG_INSERT, {"rows": payload, "now": chunk[0]["created_at"]}))
        return new
    table = Message.__table__
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert

        stmt = (insert(table).on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(table.c.id, table.c.channel))
        for start in range(0, len(rows), 5000):
            new.extend(tuple(r) for r in session.execute(stmt, rows[start:start + 5000]))
        return new
    for row in rows:  # another database: one savepoint per row
        try:
            with session.begin_nested():
                message_id = session.execute(table.insert().returning(table.c.id), row).scalar_one()
            new.append((message_id, row["channel"]))
        except IntegrityError:
            continue
    return new


def send(session: Session, *, template: str, context: dict, idempotency_key: str, user=None,
         email: str | None = None, phone: str | None = None, channel: str | None = None,
         locale: str | None = None) -> Message:
    """Write one notice to the outbox and queue it once the caller's transaction commits.

    A second call with the same ``idempotency_key`` returns the existing row (nothing new is
    sent).  ``channel=None``: the user's preferred channel; ``locale=None``: the user's locale.
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
    }], single=True)
    new = _insert_new(session, rows)
    if new:
        _queue_after_commit(session, new)
    return session.scalars(
        select(Message).where(Message.idempotency_key == idempotency_key)
        .execution_options(populate_existing=True)).one()


def send_many(session: Session, items: list[dict]) -> int:
    """Bulk :func:`send` for producers such as the welfare scan.

    Each item has ``send()``'s keyword arguments with ``user_id`` instead of ``user``.  One
    set-based insert per 5,000 rows skips existing idempotency keys; the new rows are queued in
    batch tasks after the caller commits.  Returns how many rows were new.
    """
    if not items:
        return 0
    session.flush()
    rows = _prepare_rows(session, items, single=False)
    new = _insert_new(session, rows)
    if new:
        _queue_after_commit(session, new)
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
    dialect = session.get_bind(Message.__mapper__).dialect.name
    if dialect != "postgresql":
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
    fallback_locale = current_locale() if has_request_context() else "ko"
    empty = cast(literal("{}"), JSONB)
    # SQL NULL and a JSON null (what a None bound as JSON becomes) both mean {}
    context = (func.coalesce(func.nullif(src.c.context, cast(literal("null"), JSONB)), empty)
               if "context" in src.c else empty)
    now = utcnow()
    stamp = literal(now, UTCDateTime)
    rows = (
        select(src.c.idempotency_key, src.c.user_id, channel,
               func.coalesce(literal(locale, String), user.c.locale, literal(fallback_locale)),
               literal(template), context, literal("queued"), literal(0), stamp, stamp, stamp)
        .select_from(src)
        .outerjoin(user, user.c.id == src.c.user_id)
        .outerjoin(pref, pref.c.user_id == src.c.user_id)
        .order_by(src.c.idempotency_key.collate("C")))
    table = Message.__table__
    stmt = (pg_insert(table)
            .from_select(["idempotency_key", "user_id", "channel", "locale", "template", "context",
                          "status", "attempts", "created_at", "updated_at", "queued_at"], rows)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(table.c.id, table.c.channel))
    new = [tuple(r) for r in session.execute(stmt)]
    if new:
        _queue_after_commit(session, new)
    return len(new)


# -- delivery --------------------------------------------------------------------------------

@dataclass
class BatchOutcome:
    delivered: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)         # permanent: id -> reason
    retry: list[tuple[float, list[int]]] = field(default_factory=list)  # (countdown, ids)
    deferred: list[int] = field(default_factory=list)            # over the rate limit
    defer_for: float = 0.0


def _claim(session: Session, ids: list[int], now: datetime) -> dict[int, int]:
    """queued / due temporary_failure -> sending, atomically; returns {id: attempt number}."""
    stmt = (
        update(Message)
        .where(Message.id.in_(ids), Message.attempts < max_attempts(),
               or_(Message.status == "queued",
                   and_(Message.status == "temporary_failure", Message.next_attempt_at <= now)))
        .values(status="sending", attempts=Message.attempts + 1, sending_at=now, updated_at=now)
        .returning(Message.id, Message.attempts)
        .execution_options(synchronize_session=False)
    )
    claimed = dict(session.execute(stmt).all())
    session.commit()
    return claimed


def _finish(session: Session, ids: list[int], claimed_at: datetime, **values) -> None:
    if ids:
        session.execute(
            update(Message)
            .where(Message.id.in_(ids), Message.status == "sending", Message.sending_at == claimed_at)
            .values(**values)
            .execution_options(synchronize_session=False))


def _address(row: Message, user: tuple | None) -> str | None:
    if row.channel == "email":
        return row.email or (user[1] if user else None)
    if row.channel in ("sms", "voice"):
        return row.phone or (user[2] if user else None)
    return None


def _envelopes(session: Session, rows: list[Message], claimed: dict[int, int],
               outcome: BatchOutcome) -> dict[str, list[Envelope]]:
    user_ids = {r.user_id for r in rows if r.user_id is not None}
    users = {u[0]: tuple(u) for u in session.execute(
        select(User.id, User.email, User.phone).where(User.id.in_(user_ids)))} if user_ids else {}
    prefs = {p.user_id: p for p in session.scalars(
        select(Preference).where(Preference.user_id.in_(user_ids)))} if user_ids else {}
    envelopes: dict[str, list[Envelope]] = defaultdict(list)
    rendered_cache: dict[tuple, tuple[str, str, str | None]] = {}
    for row in rows:
        try:
            pref = prefs.get(row.user_id)
            if pref is not None and row.channel in (pref.opted_out or ()):
                raise PermanentFailure("opted_out")
            if row.channel == "app" and row.user_id is None:
                raise PermanentFailure("no_inbox")
            to = _address(row, users.get(row.user_id))
            if row.channel != "app" and not to:
                raise PermanentFailure("no_address")
            # notices of one event share their context: render each distinct one once per batch
            key = (row.template, row.locale, row.channel == "voice",
                   json.dumps(row.context, sort_keys=True, ensure_ascii=False))
            try:
                if key not in rendered_cache:
                    rendered_cache[key] = render(row.template, row.context, row.locale,
                                                 voice=row.channel == "voice")
                subject, body, voice = rendered_cache[key]
            except TemplateNotFound:
                raise PermanentFailure("template_missing") from None
            except Exception as exc:  # noqa: BLE001 - a broken template fails this notice only
                raise PermanentFailure(f"render_error:{type(exc).__name__}") from None
            envelopes[row.channel].append(Envelope(
                message_id=row.id, idempotency_key=row.idempotency_key, channel=row.channel,
                attempt=claimed[row.id], locale=row.locale, to=to, subject=subject, body=body,
                voice=voice))
        except PermanentFailure as exc:
            outcome.failed[row.id] = exc.code
    return envelopes


def deliver_batch(session: Session, channel: str, ids: list[int], *, limit: bool = False,
                  now: datetime | None = None) -> BatchOutcome:
    """Deliver the notices ``ids`` that are due; what happens to each is in the outcome.

    ``limit``: honour the channel's rate limit (ids over it are returned as ``deferred``).
    """
    outcome = BatchOutcome()
    ids = list(dict.fromkeys(int(i) for i in ids))
    if limit and ratelimit.limit_for(channel) > 0 and ids:
        # spend the channel's tokens only on notices still waiting (duplicate tasks are common
        # after a sweep), in id order
        ids = sorted(session.scalars(select(Message.id).where(
            Message.id.in_(ids), Message.status.in_(("queued", "temporary_failure")))))
        session.commit()
        granted, wait = ratelimit.take(channel, len(ids))
        ids, outcome.deferred, outcome.defer_for = ids[:granted], ids[granted:], wait
    if not ids:
        return outcome
    now = now or utcnow()
    claimed = _claim(session, ids, now)
    if not claimed:
        return outcome
    rows = list(session.scalars(select(Message).where(Message.id.in_(list(claimed)))))
    envelopes = _envelopes(session, rows, claimed, outcome)
    temporary: dict[int, str] = {}
    for name, batch in envelopes.items():
        try:
            results = get_channel(name).deliver_many(batch)
        except Exception as exc:  # noqa: BLE001 - an unexpected provider error: try again later
            log.warning("notify: %s channel raised %s", name, type(exc).__name__)
            results = {env.message_id: TemporaryFailure("internal_error") for env in batch}
        for env in batch:
            error: DeliveryError | None = results.get(env.message_id, TemporaryFailure("no_result"))
            if error is None:
                outcome.delivered.append(env.message_id)
            elif error.temporary and claimed[env.message_id] < max_attempts():
                temporary[env.message_id] = error.code
            else:
                outcome.failed[env.message_id] = error.code
    done = utcnow()
    _finish(session, outcome.delivered, now, status="delivered", delivered_at=done,
            updated_at=done, next_attempt_at=None, last_error=None)
    by_reason: dict[str, list[int]] = defaultdict(list)
    for message_id, reason in outcome.failed.items():
        by_reason[reason].append(message_id)
    for reason, failed_ids in by_reason.items():
        _finish(session, failed_ids, now, status="permanent_failure", failed_at=done,
                updated_at=done, next_attempt_at=None, last_error=reason)
    for message_id, reason in temporary.items():
        delay = backoff(claimed[message_id])
        _finish(session, [message_id], now, status="temporary_failure", failed_at=done,
                updated_at=done, next_attempt_at=done + timedelta(seconds=delay), last_error=reason)
        outcome.retry.append((delay, [message_id]))
    session.commit()
    return outcome


def sweep(session: Session, *, now: datetime | None = None) -> list[tuple[int, str]]:
    """Put back on the queue what the broker or a dead worker lost; returns (id, channel)s.

    - ``sending`` for longer than ``NOTIFY_STUCK_SECONDS`` (the worker died): back to
      ``queued``, or ``permanent_failure`` once the attempts are used up;
    - ``queued`` for longer than that (the broker lost the task): queued again;
    - ``temporary_failure`` whose retry is that overdue (the retry task was lost): queued again.
    The caller commits, then hands the pairs to :func:`enqueue`.
    """
    now = now or utcnow()
    cutoff = now - timedelta(seconds=stuck_seconds())
    session.execute(
        update(Message)
        .where(Message.status == "sending", Message.sending_at < cutoff,
               Message.attempts >= max_attempts())
        .values(status="permanent_failure", failed_at=now, updated_at=now, last_error="worker_lost")
        .execution_options(synchronize_session=False))
    found: list[tuple[int, str]] = []
    for where, values in (
        ((Message.status == "sending", Message.sending_at < cutoff),
         {"status": "queued", "queued_at": now}),
        ((Message.status == "queued", Message.queued_at < cutoff), {"queued_at": now}),
        ((Message.status == "temporary_failure", Message.next_attempt_at < cutoff),
         {"next_attempt_at": now}),
    ):
        found.extend(session.execute(
            update(Message).where(*where).values(updated_at=now, **values)
            .returning(Message.id, Message.channel)
            .execution_options(synchronize_session=False)).all())
    return found


def sweep_and_enqueue(session: Session, *, now: datetime | None = None) -> int:
    found = sweep(session, now=now)
    session.commit()
    if found:
        log.info("notify sweep: re-queued %d notices", len(found))
        enqueue(found)
    return len(found)


def fresh_session() -> Session:
    """A session of its own for delivery (never the web request's, which may be mid-commit)."""
    return db.session.session_factory()


# -- the resident's inbox --------------------------------------------------------------------

def inbox_query(user):
    require_login(user)
    return select(Message).where(Message.user_id == user.id, Message.status == "delivered")


INBOX_ORDER = [(Message.created_at, "desc"), (Message.id, "desc")]


def inbox(session: Session, user, *, cursor: str | None = None, limit: int = 20):
    """The signed-in resident's delivered notices, newest first: (rows, next_cursor)."""
    from portal.api import paginate

    return paginate(session, inbox_query(user), INBOX_ORDER, cursor, limit)


def unread_count(session: Session, user) -> int:
    return session.scalar(select(func.count()).select_from(
        inbox_query(user).where(Message.read_at.is_(None)).subquery())) or 0


def inbox_message(session: Session, user, message_id: int) -> Message:
    require_login(user)
    message = session.get(Message, message_id)
    # another person's notice is indistinguishable from a missing one
    if message is None or message.user_id != user.id or message.status != "delivered":
        raise NotFound(_("There is no such message in your inbox."), code="message_not_found")
    return message


def mark_read(session: Session, user, message_id: int) -> Message:
    message = inbox_message(session, user, message_id)
    session.execute(
        update(Message).where(Message.id == message.id, Message.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False))
    session.commit()
    session.refresh(message)
    return message


def rendered(message: Message) -> dict:
    """Subject and body of a stored notice as the resident received them."""
    try:
        subject, body, _voice = render(message.template, message.context, message.locale, voice=False)
    except TemplateNotFound:
        subject, body = message.template, ""
    return {"subject": subject, "body": body}


# -- preferences -----------------------------------------------------------------------------

def get_preferences(session: Session, user) -> dict:
    require_login(user)
    pref = session.get(Preference, user.id)
    return {
        "preferred_channel": pref.preferred_channel if pref else None,
        "opted_out": sorted(pref.opted_out or []) if pref else [],
    }


def update_preferences(session: Session, user, *, preferred_channel: str | None,
                       opted_out: list[str]) -> dict:
    require_login(user)
    fields = {}
    preferred_channel = preferred_channel or None
    opted = sorted(set(opted_out or []))
    if preferred_channel is not None and preferred_channel not in CHANNELS:
        fields["preferred_channel"] = _("Not one of the allowed values.")
    if "app" in opted:
        fields["opted_out"] = _("The portal inbox cannot be switched off.")
    elif any(c not in OPTIONAL_CHANNELS for c in opted):
        fields["opted_out"] = _("Not one of the allowed values.")
    if preferred_channel in opted:
        fields["preferred_channel"] = _("You cannot prefer a channel you switched off.")
    elif preferred_channel in ("sms", "voice") and not user.phone:
        fields["preferred_channel"] = _("Add a phone number to your profile first.")
    if fields:
        raise Invalid(fields=fields, code="invalid_preferences")
    values = {"user_id": user.id, "preferred_channel": preferred_channel, "opted_out": opted,
              "updated_at": utcnow()}
    dialect = session.get_bind(Preference.__mapper__).dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(Preference.__table__).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id"],
        set_={"preferred_channel": stmt.excluded.preferred_channel,
              "opted_out": stmt.excluded.opted_out, "updated_at": stmt.excluded.updated_at})
    session.execute(stmt)
    session.commit()
    session.expire_all()
    return get_preferences(session, user)


# -- officers --------------------------------------------------------------------------------

def list_messages(session: Session, user, *, status: str | None = None, channel: str | None = None,
                  cursor: str | None = None, limit: int = 50):
    """All notices, newest first, for welfare officers and staff: (rows, next_cursor)."""
    from portal.api import paginate

    require_role(user, *OFFICER_ROLES)
    fields = {}
    if status and status not in STATUSES:
        fields["status"] = _("Not one of the allowed values.")
    if channel and channel not in CHANNELS:
        fields["channel"] = _("Not one of the allowed values.")
    if fields:
        raise Invalid(fields=fields)
    stmt = select(Message)
    if status:
        stmt = stmt.where(Message.status == status)
    if channel:
        stmt = stmt.where(Message.channel == channel)
    rows, next_cursor = paginate(session, stmt, INBOX_ORDER, cursor, limit)
    audit.record(session, user, "notify.messages.view", "notify_message", "*",
                 status=status, channel=channel, count=len(rows))
    session.commit()
    return rows, next_cursor


def get_message(session: Session, user, message_id: int) -> Message:
    require_role(user, *OFFICER_ROLES)
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(_("There is no such message."), code="message_not_found")
    return message


def retry(session: Session, user, message_id: int) -> Message:
    """Send a failed notice again (attempts start over), after the officer's transaction."""
    message = get_message(session, user, message_id)
    now = utcnow()
    row = session.execute(
        update(Message)
        .where(Message.id == message.id, Message.status.in_(FAILED))
        .values(status="queued", attempts=0, next_attempt_at=None, queued_at=now, updated_at=now)
        .returning(Message.id, Message.channel)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        raise Conflict(_("Only a failed message can be sent again."), code="not_retryable")
    audit.record(session, user, "notify.retry", "notify_message", message.id)
    _queue_after_commit(session, [tuple(row)])
    session.commit()
    session.refresh(message)
    return message


def stats(session: Session, user) -> dict:
    """Queue depth by status and channel, delivery rate, failures by reason (officers)."""
    require_role(user, *OFFICER_ROLES)
    return queue_stats(session)


def queue_stats(session: Session) -> dict:
    """:func:`stats` without the role check, for the CLI and other services' dashboards."""
    depth = {status: dict.fromkeys(CHANNELS, 0) for status in STATUSES}
    for status, channel, count in session.execute(
            select(Message.status, Message.channel, func.count()).group_by(Message.status, Message.channel)):
        depth[status][channel] = count
    totals = {status: sum(by_channel.values()) for status, by_channel in depth.items()}
    finished = totals["delivered"] + totals["permanent_failure"]
    failures = [
        {"status": status, "channel": channel, "reason": reason or "", "count": count}
        for status, channel, reason, count in session.execute(
            select(Message.status, Message.channel, Message.last_error, func.count())
            .where(Message.status.in_(FAILED))
            .group_by(Message.status, Message.channel, Message.last_error)
            .order_by(func.count().desc()))
    ]
    recent = list(session.scalars(
        select(Message).where(Message.status.in_(FAILED))
        .order_by(Message.updated_at.desc(), Message.id.desc()).limit(20)))
    return {
        "depth": depth,
        "totals": totals,
        "delivery_rate": (totals["delivered"] / finished) if finished else None,
        "failures": failures,
        "recent_failures": recent,
    }
