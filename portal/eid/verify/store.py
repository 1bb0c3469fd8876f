"""What a gate check writes: its token id used up, its decision logged, in one commit.

Two forms of the same rules (``rules.decision_columns``):

- a single check (``remember_and_log``: the Flask view, and the fast path on databases other
  than PostgreSQL): ``used_token_stmt``, then ``log_decision_stmt``, one commit;
- a batch of checks (``log_decisions_stmt``: the fast path's group commit on PostgreSQL,
  ``group_commit``): one statement and one commit for every check waiting.

Either way a token id is used up if and only if its decision is logged, and the gate is
answered only after that commit. Statements are built once per shape, so SQLAlchemy's
compiled cache serves every call.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Integer, String, bindparam, case, delete, exists, func, insert, literal, select
from sqlalchemy import column as db_column
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from portal.db import insert_ignoring
from portal.eid import verifier
from portal.eid.errors import VerifyUnavailable
from portal.eid.models import AccessEntry, Card, UsedToken
from portal.eid.verify.rules import STATUS_DECIDES, decision_columns, status_decides
from portal.types import UTCDateTime, utcnow

_stmts: dict = {}
_LOG_COLUMNS = ["at", "card_id", "facility_id", "gate_id", "decision", "reason", "card_status"]


def used_until(claims: dict, now_s: float) -> datetime:
    """Until when a token id is remembered: until the token could not pass any more."""
    return datetime.fromtimestamp(now_s + verifier.replay_ttl(claims, now_s), tz=UTC)


# -- one check -----------------------------------------------------------------------------


def used_token_stmt(dialect_name: str):
    """``INSERT INTO eid_used_token ... ON CONFLICT (jti) DO NOTHING RETURNING jti``, built
    once per dialect; parameters from ``used_token_params``. A row back means the token id
    was new; none means another check already used it (or is using it: PostgreSQL makes the
    second insert wait for the first one's commit, then skips it). The table's primary key
    decides which of two racing gates gets a token."""
    key = ("used", dialect_name)
    stmt = _stmts.get(key)
    if stmt is None:
        table = UsedToken.__table__
        stmt = (insert_ignoring(dialect_name, table, index_elements=["jti"])
                .values(jti=bindparam("used_jti", type_=String()),
                        expires_at=bindparam("used_until", type_=UTCDateTime()))
                .returning(table.c.jti))
        stmt = _stmts.setdefault(key, stmt)
    return stmt


def used_token_params(jti: str, until: datetime) -> dict:
    return {"used_jti": jti, "used_until": until}


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
                     now_s: float):
    """Steps 2-3 of a gate check, committed together in the session's transaction: a token
    that would pass uses up its ``jti`` (``used_token_stmt``), then one statement reads the
    card's status and logs the decision. Returns the log row (decision, reason,
    card_status); ``VerifyUnavailable`` when the database cannot be reached."""
    try:
        conn = session.connection()
        given = reason
        if reason == "ok":
            fresh = conn.execute(used_token_stmt(conn.dialect.name), used_token_params(
                claims["jti"], used_until(claims, now_s))).first()
            given = "ok" if fresh is not None else "replayed"
        row = conn.execute(log_decision_stmt(status_decides(given)),
                           log_params(gate, sub, given, now_s)).one()
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise VerifyUnavailable() from exc
    return row


# -- a batch of checks (PostgreSQL) ----------------------------------------------------------


def log_decisions_stmt():
    """PostgreSQL: many gate checks decided and logged in one statement and one commit (the
    fast path's group commit). Row for row what ``remember_and_log`` does for one check:

    1. each check that would pass (given "ok") uses up its ``jti``: ``INSERT INTO
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
        db_column("given", String()), db_column("jti", String()), db_column("until", UTCDateTime()),
    ).render_derived(name="v", with_types=True)
    checks = select(v, func.row_number().over(partition_by=v.c.jti, order_by=v.c.ord)
                    .label("nth")).cte("checks")
    used = (insert_ignoring("postgresql", used_table, index_elements=["jti"])
            .from_select(["jti", "expires_at"], select(checks.c.jti, checks.c.until)
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
            "until": used_until(claims, now_s).isoformat() if ok else None}


def batch_checks(checks: list[dict]) -> list[dict]:
    """``log_decisions_stmt``'s ``checks``: each ``batch_check`` with its place in the batch
    (``ord``), by which the statement orders the log rows and answers."""
    return [{**check, "ord": i} for i, check in enumerate(checks)]


# -- upkeep --------------------------------------------------------------------------------


def purge_used_tokens(session: Session, now: datetime | None = None) -> int:
    """Forget token ids past the time their token could pass (the beat task, each minute)."""
    n = session.execute(delete(UsedToken).where(UsedToken.expires_at < (now or utcnow()))).rowcount
    session.commit()
    return n
