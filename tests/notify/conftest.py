"""Fixtures of the notification tests: a log-provider file, a real SMTP server (aiosmtpd) and a
tiny HTTP provider, all on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.extensions import db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LogFile:
    def __init__(self, path):
        self.path = path

    def records(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]

    def references(self) -> list[str]:
        """What the file says of each notice instead of its idempotency key."""
        return [r["reference"] for r in self.records()]

    def keys(self) -> list[str]:
        """The idempotency keys of the outbox rows whose references the file holds (a reference
        of no row stays as it is): read back through the database, as the file never has them."""
        from sqlalchemy import select

        from portal.notify import sealing
        from portal.notify.models import Message

        known = {sealing.reference(k): k for k in db.session.scalars(select(Message.idempotency_key))}
        return [known.get(ref, ref) for ref in self.references()]


@pytest.fixture
def notify_log(app, tmp_path) -> LogFile:
    """SMS and voice go to the `log` provider, writing to a file of this test."""
    path = tmp_path / "notify.log"
    app.config.update(NOTIFY_LOG_FILE=str(path), SMS_PROVIDER="log", VOICE_PROVIDER="log",
                      NOTIFY_LOG_INCLUDE_TEXT=True)
    return LogFile(path)


class SmtpSink:
    """A real SMTP server: what it accepted, and recipients it refuses with 550."""

    def __init__(self):
        self.messages = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        from email.policy import default
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(app):
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False,
                      MAIL_FROM="알림 <noreply@city.example.kr>")
    try:
        yield sink
    finally:
        controller.stop()


class Provider:
    """A tiny HTTP SMS/voice provider: records each request; answers `statuses` in turn."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()

    def handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with provider.lock:
                    provider.requests.append({"headers": dict(self.headers), "json": body})
                    status = provider.statuses.pop(0) if provider.statuses else 202
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                return

        return Handler


@pytest.fixture
def http_provider(app):
    provider = Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), provider.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/v1/messages"
    app.config.update(SMS_PROVIDER="http", SMS_PROVIDER_URL=url, SMS_PROVIDER_KEY="sms-test-key",
                      VOICE_PROVIDER="http", VOICE_PROVIDER_URL=url, VOICE_PROVIDER_KEY="voice-test-key")
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def send(app):
    """send(**kwargs) -> Message: portal.notify.service.send + commit, as a producer does."""
    from portal.notify import service

    def do(**kwargs):
        kwargs.setdefault("template", "notify.channel_check")
        kwargs.setdefault("context", {"reference": "T-1"})
        message = service.send(db.session, **kwargs)
        db.session.commit()
        db.session.refresh(message)
        return message

    return do


def inbox_notice(send, user, key, **kwargs):
    """A notice to `user`'s portal inbox (delivered at once)."""
    return send(user=user, idempotency_key=key, channel="app", **kwargs)


# -- reads that must not write -----------------------------------------------------------------

ROLES = ("anonymous", "resident", "staff", "welfare_officer", "admin")
_WRITE = re.compile(r"\b(INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\S+\s+SET)\b", re.IGNORECASE)


@contextlib.contextmanager
def statements_that_write():
    """The INSERT, UPDATE and DELETE statements any session runs inside the block."""
    from sqlalchemy import event

    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if _WRITE.search(statement):
            seen.append(" ".join(statement.split())[:120])

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)


def get_urls(app, blueprints: tuple[str, ...], values: dict, queries: dict | None = None) -> list[str]:
    """Every GET route of ``blueprints``, filled with ``values`` (and a query string where
    ``queries`` gives one for the endpoint)."""
    from flask import url_for

    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint.partition(".")[0] in blueprints and "GET" in rule.methods:
                url = url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})
                urls.append(url + (queries or {}).get(rule.endpoint, ""))
    return sorted(urls)


def sign_in_as(client, role: str, make_user, login, resident=None):
    """Sign ``client`` in with the session cookie as someone of ``role`` (or nobody)."""
    if role == "resident":
        login(client, resident or make_user())
    elif role != "anonymous":
        login(client, make_user(roles=(role,)))
