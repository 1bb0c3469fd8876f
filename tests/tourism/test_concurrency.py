"""Races decided by PostgreSQL: real concurrent HTTP clients against the live server."""

from __future__ import annotations

from collections import Counter

import requests
from sqlalchemy import func, select

from portal.extensions import db
from tests.concurrency import race
from tests.conftest import requires_postgres
from tourism.models import Booking, Payment

from .conftest import booking_body, taken

pytestmark = requires_postgres


def test_concurrent_bookings_never_exceed_capacity(live_server, make_listing):
    _listing, slot = make_listing(capacity=20)
    url, slot_id = live_server.url + "/api/v1/tourism/bookings", slot.id

    def attempt(i):
        resp = requests.post(url, json=booking_body(slot_id, email=f"g{i}@example.com"), timeout=30)
        return resp.status_code, (resp.json().get("error") or {}).get("code")

    results = race(60, attempt)
    statuses = Counter(r[0] for r in results if isinstance(r, tuple))
    assert statuses == {201: 20, 409: 40}, results
    assert all(r[1] == "sold_out" for r in results if r[0] == 409)
    assert taken(slot.id) == 20
    assert db.session.scalar(select(func.count()).select_from(Booking).where(Booking.slot_id == slot.id)) == 20


def test_concurrent_retries_with_one_key_make_one_booking(live_server, make_listing):
    """Racing retries with one key and one body hold seats once. Issue 12 changed the answers:
    before, every racing retry waited and answered 201; now (the draft's rule) a retry that
    arrives while the first is in flight is 409 idempotency_key_in_use, and one that arrives
    after it replays the first answer."""
    _listing, slot = make_listing(capacity=50)
    url, slot_id = live_server.url + "/api/v1/tourism/bookings", slot.id

    def attempt(_i):
        resp = requests.post(url, json=booking_body(slot_id, quantity=2),
                             headers={"Idempotency-Key": "same-key-under-race"}, timeout=30)
        return resp.status_code, resp.text, (resp.json().get("error") or {}).get("code")

    results = race(12, attempt)
    statuses = Counter(r[0] for r in results if isinstance(r, tuple))
    assert set(statuses) <= {201, 409} and statuses[201] >= 1, results
    assert {r[2] for r in results if r[0] == 409} <= {"idempotency_key_in_use"}
    assert len({r[1] for r in results if r[0] == 201}) == 1  # the one answer, replayed
    assert taken(slot.id) == 2
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
    later = requests.post(url, json=booking_body(slot_id, quantity=2),
                          headers={"Idempotency-Key": "same-key-under-race"}, timeout=30)
    assert later.status_code == 201 and later.text == next(r[1] for r in results if r[0] == 201)
    assert later.headers["Idempotent-Replayed"] == "true"


def test_racing_callers_with_one_key_each_get_their_own_answer_or_none(live_server, make_listing, make_user,
                                                                       bearer):
    """Guests and signed-in users racing with one key and different slots and quantities: every
    201 is for the slot and seats its own request asked for; of the guests one books (the others
    422 or 409), every signed-in user books."""
    slots = [make_listing(capacity=50)[1].id for _ in range(3)]
    users = [bearer(make_user()) for _ in range(4)]
    url = live_server.url + "/api/v1/tourism/bookings"

    def attempt(i):
        slot_id, quantity = slots[i % 3], 1 + i % 4
        headers = {"Idempotency-Key": "k-123", **(users[i - 8] if i >= 8 else {})}
        resp = requests.post(url, json=booking_body(slot_id, quantity, email=f"c{i}@example.com"),
                             headers=headers, timeout=30)
        data = resp.json()
        return i, resp.status_code, data.get("slot", {}).get("id"), data.get("quantity"), \
            (data.get("error") or {}).get("code")

    results = race(12, attempt)
    assert all(isinstance(r, tuple) for r in results), results
    for i, status, slot_id, quantity, _code in results:
        if status == 201:
            assert (slot_id, quantity) == (slots[i % 3], 1 + i % 4), results
    guests = [r for r in results if r[0] < 8]
    assert sum(1 for r in guests if r[1] == 201) == 1, results
    assert {r[4] for r in guests if r[1] != 201} <= {"idempotency_key_reused", "idempotency_key_in_use"}
    assert all(r[1] == 201 for r in results if r[0] >= 8), results
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 5


