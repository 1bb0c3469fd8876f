"""The gate verify call, served in front of Flask: HTTP parsing, the answer, or fall-through.

``POST /api/v1/eid/verify`` is the one hot path of the e-ID service: every turnstile calls it
for every person. Through Flask it costs ~2 ms of Python per call (the shell's request hooks,
the session, SQLAlchemy); the work itself is a signature check and one statement that uses up
the token id and logs the decision. ``VerifyFastPath`` wraps ``app.wsgi_app`` (installed by
``portal.eid.init_app``) and answers that one path itself when it can answer exactly as the
Flask view would:

- the gate key is in this process's gate cache (``gates.cached_gate``, filled by the Flask
  view), the public keys are fresh in ``keys._cache`` and hold the token's ``kid``;
- the body is a small JSON object of the view's fields with a JSON content type; no cookie
  is sent (a session could choose the language).

Anything else (a wrong, missing or not yet cached gate key, an unknown ``kid``, a stale key
cache, bad JSON, JSON nested deeper than the shell reads, NUL bytes or lone surrogates, an
unknown field, a big body, a cookie) falls through to Flask, which answers and fills the
caches: 400s, 401s, 413s and 422s are Flask's own. The token is checked by
``rules.check_token``, as in the view; the check is written by ``group_commit.backend_for``
(on PostgreSQL many checks to a commit). The answer's shape is the shell's: its security
headers, its anonymous locale, its error body. Set ``EID_VERIFY_FAST_PATH`` to 0 to switch
it off.

A gate that hangs up cancels its check (under gevent, as the gates are deployed: ``HangUp``):
a check still queued leaves the queue and uses up nothing, so the gate's next try with the
same card code can pass; a statement under way is cancelled on the server
(``group_commit``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from io import BytesIO

from werkzeug.http import parse_options_header

from portal.api import error_body
from portal.eid import keys, schemas, settings
from portal.eid.errors import VerifyUnavailable
from portal.eid.verify import gates, rules
from portal.eid.verify.group_commit import Timeouts, backend_for, on_gevent
from portal.i18n import LOCALES, anonymous_locale
from portal.inputs import first_unreadable, json_depth_ok
from portal.web import NO_STORE, SECURITY_HEADERS

log = logging.getLogger(__name__)

PATH = "/api/v1/eid/verify"
MAX_BODY = 8 * 1024  # a real body is ~450 bytes; bigger ones go to Flask (413 over 1 MiB)
FIELDS = frozenset(schemas.VerifyBody.model_fields)  # any other field is Flask's 422

# The answer's headers after Content-Type and Content-Length, built once per language (as the
# shell sends them: no answer of the portal is stored by a browser or a proxy).
_HEADERS = {lang: (("Cache-Control", NO_STORE), *SECURITY_HEADERS, ("Content-Language", lang),
                   ("Vary", "Cookie")) for lang in LOCALES}


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

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        if not settings.VERIFY_FAST_PATH.get(self.app.config):
            return self.wsgi_app(environ, start_response)
        try:
            status, body, lang, _decision = self._answer(environ)
        except _FallThrough:
            return self.wsgi_app(environ, start_response)
        with self._served_lock:
            self.served += 1
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body))), *_HEADERS[lang]])
        return [body]

    # -- the request -----------------------------------------------------------------------

    def _answer(self, environ) -> tuple[str, bytes, str, bool]:
        if environ.get("HTTP_COOKIE"):
            raise _FallThrough
        header = environ.get("HTTP_AUTHORIZATION", "")
        if header[:7].lower() != "bearer ":
            raise _FallThrough
        gate = gates.cached_gate(header[7:].strip())
        if gate is None:
            raise _FallThrough
        token = self._token(environ)
        public = keys.fresh_public_keys()
        if public is None:
            raise _FallThrough
        kid = rules.token_kid(token)
        if kid is not None and kid not in public:
            raise _FallThrough
        lang = anonymous_locale(environ.get("QUERY_STRING", ""),
                                environ.get("HTTP_ACCEPT_LANGUAGE", ""))
        texts = self._messages(lang)
        now_s = time.time()
        reason, claims, sub = rules.check_token(gate, token, public,
                                                settings.ISSUER.get(self.app.config), now_s,
                                                settings.LEGACY_TOKENS.get(self.app.config))
        try:
            with HangUp.watch(environ):
                decision, reason, card_status = self._remember_and_log(gate, reason, claims, sub,
                                                                       now_s)
        except (VerifyUnavailable, GateHungUp):  # a gate that hung up reads nothing
            code = VerifyUnavailable.code
            return "503 SERVICE UNAVAILABLE", self._error(code, texts[code]), lang, False
        except Exception:
            log.exception("e-ID verify failed at gate %s", gate.id)
            if self.app.testing:
                raise
            return ("500 INTERNAL SERVER ERROR", self._error("internal_error", texts["internal_error"]),
                    lang, False)
        answer = schemas.gate_answer(gate, claims, decision, reason, card_status, texts[reason])
        return "200 OK", self._json(answer), lang, True

    def _token(self, environ):
        """The body's ``token``, if the body is a small JSON object; else Flask decides."""
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
        if not json_depth_ok(data):  # the shell's 400 too_deep, before any recursive parse
            raise _FallThrough
        try:
            body = json.loads(data)
        except ValueError:
            raise _FallThrough from None
        if not isinstance(body, dict) or len(data) != length or not FIELDS.issuperset(body):
            raise _FallThrough
        # NUL bytes and lone surrogates (the shell's 422) can only come as \u escapes: a body
        # without one (every real one: a token is base64url) is not searched
        if b"\\u" in data and first_unreadable(body) is not None:
            raise _FallThrough
        return body.get("token")

    def _messages(self, lang: str) -> dict[str, str]:
        """The reason messages and error messages in ``lang``, translated once per process."""
        texts = self._texts.get(lang)
        if texts is None:
            from flask_babel import force_locale

            from portal.web import HTTP_MESSAGES

            with self.app.app_context(), force_locale(lang):
                texts = {reason: str(text) for reason, text in rules.REASON_MESSAGES.items()}
                texts[VerifyUnavailable.code] = str(VerifyUnavailable.default_message)
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
        return self._json(error_body(code, message))

    # -- the database ----------------------------------------------------------------------

    def _remember_and_log(self, gate, reason, claims, sub, now_s):
        backend = self._backend or self._make_backend()
        return backend(gate, reason, claims, sub, now_s)

    def _make_backend(self):
        with self._lock:
            if self._backend is None:
                with self.app.app_context():
                    from portal.extensions import db

                    self._backend = backend_for(db.engine, Timeouts.from_config(self.app.config))
        return self._backend


