"""Races decided by the database and Redis, with real concurrent HTTP clients."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests

from portal.eid.models import AccessEntry, Card
from portal.extensions import db
from tests.conftest import requires_postgres

pytestmark = requires_postgres


def race(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _fifty_gates_one_token(live_server, resident, card_for, token_for, make_gate):
    card_for(resident)
    gates = [make_gate()[0] for _ in range(2)]
    token = token_for(resident)

    def call(i):
        response = requests.post(f"{live_server.url}/api/v1/eid/verify", json={"token": token},
                                 headers={"Authorization": f"Bearer {gates[i % 2]}"}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["reason"]

    results = race(50, call)
    assert Counter(results) == {"ok": 1, "replayed": 49}, results
    db.session.expire_all()
    logged = Counter(db.session.scalars(db.select(AccessEntry.reason)))
    assert logged == {"ok": 1, "replayed": 49}


def test_fifty_concurrent_verifies_grant_once_with_redis(app, redis_url, live_server, resident,
                                                         card_for, token_for, make_gate):
    if not redis_url:
        pytest.skip("needs Redis (set REDIS_URL)")
    _fifty_gates_one_token(live_server, resident, card_for, token_for, make_gate)


def test_fifty_concurrent_verifies_grant_once_with_the_database(app, live_server, resident,
                                                                card_for, token_for, make_gate):
    app.config["REDIS_URL"] = None  # the replay store falls back to the used-token table
    _fifty_gates_one_token(live_server, resident, card_for, token_for, make_gate)


def test_concurrent_card_requests_issue_one_card(app, live_server, resident, bearer):
    headers = bearer(resident)

    def call(_i):
        return requests.post(f"{live_server.url}/api/v1/eid/cards", headers=headers,
                             timeout=30).status_code

    results = race(10, call)
    assert Counter(results) == {201: 1, 409: 9}, results
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Card.id))) == 1
