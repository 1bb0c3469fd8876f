"""The gate verify call, served in front of Flask.

``POST /api/v1/eid/verify`` is the one hot path of the e-ID service: every turnstile calls it
for every person. Through Flask it costs ~2 ms of Python per call (the shell's request hooks,
the session, SQLAlchemy); the work itself is a signature check, one Redis ``SET NX`` and one
``INSERT``. ``VerifyFastPath`` wraps ``app.wsgi_app`` (installed by ``portal.eid.init_app``)
and answers that one path itself when it can answer exactly as the Flask view would:

- the gate key is in the per-process gate cache (``service._gate_cache``, filled by the Flask
  view), the public keys are fresh in ``keys._cache`` and hold the token's ``kid``;
- the body is a small JSON object with a JSON content type; no cookie is sent (a session could
  choose the language).

Anything else (a wrong, missing or not yet cached gate key, an unknown ``kid``, a stale key
cache, bad JSON, a big body, a cookie) falls through to Flask, which answers and fills the
caches: 401s, 413s and 422s are Flask's own. The decision is ``service.check_token`` and
``service.remember_and_log`` (the same functions and the same rules as the view); on PostgreSQL
the statements run on a small per-process pool of autocommit psycopg connections, every commit
durable, and the access-log rows of concurrent requests are group-committed (``_GroupCommit``:
one ``INSERT`` and one commit for every row waiting, ``service.log_decisions_stmt``; each
request is answered only after the commit that holds its row). Set ``EID_VERIFY_FAST_PATH`` to
0 to switch it off.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from io import BytesIO

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_options_header

from portal.eid import keys, service, verifier
from portal.i18n import LOCALES, normalise

log = logging.getLogger(__name__)

PATH = "/api/v1/eid/verify"
MAX_BODY = 8 * 1024  # a real body is ~450 bytes; bigger ones go to Flask (413 over 1 MiB)
POOL_SIZE = 10  # PostgreSQL connections per process at most


class _FallThrough(Exception):
    """Flask answers this request."""


class _PgPool:
    """A few autocommit psycopg connections per process (fork-safe: a child opens its own)."""

    def __init__(self, conninfo: str, size: int = POOL_SIZE):
        self.conninfo = conninfo
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list = []
        self._pid = os.getpid()

    @contextmanager
    def connection(self):
        import psycopg

        if not self._slots.acquire(timeout=30):
            raise TimeoutError("no free e-ID database connection")
        try:
            conn = None
            with self._lock:
                if self._pid != os.getpid():  # forked: the parent's connections are not ours
                    self._idle, self._pid = [], os.getpid()
                while self._idle and conn is None:
                    conn = self._idle.pop()
                    if conn.closed or conn.broken:
                        conn = None
            if conn is None:
                conn = psycopg.connect(self.conninfo, autocommit=True)
            try:
                yield conn
            except BaseException:
                conn.close()  # unknown state: never reuse it
                raise
            with self._lock:
                self._idle.append(conn)
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class VerifyFastPath:
    """WSGI middleware: ``app.wsgi_app = VerifyFastPath(app, app.wsgi_app)``."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.served = 0  # requests answered here (tests and benches read it)
        self._lock = threading.Lock()
        self._served_lock = threading.Lock()
        self._backend = None
        self._texts: dict[str, dict[str, str]] = {}
        self._accept: dict[str, str] = {}

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        if not _enabled(self.app.config.get("EID_VERIFY_FAST_PATH", True)):
            return self.wsgi_app(environ, start_response)
        try:
            status, body, lang, cache = self._answer(environ)
        except _FallThrough:
            return self.wsgi_app(environ, start_response)
        with self._served_lock:
            self.served += 1
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
            ("X-Frame-Options", "DENY"),
            ("Content-Language", lang),
            ("Vary", "Cookie"),
        ]
        if cache:
            headers.insert(2, ("Cache-Control", "no-store"))
        start_response(status, headers)
        return [body]

    # -- the request -----------------------------------------------------------------------

    def _answer(self, environ) -> tuple[str, bytes, str, bool]:
        if environ.get("HTTP_COOKIE"):
            raise _FallThrough
        header = environ.get("HTTP_AUTHORIZATION", "")
        if header[:7].lower() != "bearer ":
            raise _FallThrough
        gate = service._gate_cache.get(service.hash_gate_key(header[7:].strip()),
                                       time.monotonic())
        if gate is None:
            raise _FallThrough
        token = self._token(environ)
        public = keys.fresh_public_keys()
        if public is None:
            raise _FallThrough
        kid = service.token_kid(token)
        if kid is not None and kid not in public:
            raise _FallThrough
        lang = self._lang(environ)
        texts = self._messages(lang)
        config = self.app.config
        now_s = time.time()
        reason, claims, sub = service.check_token(
            gate, token, public, config.get("EID_ISSUER") or service.DEFAULT_ISSUER, now_s)
        try:
            decision, reason, card_status = self._remember_and_log(
                gate, reason, claims, sub, now_s, config.get("REDIS_URL"))
        except service.ReplayStoreUnavailable as exc:
            return "503 SERVICE UNAVAILABLE", self._error(exc.code, texts[exc.code]), lang, False
        except Exception:
            log.exception("e-ID verify failed at gate %s", gate.id)
            if self.app.testing:
                raise
            return ("500 INTERNAL SERVER ERROR", self._error("internal_error", texts["internal_error"]),
                    lang, False)
        answer = service.gate_answer(gate, claims, decision, reason, card_status, texts[reason])
        return "200 OK", self._json(answer), lang, True

    def _token(self, environ):
        """The body's ``token``, if the body is small JSON object; else Flask decides."""
        mimetype = parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower()
        if not (mimetype == "application/json"
                or (mimetype.startswith("application/") and mimetype.endswith("+json"))):
            raise _FallThrough
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            raise _FallThrough from None
        limit = self.app.config.get("MAX_CONTENT_LENGTH")  # Flask's 413 when it is lower
        if (not 0 < length <= MAX_BODY or (limit is not None and length > limit)
                or environ.get("HTTP_TRANSFER_ENCODING")):
            raise _FallThrough
        data = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = BytesIO(data)  # Flask can still read it if we fall through
        try:
            body = json.loads(data)
        except ValueError:
            raise _FallThrough from None
        if not isinstance(body, dict) or len(data) != length:
            raise _FallThrough
        return body.get("token")

    def _lang(self, environ) -> str:
        """``portal.i18n.select_locale`` for a request without a user or a session."""
        query = environ.get("QUERY_STRING", "")
        if query:
            from urllib.parse import parse_qsl

            for name, value in parse_qsl(query, keep_blank_values=True):
                if name == "lang":
                    lang = normalise(value)
                    if lang:
                        return lang
                    break
        header = environ.get("HTTP_ACCEPT_LANGUAGE", "")
        lang = self._accept.get(header)
        if lang is None:
            lang = parse_accept_header(header, LanguageAccept).best_match(LOCALES, default="ko") \
                or "ko"
            if len(self._accept) < 256:
                self._accept[header] = lang
        return lang

    def _messages(self, lang: str) -> dict[str, str]:
        """The reason messages and error messages in ``lang``, translated once per process."""
        texts = self._texts.get(lang)
        if texts is None:
            from flask_babel import force_locale

            from portal.web import HTTP_MESSAGES

            with self.app.app_context(), force_locale(lang):
                texts = {reason: str(text) for reason, text in service.REASON_MESSAGES.items()}
                texts[service.ReplayStoreUnavailable.code] = str(
                    service.ReplayStoreUnavailable.default_message)
                texts["internal_error"] = str(HTTP_MESSAGES[500][0])
            self._texts[lang] = texts
        return texts

    def _json(self, obj) -> bytes:
        """As ``jsonify`` writes it (sorted keys, ASCII, a final newline; compact unless the
        provider is not compact or the app is in debug mode)."""
        provider = self.app.json
        compact = getattr(provider, "compact", None)
        if (compact is None and self.app.debug) or compact is False:
            text = provider.dumps(obj, indent=2)
        else:
            text = provider.dumps(obj, separators=(",", ":"))
        return (text + "\n").encode()

    def _error(self, code: str, message: str) -> bytes:
        """The house error shape, as ``portal.api.json_error`` writes it."""
        return self._json({"error": {"code": code, "message": message}})

    # -- the database ----------------------------------------------------------------------

    def _remember_and_log(self, gate, reason, claims, sub, now_s, redis_url):
        backend = self._backend or self._make_backend()
        return backend(gate, reason, claims, sub, now_s, redis_url)

    def _make_backend(self):
        with self._lock:
            if self._backend is None:
                with self.app.app_context():
                    from portal.extensions import db

                    engine = db.engine
                if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
                    self._backend = _PsycopgBackend(engine)
                else:
                    self._backend = _SqlAlchemyBackend(engine)
        return self._backend