def test_a_booking_form_sent_many_times_at_once_makes_one_booking(live_server, make_listing):
    """A double (or sextuple) click on the booking form: each sending waits for the first one's
    answer and is sent to the same booking."""
    import re

    _listing, slot = make_listing(capacity=50)
    browser = requests.Session()
    page = browser.get(f"{live_server.url}/tourism/slots/{slot.id}/book?lang=en", timeout=30).text
    form = {"csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1),
            "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1),
            "name": "Mina Park", "email": "mina@example.com", "quantity": "2"}

    def send(_i):
        resp = browser.post(f"{live_server.url}/tourism/slots/{slot.id}/book", data=form, timeout=30,
                            allow_redirects=False)
        return resp.status_code, resp.headers.get("Location")

    results = race(6, send)
    assert {r[0] for r in results} == {302}, results
    assert len({r[1] for r in results}) == 1 and "/tourism/bookings/" in results[0][1]
    assert taken(slot.id) == 2
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


def test_concurrent_callbacks_and_cancels_confirm_once_and_refund_once(live_server, make_listing):
    from tourism import service

    from .conftest import signed_callback

    _listing, slot = make_listing(capacity=5, price=10000)
    base = live_server.url + "/api/v1/tourism"
    ref = requests.post(base + "/bookings", json=booking_body(slot.id), timeout=30).json()["reference"]
    payment, _url = service.start_payment(db.session, ref, "sandbox")
    body, signature = signed_callback(payment)

    def callback(_i):
        return requests.post(base + "/payments/sandbox/callback", data=body, timeout=30,
                             headers={"X-Sandbox-Signature": signature, "Content-Type": "application/json"}
                             ).status_code

    assert set(race(8, callback)) == {200}
    from .conftest import messages
    assert len(messages("tourism.confirmed")) == 1

    def cancel(_i):
        return requests.post(f"{base}/bookings/{ref}/cancel", json={"email": "guest@example.com"},
                             timeout=30).status_code

    assert set(race(8, cancel)) == {200}
    db.session.expire_all()
    paid = db.session.scalar(select(Payment).where(Payment.public_id == payment.public_id))
    assert paid.status == "refunded" and paid.refunded_amount == 10000
    assert taken(slot.id) == 0
    assert len(messages("tourism.cancelled")) == 1


def test_callbacks_racing_cancels_never_fail_and_refund_once(live_server, make_listing):
    from tourism import service

    from .conftest import signed_callback

    _listing, slot = make_listing(capacity=5, price=10000, hours=72, free_cancel_hours=24)
    slot_id = slot.id
    base = live_server.url + "/api/v1/tourism"
    ref = requests.post(base + "/bookings", json=booking_body(slot_id), timeout=30).json()["reference"]
    payment, _url = service.start_payment(db.session, ref, "sandbox")
    public_id = payment.public_id
    body, signature = signed_callback(payment)

    def either(i):
        if i % 2:
            return requests.post(base + "/payments/sandbox/callback", data=body, timeout=30, headers={
                "X-Sandbox-Signature": signature, "Content-Type": "application/json"}).status_code
        return requests.post(f"{base}/bookings/{ref}/cancel", json={"email": "guest@example.com"},
                             timeout=30).status_code

    assert set(race(12, either)) == {200}
    db.session.expire_all()
    paid = db.session.scalar(select(Payment).where(Payment.public_id == public_id))
    # Whichever came first, the money went back exactly once, in full (free cancellation).
    assert paid.status == "refunded" and paid.refunded_amount == 10000
    assert db.session.scalar(select(Booking.status).where(Booking.reference == ref)) == "cancelled"
    assert taken(slot_id) == 0


