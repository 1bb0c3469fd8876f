"""What a gate check writes: its token id used up, its decision logged, in one commit.

Two forms of the same rules (``rules.decision_columns``):

- a single check (``remember_and_log``: the Flask view, and the fast path on databases other
  than PostgreSQL): ``used_token_stmt``, then ``log_decision_stmt``, one commit;
- a batch of checks (``log_decisions_stmt``: the fast path's group commit on PostgreSQL,
  ``group_commit``): one statement and one commit for every check waiting.

Either way a token id is used up if and only if its decision is logged, and the gate is
answered only after that commit. Statements are built once per shape, so SQLAlchemy's
compiled cache serves every call.

Replay across the purge: hosts' clocks differ (a gate host a few seconds behind the beat host
granted a token twice: the beat host had already purged its id). So the database's clock
alone (``db_clock``) says how long a used token id is kept and whether a token is still too
young to be forgotten:

- the row keeps the token's own ``exp`` (``expires_at``), and the purge forgets it only when
  ``exp + LEEWAY + USED_TOKEN_MARGIN`` is past by the database's clock;
- a check whose token passed on the gate host's clock is "expired" all the same when
  ``exp + LEEWAY`` is past by the database's clock, and uses up nothing.

So a token whose id could have been purged can no longer pass, however wrong a host's clock
is: a gate host behind lets through no token the database calls expired; one ahead only
refuses sooner. (``USED_TOKEN_MARGIN`` covers the time between a check's clock reading and
its insert, which ``VERIFY_STATEMENT_TIMEOUT_MS`` bounds.)
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Integer,
    String,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy import column as db_column
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from portal.db import insert_ignoring
from portal.eid import verifier
from portal.eid.errors import VerifyUnavailable
from portal.eid.models import AccessEntry, Card, UsedToken
from portal.eid.verify.rules import STATUS_DECIDES, decision_columns, status_decides
from portal.types import UTCDateTime

_stmts: dict = {}
_LOG_COLUMNS = ["at", "card_id", "facility_id", "gate_id", "decision", "reason", "card_status"]

# Seconds a used token id is kept after its token's ``exp`` plus the verifier's leeway, by the
# database's clock: far more than any statement of a check may run (its statement_timeout).
USED_TOKEN_MARGIN = 60


def db_clock(dialect_name: str):
    """The database's clock as SQL. PostgreSQL: ``statement_timestamp()``, when the statement
    began (a check's statements run under ``statement_timeout``). SQLite: its ``'now'`` (the
    file lives on this host, so its clock is the host's; text in the column's own format)."""
    if dialect_name == "postgresql":
        return func.statement_timestamp()
    return func.strftime("%Y-%m-%d %H:%M:%f", "now")


def _seconds(n: int):
    """An interval of ``n`` seconds, in PostgreSQL's SQL."""
    return literal_column(f"interval '{int(n)} seconds'")


def token_exp(claims: dict) -> datetime:
    """The token's ``exp``: what a used token id's row keeps (``UsedToken.expires_at``)."""
    return datetime.fromtimestamp(claims["exp"], tz=UTC)


def live_until(claims: dict) -> datetime:
    """The last moment the token may pass by the database's clock: ``exp`` plus the leeway."""
    return datetime.fromtimestamp(claims["exp"] + verifier.LEEWAY, tz=UTC)


# -- one check -----------------------------------------------------------------------------


def used_token_stmt(dialect_name: str):
    """``INSERT INTO eid_used_token (jti, expires_at) SELECT :jti, :exp WHERE :live_until >=
    <the database's clock> ON CONFLICT (jti) DO NOTHING RETURNING jti``, built once per
    dialect; parameters from ``used_token_params``. A row back means the token id was new
    and the token still live by the database's clock; none means another check already used
    it (or is using it: PostgreSQL makes the second insert wait for the first one's commit,
    then skips it), or that the token is past ``exp`` plus the leeway by the database's clock
    (``live_stmt`` tells which). The table's primary key decides which of two racing gates
    gets a token."""
    key = ("used", dialect_name)
    stmt = _stmts.get(key)
    if stmt is None:
        table = UsedToken.__table__
        live = bindparam("live_until", type_=UTCDateTime()) >= db_clock(dialect_name)
        stmt = (insert_ignoring(dialect_name, table, index_elements=["jti"])
                .from_select(["jti", "expires_at"],
                             select(bindparam("used_jti", type_=String()),
                                    bindparam("used_exp", type_=UTCDateTime())).where(live))
                .returning(table.c.jti))
        stmt = _stmts.setdefault(key, stmt)
    return stmt


def live_stmt(dialect_name: str):
    """``SELECT :live_until >= <the database's clock>``: whether a token may still pass."""
    key = ("live", dialect_name)
    stmt = _stmts.get(key)
    if stmt is None:
        stmt = select(bindparam("live_until", type_=UTCDateTime()) >= db_clock(dialect_name))
        stmt = _stmts.setdefault(key, stmt)
    return stmt