class _SqlAlchemyBackend:
    """Any database: the view's own code on an autocommit connection of the app's engine."""

    def __init__(self, engine):
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    def __call__(self, gate, reason, claims, sub, now_s, redis_url):
        with self.engine.connect() as conn:
            row = service.remember_and_log(conn, gate, reason, claims, sub, now_s, redis_url)
        return row.decision, row.reason, row.card_status


class _PsycopgBackend:
    """PostgreSQL: the view's statements, compiled once, on plain psycopg connections
    (autocommit: each statement commits on its own, durably). The access-log rows of
    concurrent requests are written by ``_GroupCommit``: one statement and one commit for all
    the requests waiting at that moment, each answered once its row is committed."""

    def __init__(self, engine):
        dialect = engine.dialect
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.pool = _PgPool(conninfo)
        dummy = {"at": None, "sub": None, "facility_id": None, "gate_id": None, "reason": None}
        self.log = {}
        for decides in (False, True):
            compiled = service._log_decision_stmt(decides).compile(dialect=dialect)
            self.log[decides] = (compiled.string, compiled.construct_params(dummy))
        compiled = service.used_token_stmt("postgresql").compile(dialect=dialect)
        self.used = (compiled.string,
                     compiled.construct_params({"used_jti": None, "used_until": None}))
        compiled = service.log_decisions_stmt().compile(dialect=dialect)
        batch = (compiled.string, compiled.construct_params(
            {name: [] for name in _GroupCommit.COLUMNS}))
        self.writer = _GroupCommit(self.pool, batch, self._log_one)

    def __call__(self, gate, reason, claims, sub, now_s, redis_url):
        given = reason
        if reason == "ok" and redis_url:
            fresh = service.redis_replay_store(redis_url).remember(
                claims["jti"], verifier.replay_ttl(claims, now_s))
            given = "ok" if fresh else "replayed"
        elif reason == "ok":
            with self.pool.connection() as conn:
                sql, base = self.used
                params = service.used_token_params(claims["jti"],
                                                   verifier.replay_ttl(claims, now_s))
                if conn.execute(sql, {**base, **params}).fetchone() is None:
                    given = "replayed"
        params = service.log_params(gate, sub, given, now_s)
        params["at"] = datetime.fromtimestamp(now_s, tz=UTC)
        return self.writer.write(params)

    def _log_one(self, conn, params):
        """One row on its own (the single-row statement of the Flask view)."""
        sql, base = self.log[service.status_decides(params["reason"])]
        return conn.execute(sql, {**base, **params}).fetchone()