def test_beat_release_racing_the_write_paths_gives_seats_back_once(app, live_server, make_listing):
    """Reads release nothing (a GET never writes): holds whose time is up go back through the
    beat task and through the writes of their slot (a booking expires them before it takes its
    seats). Racing each other, they give each expired hold's seats back exactly once."""
    from datetime import timedelta

    from sqlalchemy import update

    from portal.types import utcnow
    from tourism.tasks import release_expired_holds

    _listing, slot = make_listing(capacity=12)
    slot_id, listing_id = slot.id, slot.listing_id
    base = live_server.url + "/api/v1/tourism"
    for i in range(10):
        assert requests.post(base + "/bookings", json=booking_body(slot_id, email=f"h{i}@example.com"),
                             timeout=30).status_code == 201
    db.session.execute(update(Booking).values(hold_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    def read_write_or_beat(i):
        if i % 3 == 0:  # the beat task, in a worker of its own
            with app.app_context():
                return "beat", release_expired_holds()
        if i % 3 == 1:  # a read: counts the expired seats as free, releases nothing
            resp = requests.get(f"{base}/listings/{listing_id}", timeout=30)
            return "read", resp.status_code
        resp = requests.post(base + "/bookings", json=booking_body(slot_id, email=f"n{i}@example.com"),
                             timeout=30)
        return "book", resp.status_code

    results = race(18, read_write_or_beat)
    assert all(isinstance(r, tuple) for r in results), results
    assert {r[1] for r in results if r[0] in ("read", "book")} == {200, 201}, results
    booked = sum(1 for r in results if r == ("book", 201))
    assert booked == 6
    assert release_expired_holds() == 0
    # Each of the 10 expired holds gave its seat back once: only the 6 new holds are taken.
    assert taken(slot_id) == 6
    assert db.session.scalar(select(func.count()).select_from(Booking).where(Booking.status == "expired")) == 10
    assert db.session.scalar(select(func.count()).select_from(Booking).where(Booking.status == "held")) == 6


def test_racing_holds_from_one_address_never_pass_its_limit(live_server, make_listing):
    """Four guests after 20 seats each (two requests of 10, every request a new email and another
    slot, so that no slot's row lock lines them up), all at once from one address: the address
    holds 20 seats, not more. The third email on, they are limited by the address, whatever
    X-Forwarded-For says (no trusted proxy)."""
    slot_ids = [make_listing(capacity=100)[1].id for _ in range(8)]
    url = live_server.url + "/api/v1/tourism/bookings"

    def attempt(i):
        resp = requests.post(url, json=booking_body(slot_ids[i], quantity=10, email=f"hoard{i}@example.com"),
                             headers={"X-Forwarded-For": f"203.0.113.{i}"}, timeout=30)
        return resp.status_code, (resp.json().get("error") or {}).get("code"), resp.headers.get("Retry-After")

    results = race(8, attempt)
    assert Counter(r[:2] for r in results) == {(201, None): 2, (429, "hold_limit"): 6}, results
    assert all(int(r[2]) > 0 for r in results if r[0] == 429)
    assert sum(taken(slot_id) for slot_id in slot_ids) == 20
    assert db.session.scalar(select(func.sum(Booking.quantity)).where(Booking.status == "held")) == 20


def test_racing_holds_of_one_email_never_pass_its_limit(live_server, make_listing):
    slot_ids = [make_listing(capacity=100)[1].id for _ in range(6)]
    url = live_server.url + "/api/v1/tourism/bookings"

    def attempt(i):
        resp = requests.post(url, json=booking_body(slot_ids[i], quantity=4, email="same@example.com"), timeout=30)
        return resp.status_code, (resp.json().get("error") or {}).get("code")

    results = race(6, attempt)
    assert Counter(results) == {(201, None): 2, (429, "hold_limit"): 4}, results
    assert sum(taken(slot_id) for slot_id in slot_ids) == 8
