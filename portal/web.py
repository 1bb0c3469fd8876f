"""The shell's web layer: request hooks, error mapping, template helpers and core routes.

Routes:  /  (home)   /healthz   /api/v1/openapi.json
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, g, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import format_currency, format_decimal, refresh
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from werkzeug.exceptions import HTTPException
from wtforms.csrf.core import CSRFTokenField
from wtforms.widgets import HiddenInput

from portal import nav
from portal.accounts import roles
from portal.api import is_api_request, json_error
from portal.apidoc import doc
from portal.errors import DomainError, Invalid, NotFound
from portal.extensions import csrf, db
from portal.i18n import LOCALE_NAMES, current_locale, in_time, init_jinja

log = logging.getLogger(__name__)
bp = Blueprint("core", __name__)

HTTP_MESSAGES = {
    400: (_l("The request could not be understood."), "bad_request"),
    401: (_l("Please sign in first."), "unauthorized"),
    403: (_l("You are not allowed to do this."), "forbidden"),
    404: (_l("This page does not exist."), "not_found"),
    405: (_l("This method is not allowed here."), "method_not_allowed"),
    413: (_l("The request is too large."), "payload_too_large"),
    415: (_l("Send JSON with Content-Type: application/json."), "unsupported_media_type"),
    429: (_l("Too many requests. Please wait a moment and try again."), "rate_limited"),
    500: (_l("Something went wrong on our side. Please try again later."), "internal_error"),
}


# No inline script or style anywhere: every script and stylesheet is a file of ours.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Sent with every answer (the e-ID gate fast path, which answers in front of Flask, sends them too).
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
)
# Pages and API answers may hold personal data (a welfare result, a booking, a card): no
# browser or proxy keeps a copy, unless a view says otherwise. Static files are cached.
NO_STORE = "no-store"


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def reset_request_state():
    """Forget per-request state kept on `g` (the app context may outlive one request)."""
    for name in ("bearer", "_login_user", current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")):
        g.pop(name, None)
    refresh()


def authenticate_bearer():
    """Bearer requests are authenticated by their token alone, never by the session cookie."""
    token = _bearer_token()
    if token is None:
        return
    g.bearer = True
    from portal.accounts.service import user_for_token
    user = user_for_token(db.session, token, writes=request.method not in ("GET", "HEAD", "OPTIONS"))
    g._login_user = user if user is not None else current_app.login_manager.anonymous_user()


def check_csrf():
    """CSRF on every state-changing request a browser's cookie could authorise.

    Exempt: bearer requests (no ambient credentials), and API requests of nobody signed in
    (a guest booking from an app has nothing a forged request could borrow). Every HTML form
    is checked, sign-in included.
    """
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if request.method not in current_app.config.get("WTF_CSRF_METHODS", {"POST", "PUT", "PATCH", "DELETE"}):
        return
    if g.get("bearer"):
        return
    if is_api_request() and not current_user.is_authenticated:
        return
    if not request.endpoint:
        return
    if current_app.blueprints.get(request.blueprint) in csrf._exempt_blueprints:
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and f"{view.__module__}.{view.__name__}" in csrf._exempt_views:
        return
    csrf.protect()


class HiddenWithoutId(HiddenInput):
    """A form's CSRF token is a hidden input no label points at: rendered without an id, two
    forms on one page never repeat id="csrf_token"."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", False)
        return super().__call__(field, **kwargs)


CSRFTokenField.widget = HiddenWithoutId()


def refuse_unreadable_input():
    """Query strings and forms with NUL bytes or lone surrogates are refused (422) before any
    view reads them: PostgreSQL cannot store the first, nothing can encode the second."""
    from portal.inputs import unreadable

    if unreadable(request.path):  # a path segment such as a code or reference with %00 in it
        raise NotFound()
    for source in (request.args, request.form if request.method != "GET" else {}):
        for name, value in source.items(multi=True) if source else ():
            if unreadable(name) or unreadable(value):
                raise Invalid(fields={name if not unreadable(name) else "query":
                                      _l("Contains characters that are not allowed (such as NUL).")})


def _error_response(status: int, code: str, message, fields: dict | None = None,
                    retry_after: int | None = None):
    if is_api_request():
        return json_error(code, message, status, fields)
    # a page that says "try again later" says when, in words (Retry-After says it to programs)
    return render_template("errors/error.html", status=status, message=message, fields=fields,
                           try_again=in_time(retry_after) if retry_after else None), status


def handle_domain_error(exc: DomainError):
    db.session.rollback()
    response = current_app.make_response(_error_response(exc.status, exc.code, exc.message, exc.fields,
                                                         exc.retry_after))
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, int(exc.retry_after)))
    return response


def handle_csrf_error(exc: CSRFError):
    return _error_response(400, "csrf_failed",
                           _l("The form expired or was sent from elsewhere. Please reload the page and try again."))


def handle_http_error(exc: HTTPException):
    status = exc.code or 500
    message, code = HTTP_MESSAGES.get(status, (exc.description, "http_error"))
    response = _error_response(status, code, message, retry_after=_limit_resets_in() if status == 429 else None)
    if status == 405 and exc.get_response().headers.get("Allow"):
        resp, st = response if isinstance(response, tuple) else (response, status)
        resp = current_app.make_response((resp, st))
        resp.headers["Allow"] = exc.get_response().headers["Allow"]
        return resp
    return response


def _limit_resets_in() -> int | None:
    """Seconds until the rate limit that refused this request lets it through again."""
    import time

    from portal.extensions import limiter

    current = limiter.current_limit
    if current is None:
        return None
    return max(1, round(current.reset_at - time.time()))  # reset_at is a whole second


