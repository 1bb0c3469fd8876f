"""Fixtures of the notification tests: a log-provider file, a real SMTP server (aiosmtpd) and an
HTTP provider that records every request, all on 127.0.0.1 (the providers live in
:mod:`tests.notify.rig`)."""

from __future__ import annotations

import contextlib
import json
import re

import pytest

from portal.extensions import db
from tests.notify.rig import MailSink, RecordingProvider, free_port  # noqa: F401 - free_port: for tests


def idempotency_keys(references) -> list[str]:
    """The idempotency keys of the outbox rows whose references a provider got (a reference of
    no row stays as it is), in the same order, repeats kept: read back through the database, as
    no provider ever sees a key."""
    from sqlalchemy import select

    from portal.notify import sealing
    from portal.notify.models import Message

    known = {sealing.reference(k): k for k in db.session.scalars(select(Message.idempotency_key))}
    return [known.get(ref, ref) for ref in references]


class Recording(RecordingProvider):
    def sent_keys(self) -> list[str]:
        """The idempotency key of every request received, repeats kept, in order of arrival."""
        with self.lock:
            references = [r.key for r in self.received]
        return idempotency_keys(references)


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
        """The idempotency keys of the notices the file holds (it drops repeats itself: count
        duplicates at the ``http_provider``, never here)."""
        return idempotency_keys(self.references())


@pytest.fixture
def notify_log(app, tmp_path) -> LogFile:
    """SMS and voice go to the `log` provider, writing to a file of this test."""
    path = tmp_path / "notify.log"
    app.config.update(NOTIFY_LOG_FILE=str(path), SMS_PROVIDER="log", VOICE_PROVIDER="log",
                      NOTIFY_LOG_INCLUDE_TEXT=True)
    return LogFile(path)


@pytest.fixture
def smtp_server(app):
    """A real SMTP server (aiosmtpd) that keeps every message it accepted (``.messages``) and
    refuses the addresses in ``.refuse`` with 550."""
    sink = MailSink().up()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port, MAIL_USE_TLS=False,
                      MAIL_FROM="알림 <noreply@city.example.kr>")
    try:
        yield sink
    finally:
        sink.down()


@pytest.fixture
def http_provider(app):
    """SMS and voice go to a recording HTTP provider that keeps every request it receives
    (``.requests``, ``.sent_keys()``), answering ``.statuses`` in turn (then 202): the place
    to count duplicates."""
    provider = Recording().start()
    app.config.update(provider.settings())
    try:
        yield provider
    finally:
        provider.stop()


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
