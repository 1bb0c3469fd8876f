"""Statements every service shares, written once for both databases the portal runs on.

- ``insert_ignoring(bind, table)``: the dialect's ``INSERT ... ON CONFLICT DO NOTHING``
  (PostgreSQL and SQLite), to which callers add ``.values``, ``.from_select`` or ``.returning``.
  "Insert unless it is there" is how the house writes a row that must exist once (an
  endorsement, a notice, a used token id): the database decides, never a read before the write.
- ``insert_ignore(session, model, values | select_from=...)``: run it; returns rows inserted.

Transactions: a use case commits once, in its top-level service function; the steps it calls
only flush. A read never writes (HACKING.md).
"""

from __future__ import annotations

from sqlalchemy import Table, true
from sqlalchemy.orm import Session


def dialect_name(bind) -> str:
    """The dialect of a Session, Connection, Engine or Dialect (or a dialect name)."""
    if isinstance(bind, str):
        return bind
    if isinstance(bind, Session) or hasattr(bind, "get_bind"):  # a Session or a scoped_session
        bind = bind.get_bind()
    dialect = getattr(bind, "dialect", bind)
    return dialect.name


def insert(bind, table):
    """The dialect's own INSERT for `table` (a model or a Table), for ON CONFLICT clauses."""
    name = dialect_name(bind)
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - the portal runs on PostgreSQL or SQLite only
        raise RuntimeError(f"unsupported database {name}")
    return dialect_insert(table)


def insert_ignoring(bind, table, *, index_elements=None):
    """``INSERT INTO table ... ON CONFLICT [(index_elements)] DO NOTHING`` for the bind's dialect."""
    return insert(bind, table).on_conflict_do_nothing(index_elements=index_elements)


def _table(model) -> Table:
    return model if isinstance(model, Table) else model.__table__


def insert_ignore(session: Session, model, values: dict | None = None, *, select_from=None,
                  columns=None, index_elements=None) -> int:
    """Insert one row (`values`) or the rows of a SELECT (`select_from` into `columns`),
    skipping any that conflict with a unique constraint. Returns how many rows went in."""
    table = _table(model)
    if select_from is None:
        # One row: the statement is built once per dialect, table and columns (building it
        # cost more than running it), the values are the execution's parameters.
        bind = session.get_bind()
        key = (dialect_name(bind), table, tuple(index_elements or ()), tuple(values))
        stmt = _one_row.get(key)
        if stmt is None:
            pk = table.primary_key.columns.values()[0]
            stmt = _one_row[key] = insert_ignoring(bind, table, index_elements=index_elements).returning(pk)
        # RETURNING tells for sure whether the row went in (rowcount is not reliable with it).
        return len(session.execute(stmt, values).all())
    stmt = insert_ignoring(session.get_bind(), table, index_elements=index_elements)
    if select_from is not None:
        if select_from.whereclause is None:
            # SQLite cannot parse INSERT ... SELECT ... ON CONFLICT without a WHERE.
            select_from = select_from.where(true())
        stmt = stmt.from_select(columns, select_from).execution_options(preserve_rowcount=True)
    return session.execute(stmt).rowcount


_one_row: dict[tuple, object] = {}


def commit_keeping_loaded(session) -> None:
    """Commit without expiring the objects the session holds, for a use case that answers from
    what it already has: the columns its UPDATE changed come back by RETURNING and are set with
    ``set_committed_value``, so the answer needs no SELECT after the commit (a plain commit
    expires everything and the answer loads each object again). Only for objects whose every
    change the caller accounts for."""
    target = session.registry() if hasattr(session, "registry") else session  # a scoped_session
    target.expire_on_commit = False
    try:
        target.commit()
    finally:
        target.expire_on_commit = True


# -- connections ---------------------------------------------------------------------------

PING_AFTER_IDLE_SECONDS = 1.0


