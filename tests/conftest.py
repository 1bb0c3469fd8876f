"""Shared fixtures: a fresh database per run (PostgreSQL when DATABASE_URL is set, SQLite
otherwise), every table emptied after each test, users, sign-in helpers, a live server and a
real browser.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db

TEST_PASSWORD = "pw-12345678"  # noqa: S105
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- database and redis ---------------------------------------------------------------------

def _is_postgres(url: str | None) -> bool:
    return bool(url) and url.startswith(("postgres://", "postgresql"))


@contextlib.contextmanager
def scratch_database(server_url, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of `server_url` (its URL), dropped at the
    end with whatever is still connected to it. The suite's own database, the migration test's
    and the contract test's are each one of these."""
    server = make_url(server_url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    raw = os.environ.get("DATABASE_URL")
    if not _is_postgres(raw):
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "portal-test.db")
        return
    from portal.config import database_url as normalise
    with scratch_database(normalise(raw, ""), "portal_test") as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    """The REDIS_URL of this run (its database number is ours: FLUSHDB at start), or None."""
    url = os.environ.get("REDIS_URL")
    if url:
        import redis
        redis.Redis.from_url(url).flushdb()
    return url or None


def is_postgres(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


requires_postgres = pytest.mark.skipif(not _is_postgres(os.environ.get("DATABASE_URL")),
                                       reason="needs PostgreSQL (set DATABASE_URL)")
requires_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (set REDIS_URL)")


# -- the app ------------------------------------------------------------------------------

class PortalClient(FlaskClient):
    """A test client that can fill in the CSRF token of a form, like a browser would."""

    def csrf_token(self) -> str:
        html = self.get("/account/login").get_data(as_text=True)
        match = re.search(r'name="csrf-token" content="([^"]+)"', html)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def form(self, url: str, data: dict | None = None, **kwargs):
        """POST a form with a valid CSRF token."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)


def base_config(database_url: str, redis_url: str | None) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_TIME_COST": 1,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "LOGIN_ACCOUNT_RATE_LIMIT": "1000 per minute",
        "VERIFY_RATE_LIMIT_ACCOUNT": "1000 per minute",
        "VERIFY_RATE_LIMIT_CLIENT": "1000 per minute",
        "PORTAL_BASE_URL": "https://portal.test",
        "RATELIMIT_STORAGE_URI": "memory://",
        "CELERY": {"task_always_eager": True, "broker_url": "memory://", "result_backend": None},
        # calls and texts at any hour: quiet hours have their own clock (tests/notify/test_quiet_hours.py)
        "NOTIFY_QUIET_START": "off",
    }


def _use_celery_of(app) -> None:
    """Tasks (shared_task) run in ``app``'s Celery app and so in its app context. Creating
    another app makes its Celery app the current one, which outranks the default."""
    celery = app.extensions["celery"]
    celery.set_current()
    celery.set_default()


@pytest.fixture(scope="session")
def _session_app(database_url, redis_url):
    app = create_app(base_config(database_url, redis_url))
    app.test_client_class = PortalClient
    with app.app_context():
        db.create_all()
    return app


def _empty_all_tables(app) -> None:
    with app.app_context():
        db.session.remove()
        # Reference data (portal.places) stays: it comes with the schema, as from a migration.
        tables = [t for t in db.metadata.sorted_tables if not t.info.get("reference_data")]
        with db.engine.begin() as conn:
            if is_postgres(app):
                conn.execute(text("SET LOCAL lock_timeout = '20s'"))
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(tables):
                    conn.execute(table.delete())


@pytest.fixture
def app(_session_app):
    """The app with an app context pushed; config changes and rows are undone after the test."""
    saved = dict(_session_app.config)
    _use_celery_of(_session_app)
    ctx = _session_app.app_context()
    ctx.push()
    try:
        yield _session_app
    finally:
        db.session.remove()
        ctx.pop()
        _session_app.config.clear()
        _session_app.config.update(saved)
        from portal.extensions import limiter
        with _session_app.app_context():
            limiter.reset()  # each test counts its own attempts
        _use_celery_of(_session_app)
        _empty_all_tables(_session_app)


@pytest.fixture
def client(app) -> PortalClient:
    return app.test_client()


@pytest.fixture
def make_app(_session_app, database_url, redis_url):
    """Build another app on the same test database with config overrides (e.g. a real broker)."""
    built = []

    def factory(**overrides):
        cfg = base_config(database_url, redis_url)
        celery = overrides.pop("CELERY", None)
        if celery:
            cfg["CELERY"] = {**cfg["CELERY"], **celery}
        cfg.update(overrides)
        new = create_app(cfg)
        new.test_client_class = PortalClient
        built.append(new)
        return new

    yield factory
    for new in built:
        with new.app_context():
            db.session.remove()
            db.engine.dispose()
    _use_celery_of(_session_app)


# -- people -------------------------------------------------------------------------------

_HASHES: dict[str, str] = {}


@pytest.fixture
def make_user(app):
    """make_user(email=None, roles=("resident",), verified=True, password=TEST_PASSWORD, **fields)"""
    from portal.accounts import service

    def factory(email: str | None = None, roles=("resident",), verified: bool = True,
                password: str = TEST_PASSWORD, **fields):
        if password not in _HASHES:
            _HASHES[password] = service.hash_password(password)
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.kr"
        fields.setdefault("district", "성동구")
        user = service.create_user(db.session, email, None, roles=roles, verified=verified,
                                   password_hash=_HASHES[password], **fields)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def login():
    """login(client, user): sign `client` in as `user` (session cookie, as after a real login)."""

    def do(client, user):
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return client

    return do


@pytest.fixture
def bearer(app):
    """bearer(user) -> {"Authorization": "Bearer ..."} with a new personal token."""
    from portal.accounts import service

    def make(user) -> dict:
        plain, _row = service.create_token(db.session, user, "test")
        return {"Authorization": f"Bearer {plain}"}

    return make


# -- a live server and a real browser -----------------------------------------------------

class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (right now)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(app):
    """The test app served over real HTTP on 127.0.0.1 (threaded), for concurrency and browsers."""
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture
def gunicorn_server(app, database_url):
    """gunicorn_server(worker_class="gevent", workers=2) -> the base URL of ``gunicorn
    'portal:create_app()'`` in a process of its own, on the test database: the way the README
    deploys it (real workers, real forks), for the claims that depend on it."""
    from bench.common import gunicorn

    with contextlib.ExitStack() as servers:
        def start(worker_class: str = "gevent", workers: int = 2, log_path: str | None = None,
                  **env_extra) -> str:
            db.session.commit()  # the server's workers see what the test wrote so far
            env = {"DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key",
                   "PORTAL_ENV": "development", **env_extra}
            return servers.enter_context(gunicorn(env=env, workers=workers,
                                                  worker_class=worker_class, log_path=log_path))

        yield start


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def _browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; .ci/run installs it")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


@pytest.fixture
def browser_page(_browser, live_server):
    """browser_page(locale="ko") -> a Playwright page; `page.base_url` is the live server."""
    contexts = []

    def open_page(locale: str = "ko-KR"):
        context = _browser.new_context(locale=locale, viewport={"width": 414, "height": 896})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.base_url = live_server.url
        return page

    yield open_page
    for context in contexts:
        context.close()


ARTEFACTS = os.path.join(ROOT, "artefacts")


@pytest.fixture
def artefact_path():
    """artefact_path("name.png") -> a path under artefacts/ (kept after the run, not committed)."""
    os.makedirs(ARTEFACTS, exist_ok=True)
    return lambda name: os.path.join(ARTEFACTS, name)


# -- figures that fault drills print ---------------------------------------------------------

_FIGURES: list[str] = []


@pytest.fixture
def figures(request):
    """figures("drill (a) slow provider: 0 sent twice, 120 delivered in 14.2 s"): a line that the
    run prints at its end (and writes to artefacts/figures.txt), whatever pytest captures."""

    def record(line: str) -> None:
        _FIGURES.append(f"{request.node.nodeid}: {line}")

    return record


def pytest_terminal_summary(terminalreporter):
    if not _FIGURES:
        return
    terminalreporter.section("figures")
    for line in _FIGURES:
        terminalreporter.write_line(line)
    os.makedirs(ARTEFACTS, exist_ok=True)
    with open(os.path.join(ARTEFACTS, "figures.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(_FIGURES) + "\n")
