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
    _listing, slot = make_listing(capacity=50)
    url, slot_id = live_server.url + "/api/v1/tourism/bookings", slot.id

    def attempt(_i):
        resp = requests.post(url, json=booking_body(slot_id, quantity=2),
                             headers={"Idempotency-Key": "same-key-under-race"}, timeout=30)
        return resp.status_code, resp.json().get("reference")

    results = race(12, attempt)
    assert {r[0] for r in results} == {201}, results
    assert len({r[1] for r in results}) == 1
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


def test_lazy_and_beat_releases_racing_give_seats_back_once(live_server, make_listing):
    from datetime import timedelta

    from sqlalchemy import update

    from portal.types import utcnow

    _listing, slot = make_listing(capacity=12)
    slot_id, listing_id = slot.id, slot.listing_id
    base = live_server.url + "/api/v1/tourism"
    for i in range(10):
        assert requests.post(base + "/bookings", json=booking_body(slot_id, email=f"h{i}@example.com"),
                             timeout=30).status_code == 201
    db.session.execute(update(Booking).values(hold_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    def read(_i):
        resp = requests.get(f"{base}/listings/{listing_id}", timeout=30)
        return resp.status_code, resp.json()["slots"][0]["available"]

    results = race(10, read)
    assert {r[0] for r in results} == {200}, results
    assert taken(slot_id) == 0
    assert db.session.scalar(select(func.count()).select_from(Booking).where(Booking.status == "expired")) == 10
