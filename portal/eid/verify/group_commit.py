"""How the fast path writes its checks: on PostgreSQL many to a commit, elsewhere one each.

``backend_for(engine)`` gives a callable ``(gate, reason, claims, sub, now_s) -> (decision,
reason, card_status)`` that returns once the check's row is committed:

- ``PostgresBackend``: the checks of concurrent requests are decided and logged together
  (``GroupCommit``) by ``store.log_decisions_stmt``, one statement and one durable commit for
  every check waiting, on one plain psycopg connection per process (autocommit; the statement
  is prepared once);
- ``SqlAlchemyBackend``: any other database, the view's own ``store.remember_and_log``.
"""

from __future__ import annotations

import json
import logging
import os
import threading

from portal.eid.errors import VerifyUnavailable
from portal.eid.verify import store

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5  # seconds; a gate waiting longer is better told to try again


def backend_for(engine):
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        return PostgresBackend(engine)
    return SqlAlchemyBackend(engine)


class SqlAlchemyBackend:
    """Any database: the view's own code (``store.remember_and_log``), one commit each."""

    def __init__(self, engine):
        self.engine = engine

    def __call__(self, gate, reason, claims, sub, now_s):
        from sqlalchemy.orm import Session

        with Session(self.engine) as session:
            row = store.remember_and_log(session, gate, reason, claims, sub, now_s)
        return row.decision, row.reason, row.card_status


class PostgresBackend:
    """PostgreSQL: every check waiting decided and logged by one statement, one commit."""

    def __init__(self, engine):
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        compiled = store.log_decisions_stmt().compile(dialect=engine.dialect)
        self.sql = compiled.string
        self.base = compiled.construct_params({"checks": None})
        self.writer = GroupCommit(self._commit)
        self.commits = 0  # statements committed, and the checks they carried (tests read them)
        self.rows = 0
        self._conn = None
        self._pid = None

    def __call__(self, gate, reason, claims, sub, now_s):
        return self.writer.write(store.batch_check(gate, reason, claims, sub, now_s))

    def _commit(self, batch: list[Check]) -> None:
        """Decide and log every check of ``batch`` (called by one leader at a time)."""
        if len(batch) > 1:
            try:
                rows = self._execute([check.params for check in batch])
            except Exception as exc:
                if not _rejected_by_server(exc):
                    raise  # committed or not, nobody knows (a lost connection): no retry
                # PostgreSQL refused the statement, so nothing of it was written: one by one
                # below, so that only a bad check fails its request.
                log.warning("e-ID access log batch of %d failed; writing checks one by one",
                            len(batch), exc_info=True)
            else:
                for check, row in zip(batch, rows, strict=True):
                    check.row = row
                return
        for check in batch:
            try:
                check.row = self._execute([check.params])[0]
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                # A transaction PostgreSQL rolled back to resolve a conflict (a deadlock or a
                # serialisation failure) wrote nothing: the gate may simply try again.
                retry = getattr(exc, "sqlstate", None) or ""
                check.error = VerifyUnavailable() if retry.startswith("40") else exc

    def _execute(self, checks: list[dict]) -> list[tuple]:
        import psycopg

        conn = self._connection()
        try:
            result = conn.execute(self.sql, {**self.base, "checks": json.dumps(
                store.batch_checks(checks))}).fetchall()
        except BaseException as exc:
            if conn.broken or conn.closed:
                self._close()
            if isinstance(exc, psycopg.Error) and not _rejected_by_server(exc):
                raise VerifyUnavailable() from exc  # the server went away
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

        if self._pid != os.getpid():  # forked: the parent's connection is not ours
            self._conn, self._pid = None, os.getpid()
        if self._conn is None or self._conn.closed or self._conn.broken:
            try:
                self._conn = psycopg.connect(self.conninfo, autocommit=True,
                                             connect_timeout=CONNECT_TIMEOUT, prepare_threshold=0)
            except psycopg.OperationalError as exc:
                raise VerifyUnavailable() from exc
        return self._conn

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _rejected_by_server(exc: BaseException) -> bool:
    """An error PostgreSQL answered for a statement (its transaction rolled back), as opposed
    to a lost connection, after which a commit may or may not have happened."""
    sqlstate = getattr(exc, "sqlstate", None)
    return bool(sqlstate) and not sqlstate.startswith(("08", "57P", "58"))


# -- the group commit itself -----------------------------------------------------------------


class Check:
    __slots__ = ("params", "event", "lead", "row", "error")

    def __init__(self, params):
        self.params = params
        self.event = threading.Event()
        self.lead = False  # this request commits the next batch
        self.row = None
        self.error = None


class GroupCommit:
    """Group commit, per process, without a thread of its own (leader and followers).

    A request queues its check. If no commit is under way it leads: it takes every check
    queued at that moment (up to ``MAX_BATCH``, its own first), commits them with one
    statement, then wakes each of their requests with its own row, and hands the lead to the
    first check that queued meanwhile. Otherwise it waits to be woken, answered or made the
    leader. No request is answered before the commit that holds its row; at low load a
    request commits its own check at once, and under load a commit carries every check that
    arrived while the previous one was being written."""

    MAX_BATCH = 256

    def __init__(self, commit):
        self._commit = commit  # commit(list[Check]): sets .row or .error on each
        self._lock = threading.Lock()
        self._queue: list[Check] = []
        self._leading = False

    def write(self, params: dict):
        check = Check(params)
        with self._lock:
            self._queue.append(check)
            check.lead = not self._leading
            self._leading = True
        if not check.lead:
            check.event.wait()  # answered, or made the leader
        if check.lead:
            self._lead()
        if check.error is not None:
            raise check.error
        return check.row

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[:self.MAX_BATCH]
            del self._queue[:self.MAX_BATCH]
        try:
            self._commit(batch)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting requests
            for check in batch:
                if check.row is None and check.error is None:
                    check.error = exc
        finally:
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
