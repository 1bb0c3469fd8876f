"""How the fast path writes its checks: on PostgreSQL many to a commit, elsewhere one each.

``backend_for(engine, timeouts)`` gives a callable ``(gate, reason, claims, sub, now_s) ->
(decision, reason, card_status)`` that returns once the check's row is committed:

- ``PostgresBackend``: the checks of concurrent requests are decided and logged together
  (``GroupCommit``) by ``store.log_decisions_stmt``, one statement and one durable commit for
  every check waiting, on one plain psycopg connection per process (autocommit; the statement
  is prepared once);
- ``SqlAlchemyBackend``: any other database, the view's own ``store.remember_and_log``.

Nothing waits without a bound, and a request cancelled anywhere (its gate hung up, see
``wsgi``, or gevent killed its greenlet) leaves the process as it found it:

- a check waits at most ``Timeouts.wait`` seconds to be taken into a statement, and as long
  again for that statement; then its gate is told to try again (503 ``verify_unavailable``);
- the connection has ``statement_timeout`` and ``lock_timeout``: the server cancels a
  statement stuck behind a lock or a slow disk (under gevent a client-side deadline also
  covers a server that stopped answering; TCP keepalives and ``tcp_user_timeout`` a dead one);
- a statement interrupted on our side (a cancelled leader, the deadline) is cancelled on the
  server and its connection closed; a connection found broken or not idle is replaced;
- the lead passes on whoever is cancelled (``GroupCommit``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from portal.eid import settings
from portal.eid.errors import VerifyUnavailable
from portal.eid.verify import store

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3  # seconds; a gate waiting longer is better told to try again


@dataclass(frozen=True)
class Timeouts:
    """How long a gate check may take (the ``EID_VERIFY_*`` settings)."""

    wait: float = settings.VERIFY_WAIT_SECONDS.default  # seconds
    statement_ms: int = settings.VERIFY_STATEMENT_TIMEOUT_MS.default
    lock_ms: int = settings.VERIFY_LOCK_TIMEOUT_MS.default

    @classmethod
    def from_config(cls, config) -> Timeouts:
        return cls(settings.VERIFY_WAIT_SECONDS.get(config),
                   settings.VERIFY_STATEMENT_TIMEOUT_MS.get(config),
                   settings.VERIFY_LOCK_TIMEOUT_MS.get(config))


def backend_for(engine, timeouts: Timeouts | None = None):
    timeouts = timeouts or Timeouts()
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        return PostgresBackend(engine, timeouts)
    return SqlAlchemyBackend(engine, timeouts)


class SqlAlchemyBackend:
    """Any database: the view's own code (``store.remember_and_log``), one commit each."""

    def __init__(self, engine, timeouts: Timeouts):
        self.engine = engine
        self.timeouts = timeouts

    def __call__(self, gate, reason, claims, sub, now_s):
        from sqlalchemy.orm import Session

        with Session(self.engine) as session:
            row = store.remember_and_log(session, gate, reason, claims, sub, now_s, timeouts=(
                self.timeouts.statement_ms, self.timeouts.lock_ms))
        return row.decision, row.reason, row.card_status