def ping_after_idle(engine, idle_seconds: float | None = None) -> None:
    """Test a pooled connection before use only when it has sat unused for `idle_seconds`.

    SQLAlchemy's ``pool_pre_ping`` tests it before every use: a round trip on every request,
    about a sixth of a busy write's (token, insert, update, commit). A connection in steady use
    is not tested: if the database restarted meanwhile, the first request on it fails, is
    answered 503 with Retry-After (portal.web), and SQLAlchemy then replaces every older
    connection of the pool, so each process answers at most one such 503 per restart. A
    connection idle longer (a quiet hour, a worker between bursts) is tested and, dead, replaced
    before the request uses it."""
    import time

    from sqlalchemy import event
    from sqlalchemy.exc import DisconnectionError

    dialect = engine.dialect
    idle_seconds = PING_AFTER_IDLE_SECONDS if idle_seconds is None else idle_seconds

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError() from exc  # the pool replaces it and checks out again
        if alive is False:
            raise DisconnectionError()


# -- reads without a transaction -------------------------------------------------------------

READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


def _read_request() -> bool:
    from flask import has_request_context, request

    return has_request_context() and request.method in READ_METHODS


def session_class():
    """Flask-SQLAlchemy's session, except that a read request (GET, HEAD: they never write,
    HACKING.md and tests/portal/test_get_never_writes.py) reads PostgreSQL without a
    transaction: each statement in autocommit, so a read costs one round trip per statement,
    not two more (BEGIN and ROLLBACK). Under READ COMMITTED, PostgreSQL's default and the
    portal's, every statement already reads its own snapshot, so a page reads what it read
    before. A session already in a transaction (a test's) keeps it; a streaming read asks for
    one (``begin_for_streaming``); and whatever writes anyway (a flush, an INSERT, UPDATE or
    DELETE) is written in a transaction, so a rollback still takes it back."""
    from flask_sqlalchemy.session import Session
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.sql.dml import UpdateBase

    class PortalSession(Session):
        def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
            engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
            if bind is not None or not isinstance(engine, Engine) or engine.dialect.name != "postgresql":
                return engine
            if isinstance(clause, UpdateBase):  # INSERT, UPDATE, DELETE: in a transaction, always
                self.info.pop("reading", None)
                return engine
            transaction = self.get_transaction()
            if transaction is None:
                return _reader(engine) if _read_request() else engine
            # a session's transaction that began on the reader keeps reading there (one
            # connection for the request's statements) until something writes
            return _reader(engine) if self.info.get("reading") is transaction else engine

        def begin_for_streaming(self) -> None:
            self.info.pop("reading", None)  # from now on, the database's own engine ...
            self.connection(bind_arguments={"bind": super().get_bind()})  # ... in a transaction

    @event.listens_for(PortalSession, "before_flush")
    def _writing(session, _flush_context, _instances):
        session.info.pop("reading", None)  # what is flushed is written in a transaction

    @event.listens_for(PortalSession, "after_begin")
    def _began(session, _transaction, connection):
        if getattr(connection.engine, "_portal_is_reader", False):
            session.info["reading"] = session.get_transaction()

    return PortalSession


def _reader(engine):
    """`engine` in autocommit (the same pool; SQLAlchemy sets the connection's mode at
    checkout and resets it at checkin)."""
    reader = engine.__dict__.get("_portal_reader")
    if reader is None:
        reader = engine.__dict__["_portal_reader"] = engine.execution_options(isolation_level="AUTOCOMMIT")
        reader._portal_is_reader = True
    return reader


def begin_for_streaming(session) -> None:
    """PostgreSQL declares a server-side cursor (``yield_per``) only inside a transaction: a
    read request that streams its rows begins one first (``session_class``)."""
    from sqlalchemy.orm import scoped_session

    if isinstance(session, scoped_session):
        session = session()  # db.session: the proxy passes on only Session's own methods
    begin = getattr(session, "begin_for_streaming", None)
    if begin is not None:
        begin()
