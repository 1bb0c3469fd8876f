"""Races decided by the database, with real concurrent HTTP clients."""

from __future__ import annotations

from collections import Counter

import pytest
import requests

from portal.eid import keys, service, verifier
from portal.eid.models import AccessEntry, Card, UsedToken
from portal.eid.verify import gates
from portal.extensions import db
from tests.concurrency import race
from tests.conftest import requires_postgres

pytestmark = requires_postgres


@pytest.fixture
def warm(monkeypatch):
    """warm(*gate_keys): the fast path's caches filled, as a first verify answered by Flask
    leaves them, and kept warm for the race."""
    monkeypatch.setattr(gates.GateCache, "TTL", 300.0)
    monkeypatch.setattr(keys._KeyCache, "TTL", 300.0)

    def do(*gate_keys):
        for gate_key in gate_keys:
            service.authenticate_gate(db.session, gate_key)
        keys.public_keys(db.session)
        db.session.commit()

    return do


def _verify(url, gate_key, token):
    response = requests.post(f"{url}/api/v1/eid/verify", json={"token": token},
                             headers={"Authorization": f"Bearer {gate_key}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["reason"]


def _logged() -> Counter:
    db.session.expire_all()
    return Counter(db.session.scalars(db.select(AccessEntry.reason)))


def test_fifty_gates_one_token_in_front_of_flask(app, live_server, resident, card_for, token_for,
                                                 make_gate, warm):
    """Through the fast path: the group commit decides, many checks to a commit."""
    card_for(resident)
    gates = [make_gate()[0] for _ in range(2)]
    token = token_for(resident)
    warm(*gates)
    fast = app.extensions["eid_fast_path"]
    served = fast.served
    backend = fast._make_backend()
    commits, rows = backend.commits, backend.rows

    results = race(50, lambda i: _verify(live_server.url, gates[i % 2], token))
    assert Counter(results) == {"ok": 1, "replayed": 49}, results
    assert fast.served - served == 50  # every one answered in front of Flask
    assert backend.rows - rows == 50
    assert backend.commits - commits < 50  # concurrent decisions shared commits
    assert _logged() == {"ok": 1, "replayed": 49}


def test_fifty_gates_one_token_through_flask(app, live_server, resident, card_for, token_for,
                                             make_gate):
    """Through the Flask view (fast path off): one transaction per check; the used-token
    table's primary key decides."""
    app.config["EID_VERIFY_FAST_PATH"] = False
    card_for(resident)
    gates = [make_gate()[0] for _ in range(2)]
    token = token_for(resident)
    served = app.extensions["eid_fast_path"].served

    results = race(50, lambda i: _verify(live_server.url, gates[i % 2], token))
    assert Counter(results) == {"ok": 1, "replayed": 49}, results
    assert app.extensions["eid_fast_path"].served == served
    assert _logged() == {"ok": 1, "replayed": 49}


def test_the_gate_pool_as_deployed(gunicorn_server, make_user, card_for, make_gate):
    """gunicorn with gevent workers, as the README deploys the gates: two processes, each
    with its own group commit. One token raced by 50 gates is granted once; 200 distinct
    tokens from 20 gates at once are each granted once; every check is one log row and every
    granted token id is used up; the checks that met shared commits (rows written by one
    transaction share its xmin)."""
    users = [make_user() for _ in range(20)]
    for user in users:
        card_for(user)
    gates = [make_gate()[0] for _ in range(4)]
    cards = {c.user_id: c for c in db.session.scalars(db.select(Card))}

    def token(user):
        return service.sign_token(db.session, cards[user.id])[0]

    server_url = gunicorn_server("gevent", workers=2)
    for gate_key in gates:  # the first check at each gate is Flask's; it fills the caches
        assert _verify(server_url, gate_key, "not-a-token") == "malformed"

    one = token(users[0])
    results = race(50, lambda i: _verify(server_url, gates[i % 4], one))
    assert Counter(results) == {"ok": 1, "replayed": 49}, results

    tokens = [token(users[i % 20]) for i in range(200)]
    results = race(20, lambda i: [_verify(server_url, gates[i % 4], t) for t in tokens[i::20]])
    assert Counter(r for batch in results for r in batch) == {"ok": 200}, results

    assert _logged() == {"malformed": 4, "ok": 201, "replayed": 49}
    used = set(db.session.scalars(db.select(UsedToken.jti)))
    assert {verifier.parse_unverified(t)[1]["jti"] for t in [one, *tokens]} <= used
    commits = db.session.scalar(db.text("SELECT count(DISTINCT xmin::text) FROM eid_access_log"))
    assert commits < 254 - 20, commits


def test_concurrent_card_requests_issue_one_card(app, live_server, resident, bearer):
    headers = bearer(resident)

    def call(_i):
        return requests.post(f"{live_server.url}/api/v1/eid/cards", headers=headers,
                             timeout=30).status_code

    results = race(10, call)
    assert Counter(results) == {201: 1, 409: 9}, results
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Card.id))) == 1
