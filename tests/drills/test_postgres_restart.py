"""Drill (d): PostgreSQL restarted mid-run (issue 12).

The portal runs as deployed, in real processes: gunicorn (sync workers) and a Celery worker with
beat, on a PostgreSQL of the test's own and a private Redis, sending SMS through the ``http``
provider to a recording provider. Residents endorse proposals and hold seats of one slot (more
attempts than seats) while notices are produced and delivered; mid-run the database is stopped
(``pg_ctl -m fast``, with a delivery held in flight at the provider) and started again a few
seconds later. Then:

- during the outage every web answer is a 503 with ``Retry-After`` (the JSON error
  ``unavailable`` on the API, a page otherwise), and nothing anywhere in the run is a 500;
- every endorsement answered 201 is a row, and each proposal's counter equals its rows;
- the slot's ``taken`` equals the seats of its held and confirmed bookings, never more than its
  capacity, and every hold answered 201 is one of them;
- once the queue drains, the provider received every notice, and each once: a repeated
  ``Idempotency-Key`` is a failure unless that notice's request was in flight when the
  database went away (at most one per worker process), and such repeats are counted.
"""

from __future__ import annotations

import random
import re
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from bench.common import gunicorn
from portal.extensions import db
from tests.drills.conftest import unavailable
from tests.notify.rig import SECRET_KEY, PrivateRedis, Tally, Worker, sweeps, wait_until, worker_env

RESIDENTS = 60               # each endorses every proposal and asks for seats once
PROPOSALS = 3
CAPACITY = 20                # seats of the slot; the residents ask for 75
WAVE_SIZE, WAVE_PAUSE = 10, 0.2  # notices produced in waves while the load runs...
WAVES_AFTER = 5              # ...until this many waves after the restart
DOWN_SECONDS = 3.0           # how long PostgreSQL stays down
STUCK_SECONDS = 3            # NOTIFY_STUCK_SECONDS of the worker: the sweep's patience
WORKER_PROCESSES = 2         # the Worker's -c: at most one notice in flight per process
RETRY_PAUSE = 0.1            # a client's pause after a 503 (shorter than Retry-After, on purpose)
PASSWORD = "pw-12345678"  # noqa: S105 - the residents' (hashed with the tests' cheap argon2)

@dataclass
class Answer:
    kind: str
    path: str
    status: int
    sent: float
    answered: float
    error_code: str | None = None
    retry_after: str | None = None
    content_type: str = ""
    body: dict = field(default_factory=dict)


def sign_in(base: str, resident: int) -> requests.Session:
    """A browser signed in as a resident: the login form, its CSRF token, the session cookie."""
    http = requests.Session()
    page = http.get(base + "/account/login", timeout=30).text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    resp = http.post(base + "/account/login", timeout=30, allow_redirects=False, data={
        "email": f"drill-{resident}@example.kr", "password": PASSWORD, "csrf_token": csrf})
    assert resp.status_code == 302, resp.status_code
    return http


def _call(http: requests.Session, kind: str, method: str, url: str, **kwargs) -> Answer:
    sent = time.monotonic()
    resp = http.request(method, url, timeout=30, **kwargs)
    answer = Answer(kind, url.split("/", 3)[-1], resp.status_code, sent, time.monotonic(),
                    retry_after=resp.headers.get("Retry-After"),
                    content_type=resp.headers.get("Content-Type", ""))
    if answer.content_type.startswith("application/json"):
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            answer.body = body
            if isinstance(body.get("error"), dict):
                answer.error_code = body["error"].get("code")
    return answer