def used_token_params(claims: dict) -> dict:
    return {"used_jti": claims["jti"], "used_exp": token_exp(claims),
            "live_until": live_until(claims)}


def statement_timeouts(conn, statement_ms: int, lock_ms: int) -> None:
    """PostgreSQL: ``statement_timeout`` and ``lock_timeout`` for the rest of the connection's
    transaction (``SET LOCAL``): a check's statements stuck behind a lock or a slow disk are
    cancelled by the server (the gate is told to try again) instead of holding the request."""
    if conn.dialect.name == "postgresql":
        conn.execute(_timeouts_stmt(), {"statement_ms": str(int(statement_ms)),
                                        "lock_ms": str(int(lock_ms))})


def _timeouts_stmt():
    stmt = _stmts.get("timeouts")
    if stmt is None:
        stmt = select(func.set_config("statement_timeout", bindparam("statement_ms", type_=String()),
                                      True),
                      func.set_config("lock_timeout", bindparam("lock_ms", type_=String()), True))
        stmt = _stmts.setdefault("timeouts", stmt)
    return stmt


def log_decision_stmt(status_decides: bool):
    """One ``INSERT ... SELECT ... RETURNING`` that reads the card's status and logs the
    decision in the same statement. Parameters (``log_params``): ``at``, ``sub``,
    ``facility_id``, ``gate_id`` and ``reason``: the verifier's reason when the token was
    denied on its own (``status_decides`` False), else the reason for an active, unexpired
    card ("ok", "replayed" or "policy"), replaced by "revoked"/"suspended" per the card's
    status (``rules.decision_columns``)."""
    key = ("log", status_decides)
    stmt = _stmts.get(key)
    if stmt is not None:
        return stmt
    card = Card.__table__
    log = AccessEntry.__table__
    at = bindparam("at", type_=UTCDateTime())
    given = bindparam("reason", type_=String())
    one = select(literal(1).label("one")).subquery("one")
    card_status, reason, decision = decision_columns(card, at, given, status_decides)
    rows = select(at, card.c.id, bindparam("facility_id", type_=Integer()),
                  bindparam("gate_id", type_=Integer()), decision, reason, card_status
                  ).select_from(one.outerjoin(card, card.c.public_id == bindparam("sub", type_=String())))
    stmt = insert(log).from_select(_LOG_COLUMNS, rows).returning(
        log.c.decision, log.c.reason, log.c.card_status)
    return _stmts.setdefault(key, stmt)


def log_params(gate, sub: str | None, given: str, now_s: float) -> dict:
    return {"at": datetime.fromtimestamp(now_s, tz=UTC), "sub": sub,
            "facility_id": gate.facility_id, "gate_id": gate.id, "reason": given}


def remember_and_log(session: Session, gate, reason: str, claims: dict, sub: str | None,
                     now_s: float, timeouts: tuple[int, int] | None = None):
    """Steps 2-3 of a gate check, committed together in the session's transaction: a token
    that would pass uses up its ``jti`` (``used_token_stmt``; "expired" instead when the
    database's clock says so), then one statement reads the card's status and logs the
    decision. ``timeouts``: (statement_timeout, lock_timeout) in milliseconds for these
    statements on PostgreSQL (``statement_timeouts``). Returns the log row (decision, reason,
    card_status); ``VerifyUnavailable`` when the database cannot be reached or a timeout
    cancelled a statement (nothing is written then)."""
    try:
        conn = session.connection()
        if timeouts is not None:
            statement_timeouts(conn, *timeouts)
        given = reason
        if reason == "ok":
            params = used_token_params(claims)
            fresh = conn.execute(used_token_stmt(conn.dialect.name), params).first()
            if fresh is None:
                live = conn.execute(live_stmt(conn.dialect.name), params).scalar()
                given = "replayed" if live else "expired"
        row = conn.execute(log_decision_stmt(status_decides(given)),
                           log_params(gate, sub, given, now_s)).one()
        session.commit()
    except OperationalError as exc:  # unreachable, or statement_timeout / lock_timeout
        session.rollback()
        raise VerifyUnavailable() from exc
    return row


# -- a batch of checks (PostgreSQL) ----------------------------------------------------------


