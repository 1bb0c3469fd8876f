"""Trust I: a GET never writes.

Every GET route of the portal (pages and API), with its path filled from the demo city, and the
links those pages carry, is read by each kind of person: nobody, a resident, staff, a welfare
officer, an administrator. The database is watched while they read: no INSERT, UPDATE or DELETE
may reach it (tasks run in-process here, so a read that queues housekeeping is caught too).
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import event, select

from portal.extensions import db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|CREATE|ALTER|DROP)\b", re.I)
SKIP = ("/static/", "/eid/static/", "/proposals/static/", "/healthz")
HREF = re.compile(r'href="([^"#]+)"')
PEOPLE = (None, "resident@demo.kr", "staff@demo.kr", "officer@demo.kr", "admin@demo.kr")
PAGES_PER_PERSON = 250


def _samples() -> dict[str, str]:
    """A value for each path parameter of the GET routes, from the demo city."""
    from portal.accounts.models import User
    from portal.eid.models import Facility
    from proposals.models import Proposal
    from tourism.models import Booking, Listing, Payment, Slot
    from welfare.models import Programme

    first = lambda stmt: db.session.scalar(stmt.limit(1))  # noqa: E731
    return {
        "proposal_id": first(select(Proposal.id).order_by(Proposal.id)),
        "listing_id": first(select(Listing.id).order_by(Listing.id)),
        "slot_id": first(select(Slot.id).order_by(Slot.id)),
        "reference": first(select(Booking.reference).order_by(Booking.id)),
        "payment_id": first(select(Payment.public_id).order_by(Payment.id)),
        "user_id": first(select(User.id).where(User.email == "grandma@demo.kr")),
        "code": first(select(Programme.code).order_by(Programme.id)),
        "facility_code": first(select(Facility.code).order_by(Facility.id)),
    }


def _get_paths(app, samples) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(SKIP) or "static" in rule.endpoint:
            continue
        values = {}
        for arg in rule.arguments:
            value = samples.get(arg)
            if value is None and arg == "code" and "facilit" in rule.rule:
                value = samples.get("facility_code")
            if value is None:
                break
            values[arg] = value
        else:
            with app.test_request_context():
                from flask import url_for
                paths.append(url_for(rule.endpoint, **values))
    return sorted(set(paths))


@pytest.fixture
def demo_city(app):
    from portal import SERVICES  # noqa: F401
    from portal.cli import seed_demo

    app.test_cli_runner().invoke(seed_demo)
    db.session.commit()
    return app


def test_no_get_writes_anything_for_anyone(demo_city, login):
    app = demo_city
    from portal.accounts.models import User

    samples = _samples()
    start = _get_paths(app, samples)
    writes: list[str] = []
    watching = {"on": False}

    def watch(conn, cursor, statement, parameters, context, executemany):
        if watching["on"] and WRITE.match(statement):
            writes.append(statement.split("\n")[0][:120])

    engine = db.engine
    event.listen(engine, "before_cursor_execute", watch)
    try:
        for email in PEOPLE:
            client = app.test_client()
            if email:
                login(client, db.session.scalar(select(User).where(User.email == email)))
            seen: set[str] = set()
            queue = deque(start)
            read = 0
            while queue and read < PAGES_PER_PERSON:
                path = queue.popleft()
                if path in seen or path.startswith(SKIP):
                    continue
                seen.add(path)
                before = len(writes)
                watching["on"] = True
                try:
                    resp = client.get(path)
                finally:
                    watching["on"] = False
                read += 1
                if len(writes) > before:
                    writes[before:] = [f"{email or 'anonymous'} GET {path}: {w}" for w in writes[before:]]
                if resp.status_code == 200 and resp.mimetype == "text/html":
                    for href in HREF.findall(resp.get_data(as_text=True)):
                        target = urljoin(path, href.replace("&amp;", "&"))
                        parts = urlsplit(target)
                        if parts.netloc or not parts.path.startswith("/") or "logout" in parts.path:
                            continue
                        queue.append(parts.path + ("?" + parts.query if parts.query else ""))
            assert read > 20, f"the crawl for {email} read only {read} pages"
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert not writes, "GETs that wrote:\n" + "\n".join(writes[:30])
