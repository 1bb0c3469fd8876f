"""Gates never hang: faults at the gate checks on PostgreSQL, the drill on gunicorn with gevent
workers as the gates are deployed (``portal.eid.verify.group_commit``, ``wsgi``).

- Gates hang up mid-flight (50 clients that close the socket with a reset right after
  sending) and the leader's gate hangs up while its statement waits on a lock the test
  holds: the next check is answered within 1 s with the right decision, and nothing of the
  abandoned checks was written (each of their tokens passes afterwards).
- A statement stuck behind a lock is cancelled by the server (``lock_timeout``): its gate is
  told to try again (503 ``verify_unavailable``), in both paths, and the checks behind it
  are answered.
- The fast path's connection has its timeouts, and is replaced when a statement left it mid-
  transaction or the server ended it.

Every wait of these tests has a timeout, so that a gate process that hangs fails them.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import uuid
from collections import Counter
from urllib.parse import urlsplit

import psycopg
import pytest
import requests
from sqlalchemy.engine import make_url

from portal.eid import service, verifier
from portal.eid.errors import VerifyUnavailable
from portal.eid.models import AccessEntry, Card, UsedToken
from portal.eid.verify import gates
from portal.extensions import db
from tests.concurrency import race
from tests.conftest import requires_postgres

pytestmark = requires_postgres

VERIFY = "/api/v1/eid/verify"


@pytest.fixture
def conninfo(database_url) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


@pytest.fixture
def cards(make_user, card_for):
    """cards(n) -> n active cards' rows (one resident each)."""
    def make(n):
        for _ in range(n):
            card_for(make_user())
        return list(db.session.scalars(db.select(Card).order_by(Card.id)))
    return make


def token(card) -> str:
    return service.sign_token(db.session, card)[0]


def jti(token_: str) -> str:
    return verifier.parse_unverified(token_)[1]["jti"]


def check(url, gate_key, token_, timeout=5.0, **headers):
    """(status, reason or error code, seconds) of one verify call."""
    began = time.monotonic()
    response = requests.post(url + VERIFY, json={"token": token_}, timeout=timeout,
                             headers={"Authorization": f"Bearer {gate_key}", **headers})
    body = response.json()
    code = body["reason"] if response.status_code == 200 else body["error"]["code"]
    return response.status_code, code, time.monotonic() - began


def warm(url, gate_key) -> None:
    """A check Flask answers (a request with a cookie is Flask's): it fills the worker's gate
    and key caches, so that the fast path answers this gate for the next few seconds."""
    assert check(url, gate_key, "not-a-token", Cookie="warm=1")[:2] == (200, "malformed")