class _Waiter:
    __slots__ = ("params", "done", "row", "error")

    def __init__(self, params):
        self.params = params
        self.done = threading.Event()
        self.row = None
        self.error = None


class _GroupCommit:
    """Group commit of access-log rows, per process.

    A request queues its row and waits. A writer thread takes every row queued at that
    moment (up to ``MAX_BATCH``), writes them with one ``INSERT`` (autocommit: one durable
    commit for all of them) and wakes each request with its own row only after that commit
    returned: no request is answered before its decision is on disk. While one batch is
    being committed the next one gathers, so under load a commit carries many rows and at
    low load a row waits for nothing but its own commit. If a batch fails, its rows are
    written one by one, so a bad row fails only its own request, as on the Flask path."""

    COLUMNS = ("ord", "at", "sub", "facility_id", "gate_id", "reason", "decides")
    MAX_BATCH = 256
    TIMEOUT = 60.0

    def __init__(self, pool: _PgPool, batch_sql, log_one):
        self.pool = pool
        self.batch_sql = batch_sql
        self.log_one = log_one
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Waiter] = []
        self._thread = None
        self._pid = None
        self.batches = 0  # commits made (benches read it)
        self.rows = 0

    def write(self, params: dict):
        waiter = _Waiter(params)
        with self._cond:
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._start()
            self._queue.append(waiter)
            self._cond.notify()
        if not waiter.done.wait(self.TIMEOUT):
            raise TimeoutError("the e-ID access log writer did not answer")
        if waiter.error is not None:
            raise waiter.error
        return waiter.row

    def _start(self) -> None:
        if self._pid != os.getpid():  # forked: the parent's queue and thread are not ours
            self._queue = []
            self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="eid-log-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                batch = self._queue[:self.MAX_BATCH]
                del self._queue[:self.MAX_BATCH]
            try:
                self._write(batch)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting requests
                for waiter in batch:
                    if waiter.row is None and waiter.error is None:
                        waiter.error = exc
            finally:
                for waiter in batch:
                    waiter.done.set()

    def _write(self, batch: list[_Waiter]) -> None:
        if len(batch) > 1:
            try:
                rows = self._write_batch(batch)
            except Exception as exc:
                if not _rejected_by_server(exc):
                    raise  # committed or not, nobody knows (a lost connection): no retry
                # PostgreSQL refused the statement, so nothing of it was written: one by one
                # below, so that only a bad row fails its request.
                log.warning("e-ID access log batch of %d failed; writing rows one by one",
                            len(batch), exc_info=True)
            else:
                for waiter, row in zip(batch, rows, strict=True):
                    waiter.row = row
                return
        for waiter in batch:
            try:
                with self.pool.connection() as conn:
                    waiter.row = self.log_one(conn, waiter.params)
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                waiter.error = exc
        self.batches += len(batch)
        self.rows += len(batch)

    def _write_batch(self, batch: list[_Waiter]) -> list:
        sql, base = self.batch_sql
        arrays = {name: [] for name in self.COLUMNS}
        for i, waiter in enumerate(batch):
            p = waiter.params
            arrays["ord"].append(i)
            arrays["at"].append(p["at"])
            arrays["sub"].append(p["sub"])
            arrays["facility_id"].append(p["facility_id"])
            arrays["gate_id"].append(p["gate_id"])
            arrays["reason"].append(p["reason"])
            arrays["decides"].append(service.status_decides(p["reason"]))
        with self.pool.connection() as conn:
            result = conn.execute(sql, {**base, **arrays}).fetchall()
        self.batches += 1
        self.rows += len(batch)
        rows = [None] * len(batch)
        for ord_, *row in result:
            rows[ord_] = tuple(row)
        if any(row is None for row in rows):
            raise RuntimeError("the e-ID access log batch returned too few rows")
        return rows


def _rejected_by_server(exc: BaseException) -> bool:
    """An error PostgreSQL answered for a statement (its transaction rolled back), as opposed
    to a lost connection, after which a commit may or may not have happened."""
    sqlstate = getattr(exc, "sqlstate", None)
    return bool(sqlstate) and not sqlstate.startswith(("08", "57P", "58"))


def _enabled(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in {"0", "false", "no", "off", ""}
    return bool(value)


def install(app) -> VerifyFastPath:
    """Wrap ``app.wsgi_app``; the middleware is kept in ``app.extensions["eid_fast_path"]``."""
    fast = VerifyFastPath(app, app.wsgi_app)
    app.wsgi_app = fast
    app.extensions["eid_fast_path"] = fast
    return fast
