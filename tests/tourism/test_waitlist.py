"""The waiting list: joining it, and freed seats offered to the first in line."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.types import utcnow
from tourism.models import Booking, WaitlistEntry

from .conftest import messages, taken


def test_freed_seats_are_offered_to_the_first_in_line(client, make_listing, book, pay):
    _listing, slot = make_listing(capacity=2)
    ref = book(slot, quantity=2, email="first@example.com")["reference"]
    pay(ref)
    waitlist = f"/api/v1/tourism/slots/{slot.id}/waitlist"
    for who, qty in (("second@example.com", 1), ("third@example.com", 1)):
        resp = client.post(waitlist, json={"quantity": qty, "locale": "ko",
                                           "guest": {"name": "대기", "email": who}})
        assert resp.status_code == 201, resp.get_json()
    again = client.post(waitlist, json={"quantity": 1, "guest": {"name": "x", "email": "second@example.com"}})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_waiting"

    client.post(f"/api/v1/tourism/bookings/{ref}/cancel", json={"email": "first@example.com"})
    offers = db.session.scalars(select(Booking).where(Booking.slot_id == slot.id, Booking.status == "held")
                                .order_by(Booking.id)).all()
    assert [b.guest_email for b in offers] == ["second@example.com", "third@example.com"]
    assert all(b.hold_expires_at > utcnow() + timedelta(minutes=30) for b in offers)
    assert taken(slot.id) == 2
    notice = messages("tourism.waitlist_offer", "second@example.com")
    assert len(notice) == 1 and notice[0].locale == "ko"
    assert notice[0].context["reference"] == offers[0].reference
    statuses = db.session.scalars(select(WaitlistEntry.status).order_by(WaitlistEntry.id)).all()
    assert statuses == ["offered", "offered"]
    # The one who got the offer pays like anyone else.
    assert pay(offers[0].reference)["status"] == "confirmed"


def test_waitlist_only_when_sold_out(client, make_listing):
    _listing, slot = make_listing(capacity=2)
    resp = client.post(f"/api/v1/tourism/slots/{slot.id}/waitlist",
                       json={"quantity": 1, "guest": {"name": "A", "email": "a@example.com"}})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "seats_available"