class PostgresBackend:
    """PostgreSQL: every check waiting decided and logged by one statement, one commit."""

    def __init__(self, engine, timeouts: Timeouts):
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        self.timeouts = timeouts
        compiled = store.log_decisions_stmt().compile(dialect=engine.dialect)
        self.sql = compiled.string
        self.base = compiled.construct_params({"checks": None})
        self.writer = GroupCommit(self._commit, timeouts.wait)
        self.commits = 0  # statements committed, and the checks they carried (tests read them)
        self.rows = 0
        self._conn = None
        self._pid = None

    def __call__(self, gate, reason, claims, sub, now_s):
        return self.writer.write(store.batch_check(gate, reason, claims, sub, now_s))

    def _commit(self, batch: list[Check], deadline: float | None = None) -> None:
        """Decide and log every check of ``batch`` (called by one leader at a time); a check
        still unwritten at ``deadline`` (``time.monotonic()``) is told to try again."""
        if len(batch) > 1:
            try:
                rows = self._execute([check.params for check in batch])
            except Exception as exc:
                if _try_again(exc) and not _one_by_one(exc):  # a statement timeout, a shortage
                    raise VerifyUnavailable() from exc
                if not _one_by_one(exc):
                    raise  # a lost connection (VerifyUnavailable), or a bug
                # PostgreSQL refused the statement, so nothing of it was written: one by one
                # below, so that only a bad check (or the one behind a lock) fails its request.
                log.warning("e-ID access log batch of %d failed (%s); writing checks one by one",
                            len(batch), getattr(exc, "sqlstate", None))
            else:
                for check, row in zip(batch, rows, strict=True):
                    check.row = row
                return
        for check in batch:
            if check is not batch[0] and deadline is not None and time.monotonic() > deadline:
                check.error = VerifyUnavailable()
                continue
            try:
                check.row = self._execute([check.params])[0]
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                check.error = VerifyUnavailable() if _try_again(exc) else exc

    def _execute(self, checks: list[dict]) -> list[tuple]:
        import psycopg

        conn = self._connection()
        try:
            with _deadline(self.timeouts.statement_ms / 1000 + 1):
                result = conn.execute(self.sql, {**self.base, "checks": json.dumps(
                    store.batch_checks(checks))}).fetchall()
        except BaseException as exc:
            if not _rejected_by_server(exc):
                # cancelled mid-statement, past the deadline, or the connection is gone: the
                # statement may still run on the server, and the connection is mid-query
                self._discard(conn)
                if isinstance(exc, psycopg.Error):
                    raise VerifyUnavailable() from exc  # committed or not, nobody knows
            raise
        self.commits += 1
        self.rows += len(checks)
        rows: list = [None] * len(checks)
        for ord_, *row in result:
            rows[ord_] = tuple(row)
        if any(row is None for row in rows):
            raise RuntimeError("the e-ID access log statement returned too few rows")
        return rows

    def _connection(self):
        import psycopg
        from psycopg import pq

        if self._pid != os.getpid():  # forked: the parent's connection is not ours
            self._conn, self._pid = None, os.getpid()
        conn = self._conn
        if conn is not None and (conn.closed or conn.broken
                                 or conn.pgconn.transaction_status != pq.TransactionStatus.IDLE):
            self._discard(conn)  # broken, or left mid-query or mid-transaction
            conn = None
        if conn is None:
            try:
                with _deadline(CONNECT_TIMEOUT + 1):
                    conn = psycopg.connect(
                        self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                        prepare_threshold=0, keepalives=1, keepalives_idle=5,
                        keepalives_interval=2, keepalives_count=2,
                        tcp_user_timeout=int(self.timeouts.wait * 1000))
                    conn.execute("SELECT set_config('statement_timeout', %s, false), "
                                 "set_config('lock_timeout', %s, false)",
                                 (str(self.timeouts.statement_ms), str(self.timeouts.lock_ms)))
            except BaseException as exc:
                if conn is not None:
                    conn.close()
                if isinstance(exc, psycopg.Error):
                    raise VerifyUnavailable() from exc
                raise
            self._conn = conn
        return conn

    def _discard(self, conn) -> None:
        """Close ``conn``, first asking the server to cancel a statement still running on it
        (else it would run on, and commit, after its requests were told to try again)."""
        from psycopg import pq

        if self._conn is conn:
            self._conn = None
        try:
            if not conn.closed and conn.pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
                conn.cancel_safe(timeout=1.0)
        except Exception:  # noqa: BLE001 - closed below all the same
            log.warning("could not cancel the e-ID access log statement", exc_info=True)
        finally:
            conn.close()


def _rejected_by_server(exc: BaseException) -> bool:
    """An error PostgreSQL answered for a statement (its transaction rolled back), as opposed
    to a lost connection, after which a commit may or may not have happened."""
    sqlstate = getattr(exc, "sqlstate", None)
    return bool(sqlstate) and not sqlstate.startswith(("08", "57P", "58"))


def _try_again(exc: BaseException) -> bool:
    """Refused by the server for a reason of the moment, not of the check: a conflict rolled
    back (40), a lock or statement timeout (55P03, 57014), no resources (53). Nothing was
    written; the gate may simply try again."""
    sqlstate = getattr(exc, "sqlstate", None) or ""
    return sqlstate.startswith(("40", "53")) or sqlstate in ("55P03", "57014")


def _one_by_one(exc: BaseException) -> bool:
    """Whether a batch the server refused is worth writing check by check: not after a
    statement timeout or a shortage (each check would wait as long again)."""
    sqlstate = getattr(exc, "sqlstate", None) or ""
    return _rejected_by_server(exc) and sqlstate != "57014" and not sqlstate.startswith("53")