class Load:
    """Real concurrent clients: endorsers, bookers and readers, each on its own thread. A client
    given a 503 pauses briefly and asks again; every answer is kept.

    The writers stop at a gate after the first part of their work (a third of the endorsements,
    a few holds) until ``resume`` is set: the drill sets it as it stops the server, so the
    restart lands mid-run on any machine, with requests in flight."""

    def __init__(self, base: str, tokens: list[str], proposal_ids: list[int], slot_id: int, listing_id: int):
        self.base, self.tokens, self.slot_id, self.listing_id = base, tokens, slot_id, listing_id
        self.answers: list[Answer] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop_reading = threading.Event()
        self.halted = threading.Event()
        self.resume = threading.Event()
        self._at_gate = threading.Semaphore(0)
        self.endorsed_201: list[tuple[int, int]] = []   # (resident, proposal)
        self.held_201: list[tuple[int, str, int]] = []  # (resident, reference, quantity)
        pairs = [(r, p) for r in range(len(tokens)) for p in proposal_ids]
        random.Random(12).shuffle(pairs)
        residents = list(range(len(tokens)))
        random.Random(13).shuffle(residents)
        self.threads = [threading.Thread(target=self._guard, args=(self._endorse, pairs[i::3]), daemon=True)
                        for i in range(3)]
        self.threads += [threading.Thread(target=self._guard, args=(self._book, residents[i::2]), daemon=True)
                         for i in range(2)]
        self.endorse_before_gate = len(pairs) // 9   # per endorser: a third of its pairs
        self.book_before_gate = 4                    # per booker: at most 10 of the seats
        self.reader = threading.Thread(target=self._guard, args=(self._read, None), daemon=True)

    def start(self) -> Load:
        for t in [*self.threads, self.reader]:
            t.start()
        return self

    def wait_at_gate(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for _writer in self.threads:
            assert self._at_gate.acquire(timeout=max(0.1, deadline - time.monotonic())), \
                f"the writers did not reach their gate within {timeout} s"

    def _gate(self, done: int, before: int) -> None:
        if done == before:
            self._at_gate.release()
            self.resume.wait(120)

    def count(self, kind: str, status: int) -> int:
        with self.lock:
            return sum(1 for a in self.answers if a.kind == kind and a.status == status)

    def _guard(self, fn, jobs):
        try:
            fn(jobs)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            with self.lock:
                self.errors.append(f"{fn.__name__}: {type(exc).__name__}: {exc}")

    def halt(self) -> None:
        """Stop every client (a drill that failed half-way)."""
        self.halted.set()
        self.resume.set()
        self.stop_reading.set()

    def _until_answered(self, http, kind, method, path, **kwargs) -> Answer:
        while True:
            if self.halted.is_set():
                raise RuntimeError("halted")
            answer = _call(http, kind, method, self.base + path, **kwargs)
            with self.lock:
                self.answers.append(answer)
            if answer.status != 503:
                return answer
            time.sleep(RETRY_PAUSE)

    def _headers(self, resident: int) -> dict:
        return {"Authorization": f"Bearer {self.tokens[resident]}"}

    def _endorse(self, pairs):
        with requests.Session() as http:
            for n, (resident, proposal_id) in enumerate(pairs):
                self._gate(n, self.endorse_before_gate)
                answer = self._until_answered(http, "endorse", "POST",
                                              f"/api/v1/proposals/{proposal_id}/endorsement",
                                              headers=self._headers(resident))
                if answer.status == 201:
                    with self.lock:
                        self.endorsed_201.append((resident, proposal_id))

    def _book(self, residents):
        with requests.Session() as http:
            for n, resident in enumerate(residents):
                self._gate(n, self.book_before_gate)
                quantity = 2 if resident % 4 == 0 else 1
                body = {"slot_id": self.slot_id, "quantity": quantity, "locale": "en",
                        "guest": {"name": f"Resident {resident}", "email": f"drill-{resident}@example.kr"}}
                # a client that was not answered asks again with the same key: a hold made
                # before the connection broke is answered, never made twice
                headers = {**self._headers(resident), "Idempotency-Key": f"drill-d-hold-{resident}"}
                answer = self._until_answered(http, "book", "POST", "/api/v1/tourism/bookings",
                                              json=body, headers=headers)
                if answer.status == 201:
                    with self.lock:
                        self.held_201.append((resident, answer.body["reference"], answer.body["quantity"]))

    def _read(self, _jobs):
        """Reads: the API and a page as a visitor, the API with a bearer token, and a page as a
        resident signed in with the session cookie (a browser)."""
        with requests.Session() as visitor, requests.Session() as token, sign_in(self.base, 0) as browser:
            token.headers.update(self._headers(1))
            reads = [("api", visitor, "/api/v1/proposals"),
                     ("api", visitor, f"/api/v1/tourism/listings/{self.listing_id}"),
                     ("page", visitor, "/proposals/?lang=en"),
                     ("api", token, "/api/v1/proposals?limit=5"),
                     ("page", browser, "/proposals/"),
                     ("page", browser, "/tourism/")]
            i = 0
            while not self.stop_reading.is_set():
                kind, http, path = reads[i % len(reads)]
                answer = _call(http, kind, "GET", self.base + path)
                with self.lock:
                    self.answers.append(answer)
                i += 1
                time.sleep(0.02)

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        self.stop_reading.set()
        self.reader.join(10)
        stuck = [t for t in [*self.threads, self.reader] if t.is_alive()]
        assert not stuck, f"{len(stuck)} load clients did not finish in {timeout} s"


class Producer:
    """Notices written to the outbox in waves while the load runs, as a producer does (send_many,
    commit, queued after the commit), until WAVES_AFTER waves after the server is back. A wave
    whose commit fails is written again (same keys)."""

    def __init__(self, app, user_ids: list[int]):
        self.app, self.user_ids = app, user_ids
        self.restarted = threading.Event()
        self.halted = threading.Event()
        self.committed: list[str] = []   # keys of waves whose commit returned
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def items(self, wave: int) -> list[dict]:
        return [{"template": "notify.channel_check", "context": {"reference": f"D-{wave}-{i}"},
                 "idempotency_key": f"drill-d:{wave}:{i}", "channel": "sms",
                 "user_id": self.user_ids[(wave * WAVE_SIZE + i) % len(self.user_ids)]}
                for i in range(WAVE_SIZE)]

    def _run(self):
        from portal.notify import service
        try:
            wave, after = 0, 0
            while after < WAVES_AFTER and not self.halted.is_set():
                items = self.items(wave)
                deadline = time.monotonic() + 40
                while not self.halted.is_set():
                    with self.app.app_context():
                        try:
                            service.send_many(db.session, items)
                            db.session.commit()
                            break
                        except DBAPIError:
                            db.session.rollback()
                    assert time.monotonic() < deadline, "the outbox could not be written for 40 s"
                    time.sleep(RETRY_PAUSE)
                self.committed += [item["idempotency_key"] for item in items]
                wave += 1
                after += self.restarted.is_set()
                time.sleep(WAVE_PAUSE)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(f"{type(exc).__name__}: {exc}")


def _seed(app) -> dict:
    """Residents with bearer tokens and phones, proposals open for endorsement, one slot."""
    from portal.accounts import service as accounts
    from portal.types import utcnow
    from proposals import service as proposals
    from tourism.models import Listing, Slot
    from tourism.service import search_text

    with app.app_context():
        db.create_all()
        hashed = accounts.hash_password(PASSWORD)
        author = accounts.create_user(db.session, "drill-author@example.kr", None, verified=True,
                                      password_hash=hashed, district="성동구")
        residents = [accounts.create_user(db.session, f"drill-{i}@example.kr", None, verified=True,
                                          password_hash=hashed, district="성동구", locale="en",
                                          phone=f"010-5{i:03d}-{i:04d}") for i in range(RESIDENTS)]
        db.session.commit()
        tokens = [accounts.create_token(db.session, r, "drill")[0] for r in residents]
        proposal_ids = [proposals.create_proposal(db.session, author, {
            "title": f"드릴 제안 {n}: 통학로 안전", "body": "학교 앞 횡단보도에 신호등을 설치해 주세요. " * 3,
            "category": "safety"}).id for n in range(PROPOSALS)]
        name = {"ko": "여수 밤바다 크루즈", "en": "Yeosu Night Cruise", "zh": "丽水夜海游船"}
        listing = Listing(kind="event", area="ttukseom",
                          name=name, description=name, address=name, policy={}, free_cancel_hours=24,
                          late_refund_percent=50, active=True)
        listing.search_text = search_text(listing)
        db.session.add(listing)
        db.session.flush()
        slot = Slot(listing_id=listing.id, starts_at=utcnow() + timedelta(hours=72), capacity=CAPACITY,
                    price=20000, taken=0)
        db.session.add(slot)
        db.session.commit()
        return {"tokens": tokens, "user_ids": [r.id for r in residents], "proposal_ids": proposal_ids,
                "slot_id": slot.id, "listing_id": listing.id}


def _outbox_statuses(app) -> dict:
    from portal.notify.models import Message
    with app.app_context():
        return dict(db.session.execute(select(Message.status, func.count()).group_by(Message.status)).all())


@pytest.mark.timeout(180)
def test_postgres_restart_mid_run(private_postgres, recording_provider, make_app, tmp_path, figures):
    if not shutil.which("redis-server"):
        unavailable("redis-server not found: apt-get install redis-server")
    began = time.monotonic()
    pg, provider = private_postgres, recording_provider
    url = pg.create_database("drill")
    redis_server = PrivateRedis(tmp_path).start()
    settings = {**provider.settings(("SMS",)), "NOTIFY_STUCK_SECONDS": str(STUCK_SECONDS),
                "NOTIFY_BATCH_SIZE": "20", "NOTIFY_RATE_LIMIT_SMS": "0"}
    # the web and the worker alike (gunicorn's workers and Celery's read the same environment)
    env = worker_env(url, redis_server.url, **settings, PORTAL_ENV="development",
                     PORTAL_BASE_URL="https://portal.test", NOTIFY_SWEEP_INTERVAL="1",
                     PROPOSAL_ENDORSEMENT_THRESHOLD="100000", PROPOSAL_LIST_CACHE_SECONDS="0",
                     BOOKING_MAX_HELD_SEATS_PER_CLIENT="100000")
    app = make_app(SQLALCHEMY_DATABASE_URI=url, REDIS_URL=redis_server.url, SECRET_KEY=SECRET_KEY,
                   SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "hide_parameters": True},
                   CELERY={"task_always_eager": False, "broker_url": redis_server.url}, **settings)
    seeded = _seed(app)
    worker = load = producer = None
    try:
        worker = Worker(env, tmp_path, "drill", concurrency=WORKER_PROCESSES)  # starts while gunicorn does
        with gunicorn(env=env, workers=3, worker_class="sync", log_path=str(tmp_path / "gunicorn.log")) as base:
            worker.wait_ready()
            ready = time.monotonic()
            producer = Producer(app, seeded["user_ids"])
            load = Load(base, seeded["tokens"], seeded["proposal_ids"], seeded["slot_id"], seeded["listing_id"])
            producer.thread.start()
            load.start()

            # The restart lands mid-run: the writers did the first part of their work and wait
            # at their gate, notices were delivered, and one delivery is held in flight at the
            # provider; the writers resume as the server stops, so requests are cut off too.
            load.wait_at_gate(60)
            wait_until(lambda: provider.count() >= 20, 30, "notices delivered before the stop")
            provider.gate(after=provider.count())
            wait_until(provider.held, 20, "a delivery held in flight at the provider")
            before = {"endorse": load.count("endorse", 201), "book": load.count("book", 201),
                      "notices": provider.count()}
            down_began = time.monotonic()
            load.resume.set()
            pg.stop("fast")
            down = time.monotonic()
            provider.open()
            time.sleep(DOWN_SECONDS)
            up_began = time.monotonic()
            pg.start()
            up = time.monotonic()
            producer.restarted.set()

            load.join(timeout=60)
            producer.thread.join(60)
            finished = time.monotonic()
            assert not load.errors and not producer.errors, load.errors + producer.errors
            expected = len(producer.committed)
            # the HTTP provider took each one: "sent" (delivered only on a receipt, issue 16)
            wait_until(lambda: _outbox_statuses(app) == {"sent": expected}, 60,
                       "the queue to drain (every notice handed over)", step=0.3)
            drained = time.monotonic()
            worker.stop()  # a task still running finishes before the provider's record is read
        sweeps_ = sweeps(worker.text())
    finally:
        if producer is not None:
            producer.halted.set()
        if load is not None:
            load.halt()
        if worker is not None:
            worker.stop()
        redis_server.stop()

    # -- the web: 503 with the JSON error during the outage, never a 500 --------------------------
    answers = load.answers
    server_errors = [a for a in answers if a.status >= 500 and a.status != 503]
    during = [a for a in answers if a.sent >= down and a.answered <= up_began]
    wrong_during = [a for a in during if a.status != 503]
    answered_503 = [a for a in answers if a.status == 503]
    bad_503 = [a for a in answered_503 if not (a.retry_after or "").isdigit()
               or (a.kind != "page" and a.error_code != "unavailable")
               or (a.kind == "page" and not a.content_type.startswith("text/html"))]
    unexpected = [a for a in answers if a.status != 503 and (a.kind, a.status) not in {
        ("endorse", 201), ("endorse", 200), ("book", 201), ("book", 409), ("api", 200), ("page", 200)}]

    # -- endorsements, seats and notices in the database --------------------------------------------
    from portal.notify import sealing
    from portal.notify.models import Message
    from proposals.models import Endorsement, Proposal
    from tourism.models import Booking, Slot

    with app.app_context():
        ids = seeded["user_ids"]
        rows = {(ids.index(u), p) for u, p in db.session.execute(
            select(Endorsement.user_id, Endorsement.proposal_id))}
        counters = dict(db.session.execute(select(Proposal.id, Proposal.endorsement_count)).all())
        per_proposal = Counter(p for _u, p in rows)
        slot = db.session.get(Slot, seeded["slot_id"])
        holds = {ref: qty for ref, qty in db.session.execute(
            select(Booking.reference, Booking.quantity).where(
                Booking.slot_id == slot.id, Booking.status.in_(("held", "confirmed"))))}
        outbox = {sealing.reference(k): k for k in db.session.scalars(select(Message.idempotency_key))}
        taken, capacity = slot.taken, slot.capacity

    endorsed = Counter(load.endorsed_201)
    tally = Tally(provider.keys(), set(outbox))
    # in flight at the stop: a send whose outcome was not committed yet when the server went down.
    # A worker commits a send's outcome with its next step (claims.renew), so each worker process
    # may lose the outcome of its last send before the stop: that notice's first request reached
    # the provider before the server was down and its repeat came once the stop had begun. (A
    # window on the provider's answer alone, answered after the stop began, missed a send answered
    # just before it whose commit came after it: seen on a loaded 2-core machine.) Anything else
    # sent twice (twice before the stop, twice after the restart) is a failure, and the repeats
    # are at most one per worker process (asserted below).
    first: dict = {}
    for r in sorted(provider.received, key=lambda r: r.number):
        first.setdefault(r.key, r)
    in_flight = {r.key for r in provider.received
                 if r is not first[r.key] and r.received >= down_began and first[r.key].received <= down}
    twice = tally.twice
    twice_not_in_flight = {outbox.get(k, k): n for k, n in twice.items() if k not in in_flight}
    lost = sorted(outbox[ref] for ref in tally.lost)
    strangers = sorted(tally.strangers, key=str)
    held = dict((ref, qty) for _r, ref, qty in load.held_201)
    sold_out = sum(1 for a in answers if a.kind == "book" and a.error_code == "sold_out")

    elapsed = time.monotonic() - began
    figures(f"drill (d) PostgreSQL restart: down {up - down_began:.1f} s; web: {len(answers)} answers, "
            f"{len(answered_503)} × 503 ({len(during)} during the outage), {len(server_errors)} × 500; "
            f"endorsements {len(endorsed)} answered 201 ({before['endorse']} before the stop), "
            f"{len(rows)} rows, counters {sum(counters.values())}; seats {taken}/{capacity} taken, "
            f"{sum(holds.values())} held ({len(held)} holds answered 201, {len(set(holds) - set(held))} unanswered, "
            f"{sold_out} sold out); notices {len(outbox)} written, {len(tally.counts)} delivered, "
            f"{len(twice)} twice ({len(set(twice) & in_flight)} in flight at the stop), {len(lost)} lost, "
            f"{sweeps_} re-queued by the sweep; {elapsed:.0f} s (ready {ready - began:.0f} s, "
            f"load {finished - ready:.0f} s, drained {drained - finished:.0f} s later)")

    assert not server_errors, (Counter((a.status, a.path) for a in server_errors), f"see {tmp_path}/gunicorn.log")
    assert not wrong_during, Counter((a.status, a.path) for a in wrong_during)
    after = [a.kind for a in answers if a.sent >= up and a.status == 201]
    assert before["endorse"] and before["book"] and "endorse" in after and "book" in after, \
        "endorsements and holds succeed before the stop and after the restart"
    assert before["notices"] and any(r.received >= up for r in provider.received), \
        "notices are delivered before the stop and after the restart"
    assert len(during) >= 5, "the web was asked during the outage"
    assert not bad_503, [(a.kind, a.retry_after, a.error_code, a.content_type) for a in bad_503][:20]
    assert not unexpected, Counter((a.kind, a.status, a.error_code) for a in unexpected)

    assert set(endorsed.values()) <= {1}, "an endorsement was created twice"
    assert set(endorsed) <= rows, f"answered 201 but not in the table: {sorted(set(endorsed) - rows)[:10]}"
    assert len(rows) == RESIDENTS * PROPOSALS, "every resident ends up endorsing every proposal"
    assert {p: counters[p] for p in seeded["proposal_ids"]} == dict(per_proposal), "a counter is not its rows"

    assert taken == sum(holds.values()) <= capacity, (taken, sum(holds.values()), capacity)
    assert set(held) <= set(holds), "a hold answered 201 is not in the table"
    assert set(holds) <= set(held), f"holds nobody was told of (a retry made a second): {set(holds) - set(held)}"
    assert sold_out > 0, "more seats were asked for than the slot has"

    assert len(outbox) == expected and set(producer.committed) <= set(outbox.values())
    assert not lost, f"{len(lost)} notices never reached the provider: {lost[:10]}"
    assert not strangers, f"the provider received keys of no notice: {strangers[:5]}"
    assert not twice_not_in_flight, f"notices sent twice: {twice_not_in_flight}"
    assert len(twice) <= WORKER_PROCESSES, twice