def log_decisions_stmt():
    """PostgreSQL: many gate checks decided and logged in one statement and one commit (the
    fast path's group commit). Row for row what ``remember_and_log`` does for one check:

    1. each check that would pass (given "ok") is "expired" if its ``exp`` plus the leeway is
       past by the database's clock; else it uses up its ``jti``: ``INSERT INTO
       eid_used_token ... ON CONFLICT DO NOTHING``; of several checks of one token id in the
       batch only the first is inserted, and it is "ok" only if no earlier commit had it;
       the others are "replayed";
    2. the card's status is read and the decision logged with the same rules
       (``rules.decision_columns``).

    One parameter, ``checks``: a JSON array from ``batch_checks``. Returns (ord,
    decision, reason, card_status) per check."""
    stmt = _stmts.get("batch")
    if stmt is not None:
        return stmt
    card = Card.__table__
    log = AccessEntry.__table__
    used_table = UsedToken.__table__
    v = func.json_to_recordset(bindparam("checks", type_=JSON())).table_valued(
        db_column("ord", Integer()), db_column("at", UTCDateTime()), db_column("sub", String()),
        db_column("facility_id", Integer()), db_column("gate_id", Integer()),
        db_column("given", String()), db_column("jti", String()), db_column("exp", UTCDateTime()),
    ).render_derived(name="v", with_types=True)
    # past exp + leeway by the database's clock: expired, whatever the gate host's clock said
    past = v.c.exp + _seconds(verifier.LEEWAY) < db_clock("postgresql")
    checks = select(v.c.ord, v.c.at, v.c.sub, v.c.facility_id, v.c.gate_id,
                    case(((v.c.given == "ok") & past, "expired"), else_=v.c.given).label("given"),
                    v.c.jti, v.c.exp,
                    func.row_number().over(partition_by=v.c.jti, order_by=v.c.ord).label("nth")
                    ).cte("checks")
    used = (insert_ignoring("postgresql", used_table, index_elements=["jti"])
            .from_select(["jti", "expires_at"], select(checks.c.jti, checks.c.exp)
                         .where(checks.c.given == "ok", checks.c.nth == 1)
                         # every batch takes the ids in one order: two batches racing on
                         # the same tokens wait for each other, never deadlock
                         .order_by(checks.c.jti))
            .returning(used_table.c.jti).cte("used"))
    fresh = exists().where(used.c.jti == checks.c.jti)
    # a token that would pass: "ok" if this check used up its id, else "replayed"
    given = case((checks.c.given != "ok", checks.c.given),
                 ((checks.c.nth == 1) & fresh, "ok"), else_="replayed")
    replay_checked = select(checks.c.ord, checks.c.at, checks.c.sub, checks.c.facility_id,
                            checks.c.gate_id, given.label("given")).cte("replay_checked")
    g = replay_checked.c
    decides = g.given.in_([literal(r) for r in STATUS_DECIDES])  # not an expanding IN
    card_status, reason, decision = decision_columns(card, g.at, g.given, decides)
    decided = (select(g.ord, g.at, card.c.id.label("card_id"), g.facility_id, g.gate_id,
                      decision.label("decision"), reason.label("reason"),
                      card_status.label("card_status"))
               .select_from(replay_checked.outerjoin(card, card.c.public_id == g.sub))
               .cte("decided"))
    written = insert(log).from_select(
        _LOG_COLUMNS,
        select(decided.c.at, decided.c.card_id, decided.c.facility_id, decided.c.gate_id,
               decided.c.decision, decided.c.reason, decided.c.card_status)
        .order_by(decided.c.ord)).cte("written")
    stmt = (select(decided.c.ord, decided.c.decision, decided.c.reason, decided.c.card_status)
            .add_cte(written))
    return _stmts.setdefault("batch", stmt)


def batch_check(gate, reason: str, claims: dict, sub: str | None, now_s: float) -> dict:
    """One check for ``log_decisions_stmt``: JSON-ready (ISO 8601 times); ``batch_checks``
    numbers it in its batch."""
    ok = reason == "ok"
    return {"at": datetime.fromtimestamp(now_s, tz=UTC).isoformat(), "sub": sub,
            "facility_id": gate.facility_id, "gate_id": gate.id, "given": reason,
            "jti": claims["jti"] if ok else None,
            "exp": token_exp(claims).isoformat() if ok else None}


def batch_checks(checks: list[dict]) -> list[dict]:
    """``log_decisions_stmt``'s ``checks``: each ``batch_check`` with its place in the batch
    (``ord``), by which the statement orders the log rows and answers."""
    return [{**check, "ord": i} for i, check in enumerate(checks)]


# -- upkeep --------------------------------------------------------------------------------


def purge_used_tokens(session: Session) -> int:
    """Forget the ids of tokens past ``exp`` plus the leeway plus ``USED_TOKEN_MARGIN`` by the
    database's clock, never the host's (the beat task, each minute): a token that old is
    refused as expired by every check (see the module's docstring)."""
    keep = verifier.LEEWAY + USED_TOKEN_MARGIN
    if session.get_bind().dialect.name == "postgresql":
        horizon = func.now() - _seconds(keep)
    else:
        horizon = func.strftime("%Y-%m-%d %H:%M:%f", "now", f"-{keep} seconds")
    n = session.execute(delete(UsedToken).where(UsedToken.expires_at < horizon)).rowcount
    session.commit()
    return n