def send(url, gate_key, token_) -> socket.socket:
    """A verify request written on a socket of its own; the answer is never read."""
    parts = urlsplit(url)
    body = json.dumps({"token": token_}).encode()
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    sock.sendall(b"POST " + VERIFY.encode() + b" HTTP/1.1\r\nHost: gate\r\n"
                 b"Authorization: Bearer " + gate_key.encode() + b"\r\n"
                 b"Content-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
    return sock


def hang_up(sock: socket.socket) -> None:
    """Close at once with a reset (SO_LINGER 0), as a gate that gives up."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def batch_statements_waiting(watcher) -> int:
    """Fast-path statements (the group commit's) waiting for a lock right now."""
    return watcher.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE %s", ("%json_to_recordset%",)).fetchone()[0]


def wait_for(condition, what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.fixture
def lock_holder(conninfo):
    """lock_holder(jti): a transaction that has inserted ``jti`` as used and stays open, so
    that a check of that token waits for it; released (rolled back) after the test, or by
    ``release()``."""
    holders = []

    def hold(jti_: str):
        conn = psycopg.connect(conninfo)
        conn.execute("INSERT INTO eid_used_token (jti, expires_at) VALUES (%s, now())", (jti_,))
        holders.append(conn)
        return conn

    yield hold
    for conn in holders:
        conn.close()


def test_abandoned_checks_and_a_cancelled_leader_leave_the_gate_process_answering(
        gunicorn_server, cards, make_gate, conninfo, lock_holder, figures):
    # The server's own timeouts are long here, so that what ends the stuck statement and the
    # waiting checks is their gates hanging up, not a timeout.
    url = gunicorn_server("gevent", workers=1, EID_VERIFY_WAIT_SECONDS="30",
                          EID_VERIFY_STATEMENT_TIMEOUT_MS="30000", EID_VERIFY_LOCK_TIMEOUT_MS="30000")
    rows = cards(5)
    gate_key, _facility = make_gate()
    leader_token = token(rows[0])
    abandoned = [token(rows[1 + i % 4]) for i in range(50)]
    next_token = token(rows[0])

    holder = lock_holder(jti(leader_token))
    with psycopg.connect(conninfo, autocommit=True) as watcher:
        warm(url, gate_key)
        leader = send(url, gate_key, leader_token)  # leads, and its statement waits on the lock
        wait_for(lambda: batch_statements_waiting(watcher) == 1,
                 "the leader's statement did not wait on the lock")
        sockets = [send(url, gate_key, t) for t in abandoned]  # queued behind the leader
        time.sleep(1.0)
        for sock in sockets:
            hang_up(sock)
        time.sleep(0.5)
        hang_up(leader)  # the leader's gate hangs up mid-statement

        try:  # the lock is still held: the next check must not wait for it
            status, reason, seconds = check(url, gate_key, next_token, timeout=1.0)
        except requests.Timeout:
            pytest.fail("the next check was not answered within 1 s: the gate process hangs")
        assert (status, reason) == (200, "ok")
        assert seconds < 1.0
        # the leader's statement was cancelled on the server, not left to run on
        wait_for(lambda: batch_statements_waiting(watcher) == 0,
                 "the cancelled leader's statement still waits on the server", seconds=3)
        holder.rollback()

    # Nothing of the abandoned checks, nor of the cancelled statement, was written: each of
    # their tokens passes now, once.
    results = race(50, lambda i: check(url, gate_key, abandoned[i])[:2])
    assert Counter(results) == {(200, "ok"): 50}, results
    assert check(url, gate_key, leader_token)[:2] == (200, "ok")
    db.session.expire_all()
    logged = Counter(db.session.scalars(db.select(AccessEntry.reason)))
    assert logged == {"malformed": 1, "ok": 52}, logged
    figures(f"50 checks abandoned and the leader cancelled mid-statement: the next check "
            f"answered in {seconds * 1000:.0f} ms; 0 of the 51 abandoned checks written")


def test_a_check_stuck_behind_a_lock_is_told_to_try_again(gunicorn_server, cards, make_gate,
                                                           lock_holder):
    """As deployed, with the default timeouts: the stuck check answers 503 after
    ``EID_VERIFY_LOCK_TIMEOUT_MS``, the checks queued behind it are answered, and the stuck
    token is as good as new afterwards."""
    url = gunicorn_server("gevent", workers=1)
    rows = cards(2)
    gate_key, _facility = make_gate()
    stuck, other = token(rows[0]), token(rows[1])
    holder = lock_holder(jti(stuck))
    warm(url, gate_key)
    results: dict = {}

    def run(name, token_):
        try:
            results[name] = check(url, gate_key, token_, timeout=6.0)
        except requests.Timeout:
            results[name] = "no answer within 6 s"

    threads = [threading.Thread(target=run, args=("stuck", stuck))]
    threads[0].start()
    time.sleep(0.2)
    threads.append(threading.Thread(target=run, args=("other", other)))
    threads[1].start()
    for thread in threads:
        thread.join(10)
    holder.rollback()
    assert results["stuck"][:2] == (503, "verify_unavailable"), results
    assert results["stuck"][2] < 3.0, results
    assert results["other"][:2] == (200, "ok"), results
    assert check(url, gate_key, stuck)[:2] == (200, "ok")


# -- in this process: both paths, and the fast path's connection ------------------------------


@pytest.mark.parametrize("mode", ["flask", "fast"])
def test_a_statement_behind_a_lock_is_cancelled_by_the_server_in_both_paths(
        mode, app, monkeypatch, cards, make_gate, lock_holder, verify_by):
    from portal.eid import keys

    monkeypatch.setattr(gates.GateCache, "TTL", 300.0)
    monkeypatch.setattr(keys._KeyCache, "TTL", 300.0)
    (row,) = cards(1)
    gate_key, _facility = make_gate()
    stuck = token(row)
    holder = lock_holder(jti(stuck))
    releaser = threading.Timer(8.0, holder.rollback)  # without a timeout the check would wait
    releaser.start()                                  # for this, the test's own lock
    began = time.monotonic()
    try:
        response, fast = verify_by(mode, gate_key, stuck)
    finally:
        releaser.cancel()
        holder.rollback()
    status, body, seconds = response.status_code, response.get_json(), time.monotonic() - began
    assert fast == (mode == "fast")
    assert status == 503, (f"answered {status} after {seconds:.1f} s, once the test let go of "
                           "its lock: the check waited for it")
    assert body["error"]["code"] == "verify_unavailable"
    assert seconds < 3.0
    assert db.session.scalar(db.select(db.func.count()).select_from(AccessEntry)) == 0
    assert verify_by(mode, gate_key, stuck)[0].get_json()["reason"] == "ok"


@pytest.fixture
def backend(app):
    return app.extensions["eid_fast_path"]._make_backend()


def _gate(facility):
    gate_id = db.session.scalar(db.select(service.Gate.id).where(
        service.Gate.facility_id == facility.id))
    return service.GateInfo(id=gate_id, facility_id=facility.id, facility_code=facility.code,
                            policy={})


def test_a_batch_past_its_statement_timeout_is_told_to_try_again(app, cards, make_gate,
                                                                 lock_holder):
    """The statement of a batch cancelled by ``statement_timeout`` (here: behind a lock,
    with a lock timeout longer than it): every check of it is told to try again at once,
    none is retried alone (each would wait as long again), nothing is written."""
    from portal.eid.verify import store
    from portal.eid.verify.group_commit import Check, Timeouts, backend_for

    rows = cards(2)
    _key, facility = make_gate()
    gate = _gate(facility)
    tokens = [token(row) for row in rows]
    batch = [Check(store.batch_check(gate, "ok", verifier.parse_unverified(t)[1], row.public_id,
                                     time.time())) for t, row in zip(tokens, rows, strict=True)]
    slow = backend_for(db.engine, Timeouts(wait=5, statement_ms=300, lock_ms=10_000))
    holder = lock_holder(jti(tokens[0]))
    began = time.monotonic()
    try:
        with pytest.raises(VerifyUnavailable):
            slow._commit(batch, time.monotonic() + 5)
    finally:
        holder.rollback()
        if slow._conn is not None:
            slow._discard(slow._conn)
    assert time.monotonic() - began < 1.5
    assert slow.commits == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(AccessEntry)) == 0


def test_the_fast_path_connection_has_the_timeouts(app, backend):
    conn = backend._connection()
    assert conn.execute("SHOW statement_timeout").fetchone()[0] == "2s"
    assert conn.execute("SHOW lock_timeout").fetchone()[0] == "1s"


def test_the_fast_path_connection_is_replaced_when_left_mid_transaction_or_ended(
        app, backend, cards, make_gate, conninfo):
    (row,) = cards(1)
    _key, facility = make_gate()
    gate = _gate(facility)
    db.session.commit()

    def one_check():
        claims = {"jti": uuid.uuid4().hex, "exp": int(time.time()) + 60}
        return backend(gate, "ok", claims, row.public_id, time.time())[1]

    assert one_check() == "ok"
    left = backend._conn
    left.execute("BEGIN")  # as a statement interrupted between a BEGIN and its COMMIT would
    try:
        assert one_check() == "ok"
        assert backend._conn is not left and left.closed
    finally:
        left.close()  # its locks would outlive the test

    ended = backend._conn
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (ended.info.backend_pid,))
    with pytest.raises(VerifyUnavailable):  # lost with the connection: the gate tries again
        one_check()
    assert one_check() == "ok"  # on a new connection
    assert backend._conn is not ended
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(UsedToken)) == 3
