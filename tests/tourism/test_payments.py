"""Payments: the sandbox gateway, signed callbacks, payment after the hold ran out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from portal.extensions import db
from portal.types import utcnow
from tests.portal.helpers import opened
from tourism import service
from tourism.models import Booking, Payment, Slot

from .conftest import messages, signed_callback, taken

CALLBACK = "/api/v1/tourism/payments/sandbox/callback"


def test_payment_confirms_and_sends_the_confirmation_in_the_bookers_language(client, make_listing, book, pay):
    _listing, slot = make_listing(capacity=4, price=30000)
    ref = book(slot, quantity=2, locale="zh", email="wang@example.cn")["reference"]
    data = pay(ref)
    assert data["status"] == "confirmed"
    assert data["payment"]["status"] == "paid"
    notices = messages("tourism.confirmed", "wang@example.cn")
    assert len(notices) == 1
    assert notices[0].locale == "zh" and notices[0].channel == "email"
    assert notices[0].context["reference"] == ref
    assert notices[0].context["listing"] == "纛岛出发汉江夜景游船"
    from portal.notify.service import render
    subject, body, _voice = render("tourism.confirmed", opened(notices[0]), "zh")
    assert ref in subject and "预订已确认" in subject
    assert opened(notices[0])["ics_url"] in body


def test_sandbox_failure_leaves_the_booking_held(client, make_listing, book, pay):
    _listing, slot = make_listing()
    ref = book(slot)["reference"]
    data = pay(ref, outcome="fail")
    assert data["status"] == "held"
    assert data["payment"]["status"] == "failed"
    assert pay(ref)["status"] == "confirmed"  # a second try can succeed while the hold lasts
    resp = client.post(f"/api/v1/tourism/bookings/{ref}/payment", json={"provider": "sandbox"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "already_paid"


def test_unknown_provider_is_422(client, make_listing, book):
    _listing, slot = make_listing()
    ref = book(slot)["reference"]
    resp = client.post(f"/api/v1/tourism/bookings/{ref}/payment", json={"provider": "cash"})
    assert resp.status_code == 422 and "provider" in resp.get_json()["error"]["fields"]


def test_double_callback_confirms_once(client, make_listing, book):
    _listing, slot = make_listing(capacity=3)
    ref = book(slot)["reference"]
    payment, _url = service.start_payment(db.session, ref, "sandbox")
    body, signature = signed_callback(payment)
    for _ in range(2):
        resp = client.post(CALLBACK, data=body, content_type="application/json",
                           headers={"X-Sandbox-Signature": signature})
        assert resp.status_code == 200
        assert resp.get_json()["status"] == "paid"
    assert len(messages("tourism.confirmed")) == 1
    booking = db.session.scalar(select(Booking).where(Booking.reference == ref))
    assert booking.status == "confirmed"
    assert taken(slot.id) == 1


def test_bad_signature_is_rejected_and_changes_nothing(client, make_listing, book):
    _listing, slot = make_listing()
    ref = book(slot)["reference"]
    payment, _url = service.start_payment(db.session, ref, "sandbox")
    body, signature = signed_callback(payment)
    forged = body.replace(b'"paid"', b'"paid" ')
    for data, sig in ((body, "0" * 64), (forged, signature), (body, None)):
        headers = {"X-Sandbox-Signature": sig} if sig else {}
        resp = client.post(CALLBACK, data=data, content_type="application/json", headers=headers)
        assert resp.status_code == 403
        assert resp.get_json()["error"]["code"] == "bad_signature"
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).status == "pending"
    got = client.post(f"/api/v1/tourism/bookings/{ref}/lookup", json={"email": "guest@example.com"})
    assert got.get_json()["status"] == "held"


def test_callback_with_a_wrong_amount_is_refused(client, make_listing, book):
    _listing, slot = make_listing()
    ref = book(slot)["reference"]
    payment, _url = service.start_payment(db.session, ref, "sandbox")
    body, signature = signed_callback(payment, amount=1)
    resp = client.post(CALLBACK, data=body, content_type="application/json",
                       headers={"X-Sandbox-Signature": signature})
    assert resp.status_code == 422
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).status == "pending"


def test_paid_after_the_hold_expired_and_the_seats_went_is_refunded(client, make_listing, book):
    _listing, slot = make_listing(capacity=1)
    ref = book(slot, email="slow@example.com")["reference"]
    payment, _url = service.start_payment(db.session, ref, "sandbox")
    db.session.execute(update(Booking).where(Booking.reference == ref)
                       .values(hold_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    book(slot, email="fast@example.com")  # the seat is released lazily and taken by someone else
    body, signature = signed_callback(payment)
    resp = client.post(CALLBACK, data=body, content_type="application/json",
                       headers={"X-Sandbox-Signature": signature})
    assert resp.status_code == 200 and resp.get_json()["status"] == "refunded"
    assert db.session.scalar(select(Booking.status).where(Booking.reference == ref)) == "expired"
    assert db.session.scalar(select(Slot.taken).where(Slot.id == slot.id)) == 1


def test_sandbox_is_off_in_production_unless_enabled(app, client, make_listing, book):
    _listing, slot = make_listing()
    ref = book(slot)["reference"]
    app.config["PORTAL_ENV"] = "production"
    app.config["TOURISM_SANDBOX_SECRET"] = "prod-sandbox-secret"
    resp = client.post(f"/api/v1/tourism/bookings/{ref}/payment", json={"provider": "sandbox"})
    assert resp.status_code == 422 and "provider" in resp.get_json()["error"]["fields"]
    app.config["TOURISM_SANDBOX_ENABLED"] = "true"
    assert client.post(f"/api/v1/tourism/bookings/{ref}/payment",
                       json={"provider": "sandbox"}).get_json()["status"] == "confirmed"