def handle_unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    message, code = HTTP_MESSAGES[500]
    return _error_response(500, code, message)


DATABASE_DOWN = (_l("The service is unavailable for a moment. Please try again shortly."), "unavailable")
RETRY_AFTER_SECONDS = 5


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached (down, restarting, connection lost),
    rather than that a statement was wrong."""
    from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, TimeoutError

    if isinstance(exc, DisconnectionError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError):
        # No SQLSTATE: the driver could not connect or lost the connection. 08xxx: connection
        # exceptions; 57P0x: the server is shutting down or starting; 57014 and 55P03: a
        # statement or lock timeout (the database is too busy to answer in time).
        sqlstate = getattr(exc.orig, "sqlstate", None)
        return sqlstate is None or sqlstate.startswith(("08", "57P")) or sqlstate in ("57014", "55P03")
    return False


def handle_database_error(exc: Exception):
    """The database is down or restarting: 503 with Retry-After, never a 500 (the JSON error on
    the API, a translated page otherwise). Any other database error is a 500."""
    if not database_unreachable(exc):
        if current_app.testing:
            raise exc
        return handle_unexpected(exc)
    log.warning("database unreachable on %s %s: %s", request.method, request.path, type(exc.orig).__name__
                if getattr(exc, "orig", None) is not None else type(exc).__name__)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
        db.session.remove()
    # Nothing more is read from the database: the language and the page are chosen as for a
    # visitor (the request's user is expired by the rollback, or was never loaded).
    g._login_user = current_app.login_manager.anonymous_user()
    message, code = DATABASE_DOWN
    response = current_app.make_response(_error_response(503, code, message, retry_after=RETRY_AFTER_SECONDS))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def end_session(_exc=None) -> None:
    """The request's session ends even when the database went away meanwhile: closing a
    connection the server terminated must not turn an answer already made into a 500 (runs
    before Flask-SQLAlchemy's own teardown, which then finds nothing left to close)."""
    from sqlalchemy.exc import DBAPIError
    try:
        db.session.remove()
    except DBAPIError as exc:
        if not database_unreachable(exc):
            raise
        log.warning("database unreachable while ending a request's session: %s", type(exc.orig).__name__)
        db.session.remove()  # the broken connection was invalidated: closing again succeeds


def home():
    return render_template("home.html")


def _redis_for_health(url: str):
    """One Redis client per process and URL for /healthz, whose pool keeps its connection: a
    client per request connected anew each time and read redis-py's package metadata to
    introduce itself (about 3 of /healthz's 4 ms in-process). Each ping still goes to the
    server; a broken connection is dropped from the pool and the next ping connects again."""
    import redis

    clients = current_app.extensions.setdefault("healthz_redis", {})
    client = clients.get(url)
    if client is None:
        client = clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1,
                                                     socket_timeout=1)
    return client


@bp.get("/healthz")
def healthz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        db.session.rollback()
        checks["database"] = f"error: {type(exc).__name__}"
    url = current_app.config.get("REDIS_URL")
    if url:
        try:
            _redis_for_health(url).ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {type(exc).__name__}"
    else:
        checks["redis"] = "not configured (tasks run in-process)"
    healthy = all(v == "ok" or v.startswith("not configured") for v in checks.values())
    return jsonify({"status": "ok" if healthy else "unavailable", "checks": checks}), 200 if healthy else 503


class OpenAPIOut(BaseModel):
    """An OpenAPI 3.1 document (its parts are OpenAPI's own)."""
    model_config = ConfigDict(extra="allow")
    openapi: str
    info: dict
    paths: dict


@bp.get("/api/v1/openapi.json")
@doc(answers={200: OpenAPIOut}, public=True, tags=("portal",))
def openapi():
    """This document"""
    from portal.openapi import build
    return jsonify(build(current_app))


def before_each_request():
    """The shell's steps before any view, in this order (one hook: Flask pays for each hook it
    calls)."""
    reset_request_state()
    refuse_unreadable_input()
    authenticate_bearer()
    check_csrf()


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a request without the cookie gets its empty
    session without building the signer first (most API calls and first visits carry none)."""

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_url_rule("/", endpoint="home", view_func=home)
    app.session_interface = CookieSessions()
    app.before_request(before_each_request)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    from sqlalchemy.exc import DBAPIError, DisconnectionError
    from sqlalchemy.exc import TimeoutError as PoolTimeout
    for error in (DBAPIError, DisconnectionError, PoolTimeout):
        app.register_error_handler(error, handle_database_error)
    if not app.testing:
        app.register_error_handler(Exception, handle_unexpected)
    app.teardown_appcontext(end_session)

    app.jinja_env.globals.update(
        format_currency=format_currency, format_decimal=format_decimal, role_label=roles.label)
    init_jinja(app)  # dates and times in CLDR's formats, without seconds (portal.i18n)

    @app.context_processor
    def _globals():
        from portal.accounts.views import language_form
        return {
            "nav_items": nav.items(app),
            "shell_urls": nav.shell_urls(app),
            "locale_names": LOCALE_NAMES,
            "current_lang": current_locale(),
            "language_form": language_form,
        }

    @app.after_request
    def _headers(response):
        # What a view set stays; the rest is added. One pass over the answer's headers (werkzeug's
        # setdefault scanned them and raised a KeyError inside for each header it added).
        headers = response.headers
        present = {name.lower() for name, _value in headers}
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        if "cache-control" not in present and not (request.endpoint or "").endswith("static"):
            headers.add("Cache-Control", NO_STORE)
        if request.path.startswith("/api/"):
            if "content-language" not in present:
                headers.add("Content-Language", current_locale())
        else:
            response.vary.add("Cookie")
        return response

