"""Idempotency keys (portal.idempotency), on a route of their own: scoped to the caller, bound to
the request, the first success replayed, another request with the key 422, one in flight 409,
errors not kept, 24 hours, racing retries run the work once (real clients on PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import requests
from flask import jsonify, request
from sqlalchemy import func, select, update

from portal import idempotency
from portal.errors import Conflict
from portal.extensions import db
from portal.idempotency import IdempotencyKey
from portal.types import utcnow
from tests.concurrency import race
from tests.conftest import LiveServer, requires_postgres

URL = "/api/v1/test-idempotency/orders"
FAILING = "/api/v1/test-idempotency/failing"


class Work:
    """What the route did: one entry per time its body ran."""

    def __init__(self):
        self.runs: list[dict] = []
        self.lock = threading.Lock()
        self.delay = 0.0


@pytest.fixture
def shop(app, make_app):
    """(app, work): an app with a POST that takes an Idempotency-Key and counts its runs."""
    new = make_app()
    work = Work()

    @idempotency.idempotent
    def orders():
        body = request.get_json()
        time.sleep(work.delay)
        with work.lock:
            work.runs.append(body)
            number = len(work.runs)
        return jsonify({"order": number, "asked": body, "token": idempotency.current_token()}), 201

    @idempotency.idempotent
    def failing():
        with work.lock:
            work.runs.append(request.get_json())
        raise Conflict(code="sold_out")

    new.add_url_rule(URL, "orders", orders, methods=["POST"])
    new.add_url_rule(FAILING, "failing", failing, methods=["POST"])
    return new, work


def _keys() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(IdempotencyKey))


def test_the_same_key_and_body_replay_the_first_answer(shop):
    app, work = shop
    client = app.test_client()
    first = client.post(URL, json={"item": "a", "n": 1}, headers={"Idempotency-Key": "k-1"})
    again = client.post(URL, json={"n": 1, "item": "a"}, headers={"Idempotency-Key": "k-1"})  # same JSON
    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert again.get_json()["token"].startswith("idem:")
    assert len(work.runs) == 1
    # Another key is another request; no key, no memory.
    assert client.post(URL, json={"item": "a", "n": 1}, headers={"Idempotency-Key": "k-2"}).get_json()["order"] == 2
    assert client.post(URL, json={"item": "a", "n": 1}).get_json() == {"order": 3, "asked": {"item": "a", "n": 1},
                                                                        "token": None}


def test_the_same_key_with_another_request_is_422_and_shows_nothing(shop):
    app, work = shop
    client = app.test_client()
    alice = client.post(URL, json={"slot": 1, "seats": 1}, headers={"Idempotency-Key": "shared"})
    assert alice.status_code == 201
    for body, path in (({"slot": 2, "seats": 4}, URL), ({"slot": 1, "seats": 1}, FAILING)):
        bob = client.post(path, json=body, headers={"Idempotency-Key": "shared"})
        assert bob.status_code == 422, bob.get_data(as_text=True)
        assert bob.get_json()["error"]["code"] == "idempotency_key_reused"
        assert "order" not in bob.get_data(as_text=True)
    assert len(work.runs) == 1


def test_keys_are_the_callers(shop, make_user, bearer):
    app, work = shop
    client = app.test_client()
    alice, bob = bearer(make_user()), bearer(make_user())
    body = {"slot": 1, "seats": 1}
    first = client.post(URL, json=body, headers={**alice, "Idempotency-Key": "k"})
    # Bob's key is Bob's: the same key and body are another request, never Alice's answer.
    other = client.post(URL, json=body, headers={**bob, "Idempotency-Key": "k"})
    assert first.get_json()["order"] == 1 and other.get_json()["order"] == 2
    assert "Idempotent-Replayed" not in other.headers
    # Nor a guest's.
    guest = client.post(URL, json=body, headers={"Idempotency-Key": "k"})
    assert guest.get_json()["order"] == 3
    # Alice's retry is hers.
    assert client.post(URL, json=body, headers={**alice, "Idempotency-Key": "k"}).get_data() == first.get_data()
    assert len(work.runs) == 3
    db.session.expire_all()
    assert sorted(db.session.scalars(select(IdempotencyKey.scope))) == sorted(
        ["guest", *(f"user:{row.user_id}" for row in _tokens())])


def _tokens():
    from portal.accounts.models import ApiToken

    return list(db.session.scalars(select(ApiToken)))


def test_an_error_is_not_kept(shop):
    app, work = shop
    client = app.test_client()
    for _ in range(2):  # the retry runs again: an error leaves nothing done
        resp = client.post(FAILING, json={"x": 1}, headers={"Idempotency-Key": "fails"})
        assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "sold_out"
    assert len(work.runs) == 2 and _keys() == 0


def test_a_request_in_flight_is_409_and_a_dead_one_is_taken_over(shop):
    app, work = shop
    client = app.test_client()
    body = {"item": "b"}
    with app.test_request_context(URL, method="POST", json=body):
        digest = idempotency.request_fingerprint()
    claim = idempotency.begin(db.session, idempotency.GUEST, "busy", digest)
    busy = client.post(URL, json=body, headers={"Idempotency-Key": "busy"})
    assert busy.status_code == 409 and busy.get_json()["error"]["code"] == "idempotency_key_in_use"
    assert busy.headers["Retry-After"] == "1"
    # Another body with the key is still refused as another request.
    assert client.post(URL, json={"item": "c"}, headers={"Idempotency-Key": "busy"}).status_code == 422
    assert work.runs == []
    # The request holding it died (no answer after IDEMPOTENCY_IN_FLIGHT_SECONDS): a retry runs,
    # with the same claim token, so what the dead one made can be found again.
    db.session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(seconds=61)))
    db.session.commit()
    taken = client.post(URL, json=body, headers={"Idempotency-Key": "busy"})
    assert taken.status_code == 201 and taken.get_json()["token"] == claim.token
    assert client.post(URL, json=body, headers={"Idempotency-Key": "busy"}).get_data() == taken.get_data()
    assert len(work.runs) == 1


def test_keys_are_kept_24_hours_then_new_again_and_purged(app, shop):
    shop_app, work = shop
    client = shop_app.test_client()
    body = {"item": "d"}
    first = client.post(URL, json=body, headers={"Idempotency-Key": "old"})
    client.post(URL, json=body, headers={"Idempotency-Key": "recent"})
    db.session.execute(update(IdempotencyKey).where(IdempotencyKey.key == "old")
                       .values(created_at=utcnow() - timedelta(hours=23, minutes=59)))
    db.session.commit()
    assert client.post(URL, json=body, headers={"Idempotency-Key": "old"}).get_data() == first.get_data()
    db.session.execute(update(IdempotencyKey).where(IdempotencyKey.key == "old")
                       .values(created_at=utcnow() - timedelta(hours=24, seconds=1)))
    db.session.commit()
    # Older than 24 h, the key is new again (before any purge), even with another body.
    again = client.post(URL, json={"item": "e"}, headers={"Idempotency-Key": "old"})
    assert again.status_code == 201 and again.get_json()["order"] == 3
    assert again.get_json()["token"] != first.get_json()["token"]
    # The purge (beat task and command) deletes what is older than 24 h.
    db.session.execute(update(IdempotencyKey).where(IdempotencyKey.key == "old")
                       .values(created_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["idempotency", "purge"])
    assert result.exit_code == 0 and "purged 1 idempotency keys" in result.output
    assert _keys() == 1
    db.session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    assert idempotency.purge_task.delay().get() == 1 and _keys() == 0
    schedule = app.extensions["celery"].conf.beat_schedule
    assert any(entry["task"] == "portal.idempotency.purge" for entry in schedule.values())


def test_the_keeping_times_are_settings(shop, monkeypatch):
    shop_app, work = shop
    shop_app.config["IDEMPOTENCY_KEY_HOURS"] = "2"
    monkeypatch.setenv("IDEMPOTENCY_IN_FLIGHT_SECONDS", "10")  # read from the environment too
    client = shop_app.test_client()
    client.post(URL, json={"item": "h"}, headers={"Idempotency-Key": "short"})
    db.session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=2, seconds=1)))
    db.session.commit()
    assert client.post(URL, json={"item": "i"}, headers={"Idempotency-Key": "short"}).status_code == 201
    with shop_app.test_request_context(URL, method="POST", json={"item": "j"}):
        digest = idempotency.request_fingerprint()
    idempotency.begin(db.session, idempotency.GUEST, "stuck", digest)
    db.session.execute(update(IdempotencyKey).where(IdempotencyKey.key == "stuck")
                       .values(created_at=utcnow() - timedelta(seconds=11)))
    db.session.commit()
    assert client.post(URL, json={"item": "j"}, headers={"Idempotency-Key": "stuck"}).status_code == 201
    assert len(work.runs) == 3


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "ключ", "a\tb"])
def test_a_malformed_key_is_422(shop, key):
    app, work = shop
    resp = app.test_client().post(URL, json={"item": "f"}, headers={"Idempotency-Key": key})
    assert resp.status_code == 422 and "Idempotency-Key" in resp.get_json()["error"]["fields"]
    assert work.runs == []


def test_a_quoted_key_is_the_same_key(shop):
    app, work = shop
    client = app.test_client()
    first = client.post(URL, json={"item": "g"}, headers={"Idempotency-Key": '"abc"'})
    assert client.post(URL, json={"item": "g"}, headers={"Idempotency-Key": "abc"}).get_data() == first.get_data()
    assert len(work.runs) == 1


def test_the_fingerprint_is_method_path_and_canonical_body():
    fp = idempotency.fingerprint
    assert fp("POST", "/a", {"x": 1, "y": [1, 2]}) == fp("post", "/a", {"y": [1, 2], "x": 1})
    assert fp("POST", "/a", {"x": 1}) != fp("POST", "/b", {"x": 1})
    assert fp("POST", "/a", {"x": 1}) != fp("PUT", "/a", {"x": 1})
    assert fp("POST", "/a", {"x": 1}) != fp("POST", "/a", {"x": 2})
    assert fp("POST", "/a", {"x": "\ud800"})  # a lone surrogate does not break it
    assert fp("POST", "/a", b"raw") != fp("POST", "/a", b"raw2")


def test_the_openapi_operation_gets_the_header_and_its_answers():
    op = idempotency.openapi_operation({"responses": {"201": {"description": "made"},
                                                      "409": {"description": "sold_out"},
                                                      "422": {"$ref": "#/components/responses/Error"}}})
    assert op["parameters"] == [idempotency.OPENAPI_PARAMETER]
    assert "sold_out" in op["responses"]["409"]["description"]
    assert "idempotency_key_in_use" in op["responses"]["409"]["description"]
    assert "Retry-After" in op["responses"]["409"]["headers"]
    assert "idempotency_key_reused" in op["responses"]["422"]["description"]
    assert "Idempotent-Replayed" in op["responses"]["201"]["headers"]


@requires_postgres
def test_racing_retries_with_one_key_run_once(shop):
    """Real concurrent clients with one key and one body: the work runs once; every answer is
    that first success (201) or 409 in flight, and a retry afterwards replays it."""
    app, work = shop
    work.delay = 0.3
    server = LiveServer(app).start()
    try:
        def attempt(_i):
            resp = requests.post(server.url + URL, json={"item": "race"}, timeout=30,
                                 headers={"Idempotency-Key": "race-key"})
            return resp.status_code, resp.text

        results = race(16, attempt)
        statuses = Counter(r[0] for r in results if isinstance(r, tuple))
        assert set(statuses) <= {201, 409} and statuses[201] >= 1, results
        assert len({text for status, text in results if status == 201}) == 1
        assert len(work.runs) == 1
        later = requests.post(server.url + URL, json={"item": "race"}, headers={"Idempotency-Key": "race-key"},
                              timeout=30)
        assert later.status_code == 201 and later.headers["Idempotent-Replayed"] == "true"
        assert later.text == next(text for status, text in results if status == 201)
    finally:
        server.stop()