@pytest.mark.timeout(60)
def test_requests_the_stop_cuts_off_answer_503_not_500(private_postgres, make_app):
    """The drill's 500s, each made to happen every time: the server stops (1) before a signed-in
    browser's page, which renders the error page with the user still to be loaded; (2) in the
    middle of an API request whose user was loaded (the rollback expires it, and choosing the
    language of the error loads it again); (3) after the answer was made, while the request's
    session still holds a transaction (closing it fails)."""
    from flask import jsonify
    from sqlalchemy import text

    from portal.accounts import service as accounts

    url = private_postgres.create_database("cut")
    app = make_app(SQLALCHEMY_DATABASE_URI=url,
                   SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "hide_parameters": True})
    with app.app_context():
        db.create_all()
        user = accounts.create_user(db.session, "cut@example.kr", None, password_hash="x", verified=True)
        db.session.commit()
        session_id, token = user.get_id(), accounts.create_token(db.session, user, "cut")[0]

    def cut_mid_request():
        private_postgres.stop("fast")
        db.session.execute(text("SELECT 1"))
        return jsonify({})

    def cut_after_answer():
        db.session.execute(text("SELECT 1"))
        private_postgres.stop("fast")
        return jsonify({"answered": True})

    app.add_url_rule("/api/v1/drill/cut-mid-request", view_func=cut_mid_request)
    app.add_url_rule("/api/v1/drill/cut-after-answer", view_func=cut_after_answer)
    app.testing = False  # as deployed: what is not handled becomes a 500

    def ask(client, path, **kwargs):
        try:
            return client.get(path, **kwargs)
        except Exception as exc:  # noqa: BLE001 - under gunicorn this is a 500
            return f"500: {type(exc).__name__}"
        finally:
            if not private_postgres.running():
                private_postgres.start()

    failures = []
    browser = app.test_client()
    with browser.session_transaction() as cookie:
        cookie["_user_id"], cookie["_fresh"] = session_id, True
    assert browser.get("/proposals/").status_code == 200
    private_postgres.stop("fast")
    page = ask(browser, "/proposals/")
    if isinstance(page, str) or page.status_code != 503 or not page.headers["Retry-After"].isdigit():
        failures.append(f"(1) a signed-in page while the server is down: {page}")

    bearer = {"Authorization": f"Bearer {token}"}
    mid = ask(app.test_client(), "/api/v1/drill/cut-mid-request", headers=bearer)
    if isinstance(mid, str) or mid.status_code != 503 or mid.get_json()["error"]["code"] != "unavailable":
        failures.append(f"(2) an API request cut off in the middle: {mid}")

    after = ask(app.test_client(), "/api/v1/drill/cut-after-answer", headers=bearer)
    if isinstance(after, str) or after.status_code != 200 or after.get_json() != {"answered": True}:
        failures.append(f"(3) a request whose answer was made before the stop: {after}")
    assert not failures, failures
