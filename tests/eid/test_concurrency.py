"""Races decided by the database and Redis, with real concurrent HTTP clients."""

from __future__ import annotations

from collections import Counter

import pytest
import requests

from portal.eid import keys, service
from portal.eid.models import AccessEntry, Card
from portal.extensions import db
from tests.concurrency import race
from tests.conftest import requires_postgres

pytestmark = requires_postgres


def _fifty_gates_one_token(app, live_server, resident, card_for, token_for, make_gate,
                           monkeypatch):
    """Through the fast path (portal/eid/fastpath.py): its caches are warmed first, as a
    first verify answered by Flask leaves them, and kept warm for the race."""
    monkeypatch.setattr(service._GateCache, "TTL", 300.0)
    monkeypatch.setattr(keys._KeyCache, "TTL", 300.0)
    card_for(resident)
    gates = [make_gate()[0] for _ in range(2)]
    token = token_for(resident)
    for gate_key in gates:
        service.authenticate_gate(db.session, gate_key)
    keys.public_keys(db.session)
    db.session.commit()
    fast = app.extensions["eid_fast_path"]
    served = fast.served
    writer = fast._make_backend().writer
    batches, rows = writer.batches, writer.rows

    def call(i):
        response = requests.post(f"{live_server.url}/api/v1/eid/verify", json={"token": token},
                                 headers={"Authorization": f"Bearer {gates[i % 2]}"}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["reason"]

    results = race(50, call)
    assert Counter(results) == {"ok": 1, "replayed": 49}, results
    assert fast.served - served == 50  # every one answered in front of Flask
    assert writer.rows - rows == 50
    assert writer.batches - batches < 50  # concurrent decisions shared commits
    db.session.expire_all()
    logged = Counter(db.session.scalars(db.select(AccessEntry.reason)))
    assert logged == {"ok": 1, "replayed": 49}


def test_fifty_concurrent_verifies_grant_once_with_redis(app, redis_url, live_server, resident,
                                                         card_for, token_for, make_gate,
                                                         monkeypatch):
    if not redis_url:
        pytest.skip("needs Redis (set REDIS_URL)")
    _fifty_gates_one_token(app, live_server, resident, card_for, token_for, make_gate, monkeypatch)


def test_fifty_concurrent_verifies_grant_once_with_the_database(app, live_server, resident,
                                                                card_for, token_for, make_gate,
                                                                monkeypatch):
    app.config["REDIS_URL"] = None  # the replay store falls back to the used-token table
    _fifty_gates_one_token(app, live_server, resident, card_for, token_for, make_gate, monkeypatch)


def test_concurrent_card_requests_issue_one_card(app, live_server, resident, bearer):
    headers = bearer(resident)

    def call(_i):
        return requests.post(f"{live_server.url}/api/v1/eid/cards", headers=headers,
                             timeout=30).status_code

    results = race(10, call)
    assert Counter(results) == {201: 1, 409: 9}, results
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Card.id))) == 1