class GateHungUp(BaseException):  # noqa: N818 - a cancellation, as gevent's GreenletExit
    """Thrown into a request whose gate hung up while its check was being written. A
    ``BaseException``, so that no ``except Exception`` on the way swallows it."""


class HangUp:
    """While a check is being written, under gevent: a gate that hangs up (its socket reads
    end-of-file or a reset) cancels the request, ``GateHungUp`` thrown where it waits.

    One io watcher on the client's socket per check, armed only inside ``watch``: no thread,
    no greenlet, nothing thrown once the check is done. Threads (the development server)
    cannot be interrupted: there a check runs to its end."""

    __slots__ = ("sock", "greenlet", "hub", "watcher", "armed")

    @classmethod
    def watch(cls, environ):
        sock = environ.get("gunicorn.socket")
        if sock is None or not on_gevent():
            return contextlib.nullcontext()
        return cls(sock)

    def __init__(self, sock):
        self.sock = sock
        self.armed = False

    def __enter__(self):
        import gevent

        self.greenlet = gevent.getcurrent()
        self.hub = gevent.get_hub()
        self.watcher = self.hub.loop.io(self.sock.fileno(), 1)  # readable
        self.armed = True
        self.watcher.start(self._readable)
        return self

    def __exit__(self, *exc_info) -> bool:
        self.armed = False
        self.watcher.stop()
        self.watcher.close()
        return False

    def _readable(self) -> None:
        """In the hub: the socket is readable. Peek without blocking (the hub must not)."""
        self.watcher.stop()
        if not self.armed:
            return
        from gevent import monkey

        raw = monkey.get_original("socket", "socket")(fileno=self.sock.fileno())
        try:
            hung_up = raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            hung_up = False
        except OSError:  # reset by the gate
            hung_up = True
        finally:
            raw.detach()  # the descriptor stays the server's
        if hung_up:  # else the gate sent more (a pipelined request): it is still there
            self.hub.loop.run_callback(self._throw)

    def _throw(self) -> None:
        if self.armed:  # not if the check ended meanwhile
            self.armed = False
            self.greenlet.throw(GateHungUp())


def install(app) -> VerifyFastPath:
    """Wrap ``app.wsgi_app``; the middleware is kept in ``app.extensions["eid_fast_path"]``."""
    fast = VerifyFastPath(app, app.wsgi_app)
    app.wsgi_app = fast
    app.extensions["eid_fast_path"] = fast
    return fast
