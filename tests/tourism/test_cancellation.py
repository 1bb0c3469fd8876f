"""Cancellations: seats back and the policy's refund, exactly once."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from tourism.models import Booking, Payment

from .conftest import messages, taken


def test_cancel_twice_refunds_once_and_frees_the_seats(client, make_listing, book, pay):
    _listing, slot = make_listing(capacity=2, price=40000, hours=72, free_cancel_hours=24)
    ref = book(slot, quantity=2)["reference"]
    pay(ref)
    assert taken(slot.id) == 2
    first = client.post(f"/api/v1/tourism/bookings/{ref}/cancel", json={"email": "guest@example.com"})
    assert first.status_code == 200
    assert first.get_json()["status"] == "cancelled"
    assert first.get_json()["refund"] == {"amount": 80000, "currency": "KRW"}
    second = client.post(f"/api/v1/tourism/bookings/{ref}/cancel", json={"email": "GUEST@example.com"})
    assert second.status_code == 200
    assert second.get_json()["refund"]["amount"] == 80000
    payment = db.session.scalar(select(Payment).join(Booking).where(Booking.reference == ref))
    assert payment.status == "refunded" and payment.refunded_amount == 80000
    assert payment.refund_id and payment.refund_id.startswith("sbx_rf_")
    assert taken(slot.id) == 0
    assert len(messages("tourism.cancelled")) == 1


def test_late_cancellation_refunds_the_policy_percentage(client, make_listing, book, pay):
    _listing, slot = make_listing(price=30000, hours=10, free_cancel_hours=24, late_refund_percent=50)
    ref = book(slot, quantity=1)["reference"]
    pay(ref)
    data = client.post(f"/api/v1/tourism/bookings/{ref}/cancel", json={"email": "guest@example.com"}).get_json()
    assert data["refund"]["amount"] == 15000
    _listing, slot = make_listing(price=30000, hours=10, free_cancel_hours=24, late_refund_percent=0)
    ref = book(slot, quantity=1)["reference"]
    pay(ref)
    data = client.post(f"/api/v1/tourism/bookings/{ref}/cancel", json={"email": "guest@example.com"}).get_json()
    assert data["status"] == "cancelled" and data["refund"]["amount"] == 0
    payment = db.session.scalar(select(Payment).join(Booking).where(Booking.reference == ref))
    assert payment.status == "paid" and payment.refunded_amount == 0
