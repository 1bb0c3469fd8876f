"""Holding seats through the API: holds, sold out, bad input, idempotency, finding a booking again."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.types import utcnow
from tourism.models import Booking

from .conftest import booking_body, bookings_count, taken


def test_booking_holds_seats_for_the_hold_time(client, make_listing, book):
    _listing, slot = make_listing(capacity=5, price=25000)
    before = utcnow()
    data = book(slot, quantity=2)
    assert data["status"] == "held"
    assert data["total"] == {"amount": 50000, "currency": "KRW"}
    assert len(data["reference"]) == 8 and not set(data["reference"]) & set("01OI")
    from datetime import datetime
    expires = datetime.fromisoformat(data["hold_expires_at"])
    assert timedelta(minutes=14) < expires - before <= timedelta(minutes=15, seconds=5)
    listing = client.get(f"/api/v1/tourism/listings/{slot.listing_id}").get_json()
    assert listing["slots"][0]["available"] == 3


def test_sold_out_is_409_and_takes_nothing(client, make_listing, book):
    _listing, slot = make_listing(capacity=3)
    book(slot, quantity=2)
    resp = client.post("/api/v1/tourism/bookings", json=booking_body(slot.id, quantity=2))
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "sold_out"
    assert taken(slot.id) == 2
    assert bookings_count(slot.id) == 1


@pytest.mark.parametrize("body, field", [
    ({"quantity": 1, "guest": {"name": "A", "email": "a@example.com"}}, "slot_id"),
    ({"slot_id": "x", "quantity": 1, "guest": {"name": "A", "email": "a@example.com"}}, "slot_id"),
    ({"slot_id": 1, "quantity": 0, "guest": {"name": "A", "email": "a@example.com"}}, "quantity"),
    ({"slot_id": 1, "quantity": 1, "guest": {"name": "A", "email": "not-an-email"}}, "guest.email"),
    ({"slot_id": 1, "quantity": 1, "guest": {"name": "", "email": "a@example.com"}}, "guest.name"),
    ({"slot_id": 1, "quantity": 1, "guest": {"name": "A", "email": "a@example.com"}, "locale": "fr"}, "locale"),
])
def test_bad_input_is_422_with_fields(client, make_listing, body, field):
    resp = client.post("/api/v1/tourism/bookings", json=body)
    assert resp.status_code == 422
    assert field in resp.get_json()["error"]["fields"]


def test_not_json_is_422_and_unknown_slot_404(client):
    resp = client.post("/api/v1/tourism/bookings", data="slot=1", content_type="text/plain")
    assert resp.status_code == 422
    resp = client.post("/api/v1/tourism/bookings", json=booking_body(999999))
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"


def test_idempotent_retry_makes_one_booking(client, make_listing, book):
    _listing, slot = make_listing(capacity=10)
    first = book(slot, quantity=3, key="retry-abc-1")
    second = book(slot, quantity=3, key="retry-abc-1")
    assert second == first
    assert taken(slot.id) == 3
    assert bookings_count(slot.id) == 1
    third = book(slot, quantity=3, key="retry-abc-2")
    assert third["reference"] != first["reference"]
    assert taken(slot.id) == 6


def test_lookup_needs_the_right_email_in_a_post(client, make_listing, book):
    _listing, slot = make_listing()
    ref = book(slot, email="Mina@Example.com")["reference"]
    lookup = "/api/v1/tourism/bookings/{}/lookup"
    assert client.post(lookup.format(ref), json={"email": "mina@example.com"}).status_code == 200
    assert client.post(lookup.format(ref.lower()), json={"email": "mina@example.com"}).status_code == 200
    assert client.post(lookup.format(ref), json={"email": "other@example.com"}).status_code == 404
    assert client.post(lookup.format(ref), json={}).status_code == 422
    # Never an address in a URL (access logs, histories): the GET refuses one, and is for the
    # signed-in booker and staff.
    in_url = client.get(f"/api/v1/tourism/bookings/{ref}?email=mina@example.com")
    assert in_url.status_code == 422 and "lookup" in in_url.get_json()["error"]["fields"]["email"]
    assert client.get(f"/api/v1/tourism/bookings/{ref}").status_code == 401
    resp = client.post(f"/api/v1/tourism/bookings/{ref}/cancel", json={"email": "other@example.com"})
    assert resp.status_code == 404
    assert taken(slot.id) == 1


def test_an_address_no_booking_has_is_not_found_even_on_a_reserved_domain(client, make_listing, book):
    """Trust II item 7: finding a booking compares the address, it mails nothing, so an address
    on a reserved domain (.test) is one no booking has (404 lookup and cancel, like any wrong one),
    not 'invalid'. Booking with one is refused: the confirmation could reach no one, and the
    document says so (tourism.Guest.email)."""
    _listing, slot = make_listing()
    ref = book(slot)["reference"]
    for path in (f"/api/v1/tourism/bookings/{ref}/lookup", f"/api/v1/tourism/bookings/{ref}/cancel"):
        assert client.post(path, json={"email": "x@d85dxboz.test"}).status_code == 404, path
    assert client.post(f"/api/v1/tourism/bookings/{ref}/lookup", json={"email": "guest@example.com"}).status_code == 200
    resp = client.post("/api/v1/tourism/bookings", json=booking_body(slot.id, 1, "x@d85dxboz.test", "en"))
    assert resp.status_code == 422 and set(resp.get_json()["error"]["fields"]) == {"guest.email"}
    guest = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["tourism.BookingIn.Guest"]
    assert re.search(guest["properties"]["email"]["not"]["pattern"], "x@d85dxboz.test")
    # A phone number only of control characters is refused, and the document's pattern says so.
    body = booking_body(slot.id, 1, "guest@example.com", "en")
    resp = client.post("/api/v1/tourism/bookings", json={**body, "guest": {**body["guest"], "phone": "\u001f"}})
    assert resp.status_code == 422 and [f for f in resp.get_json()["error"]["fields"] if f.endswith("phone")]
    assert not re.search(guest["properties"]["phone"]["pattern"], "\u001f")
    assert taken(slot.id) == 1


def test_signed_in_booking_belongs_to_the_user(client, make_listing, make_user, bearer, new_client, login):
    _listing, slot = make_listing()
    user = make_user(email="minji@example.kr", name="김민지", locale="ko")
    headers = bearer(user)
    body = {"slot_id": slot.id, "quantity": 1, "guest": {"name": "김민지", "email": "minji@example.kr"}}
    resp = client.post("/api/v1/tourism/bookings", json=body, headers=headers)
    assert resp.status_code == 201
    ref = resp.get_json()["reference"]
    assert db.session.scalar(select(Booking.user_id).where(Booking.reference == ref)) == user.id
    assert client.get(f"/api/v1/tourism/bookings/{ref}", headers=headers).status_code == 200
    other = make_user()
    assert client.get(f"/api/v1/tourism/bookings/{ref}", headers=bearer(other)).status_code == 404
    # A request signed in by the session cookie needs the CSRF token, like every cookie request.
    browser = login(new_client(), user)
    assert browser.post("/api/v1/tourism/bookings", json=body).status_code == 400
    assert taken(slot.id) == 1