@contextmanager
def _deadline(seconds: float):
    """Under gevent, ``VerifyUnavailable`` if the block takes longer than ``seconds``: the
    greenlet is interrupted wherever it waits (a server that stopped answering). Threads
    cannot be interrupted: there the server's timeouts and TCP's bound the wait."""
    if not on_gevent():
        yield
        return
    import gevent

    timer = gevent.Timeout(seconds)
    timer.start()
    try:
        yield
    except gevent.Timeout as exc:
        if exc is not timer:
            raise
        raise VerifyUnavailable() from None
    finally:
        timer.close()


def on_gevent() -> bool:
    """Whether this process runs on gevent (gunicorn's gevent worker patches threading)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


# -- the group commit itself -----------------------------------------------------------------


class Check:
    __slots__ = ("params", "event", "lead", "taken", "row", "error")

    def __init__(self, params):
        self.params = params
        self.event = threading.Event()  # set when answered or made the leader
        self.lead = False  # this request commits the next batch
        self.taken = False  # in a batch (no longer queued): its leader answers it
        self.row = None
        self.error = None

    @property
    def answered(self) -> bool:
        return self.row is not None or self.error is not None


class GroupCommit:
    """Group commit, per process, without a thread of its own (leader and followers).

    A request queues its check. If no commit is under way it leads: it takes every check
    queued at that moment (up to ``MAX_BATCH``, its own first), commits them with one
    statement, then wakes each of their requests with its own row, and hands the lead to the
    first check that queued meanwhile. Otherwise it waits to be woken, answered or made the
    leader. No request is answered before the commit that holds its row; at low load a
    request commits its own check at once, and under load a commit carries every check that
    arrived while the previous one was being written.

    No wait is unbounded and no request takes the process with it:

    - a follower waits ``wait`` seconds to be taken into a batch; then its check leaves the
      queue (nothing of it is written) and its gate is told to try again (503); a check taken
      into a batch under way waits ``wait`` seconds more for that batch, then 503 as well;
    - a request that gives up its check for any reason (``BaseException``: a gevent kill, its
      gate hanging up, the wait above) takes it out of the queue, and if it had just been
      made the leader it passes the lead on (``_leave``): a dead check never holds it;
    - a leader interrupted mid-statement still answers its batch (503 for every check left
      without a row) and passes the lead on (``_lead``'s ``finally``)."""

    MAX_BATCH = 256

    def __init__(self, commit, wait: float):
        self._commit = commit  # commit(list[Check], deadline): sets .row or .error on each
        self.wait = wait
        self._lock = threading.Lock()
        self._queue: list[Check] = []
        self._leading = False

    def write(self, params: dict):
        check = Check(params)
        try:
            with self._lock:
                self._queue.append(check)
                if not self._leading:
                    self._leading = check.lead = True
            if not check.lead:
                self._follow(check)
            if check.lead:
                self._lead()
        except BaseException:
            self._leave(check)
            raise
        if check.error is not None:
            raise check.error
        return check.row

    def _follow(self, check: Check) -> None:
        """Wait until ``check`` is answered or made the leader, within the bounds above."""
        check.event.wait(self.wait)
        with self._lock:
            if check.lead or check.answered:
                return
            if not check.taken:
                raise VerifyUnavailable()  # still queued: ``_leave`` takes it out
        check.event.wait(self.wait)  # its batch is being written (under statement_timeout)
        if not check.answered:
            raise VerifyUnavailable()  # written or not, nobody knows yet

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[:self.MAX_BATCH]
            del self._queue[:self.MAX_BATCH]
            for check in batch:
                check.taken = True
        try:
            self._commit(batch, time.monotonic() + self.wait)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
            for check in batch:
                if not check.answered:
                    check.error = exc
        finally:
            # Also when this request was cancelled mid-statement (GreenletExit, its gate hung
            # up): the batch is answered and the lead passes on before the exception goes up.
            for check in batch:
                if not check.answered:
                    check.error = VerifyUnavailable()
            with self._lock:
                successor = self._queue[0] if self._queue else None
                if successor is None:
                    self._leading = False
                else:
                    successor.lead = True
            for check in batch:
                check.event.set()
            if successor is not None:
                successor.event.set()

    def _leave(self, check: Check) -> None:
        """``check``'s request gives it up. Still queued: it leaves the queue, and if it had
        been made the leader without leading yet, the lead passes to the next check queued
        (or nobody leads). Taken into a batch: its leader answers it, to nobody."""
        successor = None
        with self._lock:
            if check.taken:
                return
            if check in self._queue:
                self._queue.remove(check)
            if check.lead:
                check.lead = False
                successor = self._queue[0] if self._queue else None
                if successor is None:
                    self._leading = False
                else:
                    successor.lead = True
        if successor is not None:
            successor.event.set()
