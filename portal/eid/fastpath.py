"""The gate verify call, served in front of Flask.

``POST /api/v1/eid/verify`` is the one hot path of the e-ID service: every turnstile calls it
for every person. Through Flask it costs ~2 ms of Python per call (the shell's request hooks,
the session, SQLAlchemy); the work itself is a signature check and one statement that uses up
the token id and logs the decision. ``VerifyFastPath`` wraps ``app.wsgi_app`` (installed by
``portal.eid.init_app``) and answers that one path itself when it can answer exactly as the
Flask view would:

- the gate key is in the per-process gate cache (``service._gate_cache``, filled by the Flask
  view), the public keys are fresh in ``keys._cache`` and hold the token's ``kid``;
- the body is a small JSON object with a JSON content type; no cookie is sent (a session could
  choose the language).

Anything else (a wrong, missing or not yet cached gate key, an unknown ``kid``, a stale key
cache, bad JSON, a big body, a cookie) falls through to Flask, which answers and fills the
caches: 401s, 413s and 422s are Flask's own. The token is checked by ``service.check_token``,
as in the view. On PostgreSQL the checks of concurrent requests are then decided and logged
together (``_GroupCommit`` with ``service.log_decisions_stmt``: the view's rules, one
statement and one durable commit for every check waiting; each request is answered only after
the commit that holds its row); on other databases by the view's ``service.remember_and_log``.
Set ``EID_VERIFY_FAST_PATH`` to 0 to switch it off.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from io import BytesIO

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_options_header

from portal.eid import keys, service
from portal.i18n import LOCALES, normalise

log = logging.getLogger(__name__)

PATH = "/api/v1/eid/verify"
MAX_BODY = 8 * 1024  # a real body is ~450 bytes; bigger ones go to Flask (413 over 1 MiB)
CONNECT_TIMEOUT = 5  # seconds; a gate waiting longer is better told to try again


class _FallThrough(Exception):
    """Flask answers this request."""


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
            decision, reason, card_status = self._remember_and_log(gate, reason, claims, sub, now_s)
        except service.VerifyUnavailable as exc:
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
                texts[service.VerifyUnavailable.code] = str(service.VerifyUnavailable.default_message)
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

    def _remember_and_log(self, gate, reason, claims, sub, now_s):
        backend = self._backend or self._make_backend()
        return backend(gate, reason, claims, sub, now_s)

    def _make_backend(self):
        with self._lock:
            if self._backend is None:
                with self.app.app_context():
                    from portal.extensions import db

                    engine = db.engine
                if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
                    self._backend = _PostgresBackend(engine)
                else:
                    self._backend = _SqlAlchemyBackend(engine)
        return self._backend


class _SqlAlchemyBackend:
    """Any database: the view's own code (``service.remember_and_log``), one commit each."""

    def __init__(self, engine):
        self.engine = engine

    def __call__(self, gate, reason, claims, sub, now_s):
        from sqlalchemy.orm import Session

        with Session(self.engine) as session:
            row = service.remember_and_log(session, gate, reason, claims, sub, now_s)
        return row.decision, row.reason, row.card_status


class _PostgresBackend:
    """PostgreSQL: the checks of concurrent requests are decided and logged together
    (``_GroupCommit``) by ``service.log_decisions_stmt``, one statement and one durable
    commit for every check waiting, on one plain psycopg connection per process (autocommit;
    the statement is prepared once)."""

    def __init__(self, engine):
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        compiled = service.log_decisions_stmt().compile(dialect=engine.dialect)
        self.sql = compiled.string
        self.base = compiled.construct_params({"checks": None})
        self.writer = _GroupCommit(self._commit)
        self.commits = 0  # statements committed, and the checks they carried (tests read them)
        self.rows = 0
        self._conn = None
        self._pid = None

    def __call__(self, gate, reason, claims, sub, now_s):
        return self.writer.write(service.batch_check(gate, reason, claims, sub, now_s))

    def _commit(self, batch: list[_Check]) -> None:
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
                check.error = service.VerifyUnavailable() if retry.startswith("40") else exc

    def _execute(self, checks: list[dict]) -> list[tuple]:
        import psycopg

        conn = self._connection()
        try:
            result = conn.execute(self.sql, {**self.base, "checks": json.dumps(
                service.batch_checks(checks))}).fetchall()
        except BaseException as exc:
            if conn.broken or conn.closed:
                self._close()
            if isinstance(exc, psycopg.Error) and not _rejected_by_server(exc):
                raise service.VerifyUnavailable() from exc  # the server went away
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
                raise service.VerifyUnavailable() from exc
        return self._conn

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class _Check:
    __slots__ = ("params", "event", "lead", "row", "error")

    def __init__(self, params):
        self.params = params
        self.event = threading.Event()
        self.lead = False  # this request commits the next batch
        self.row = None
        self.error = None


class _GroupCommit:
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
        self._commit = commit  # commit(list[_Check]): sets .row or .error on each
        self._lock = threading.Lock()
        self._queue: list[_Check] = []
        self._leading = False

    def write(self, params: dict):
        check = _Check(params)
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
