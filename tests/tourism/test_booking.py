"""Holds, expiry, idempotency, payments, cancellations and waiting lists through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.types import utcnow
from tourism import service
from tourism.models import Booking, Payment, Slot, WaitlistEntry
from tourism.tasks import release_expired_holds

from .conftest import booking_body, bookings_count, messages, signed_callback, taken

CALLBACK = "/api/v1/tourism/payments/sandbox/callback"


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


def test_expired_hold_returns_its_seats_once(app, client, make_listing, book):
    _listing, slot = make_listing(capacity=2)
    ref = book(slot, quantity=2)["reference"]
    assert client.post("/api/v1/tourism/bookings", json=booking_body(slot.id)).status_code == 409
    db.session.execute(update(Booking).where(Booking.reference == ref)
                       .values(hold_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    # Read lazily: the listing shows the seats back before any beat task ran.
    listing = client.get(f"/api/v1/tourism/listings/{slot.listing_id}").get_json()
    assert listing["slots"][0]["available"] == 2
    # The beat task finds nothing more to release: seats came back exactly once.
    assert release_expired_holds() == 0
    assert taken(slot.id) == 0
    got = client.get(f"/api/v1/tourism/bookings/{ref}?email=guest@example.com").get_json()
    assert got["status"] == "expired"
    # An expired hold cannot be paid any more.
    resp = client.post(f"/api/v1/tourism/bookings/{ref}/payment", json={"provider": "sandbox"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_payable"


def test_beat_task_releases_expired_holds(app, make_listing, book):
    _listing, slot = make_listing(capacity=4)
    refs = [book(slot, email=f"g{i}@example.com")["reference"] for i in range(3)]
    db.session.execute(update(Booking).where(Booking.reference.in_(refs[:2]))
                       .values(hold_expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert release_expired_holds() == 2
    assert release_expired_holds() == 0
    assert taken(slot.id) == 1


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
    assert notices[0].context["listing"] == "丽水夜海游船"
    from portal.notify.service import render
    subject, body, _voice = render("tourism.confirmed", notices[0].context, "zh")
    assert ref in subject and "预订已确认" in subject
    assert notices[0].context["ics_url"] in body


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
    assert client.get(f"/api/v1/tourism/bookings/{ref}?email=guest@example.com").get_json()["status"] == "held"


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


def test_lookup_needs_the_right_email(client, make_listing, book):
    _listing, slot = make_listing()
    ref = book(slot, email="Mina@Example.com")["reference"]
    assert client.get(f"/api/v1/tourism/bookings/{ref}?email=mina@example.com").status_code == 200
    assert client.get(f"/api/v1/tourism/bookings/{ref.lower()}?email=mina@example.com").status_code == 200
    wrong = client.get(f"/api/v1/tourism/bookings/{ref}?email=other@example.com")
    assert wrong.status_code == 404
    assert client.get(f"/api/v1/tourism/bookings/{ref}").status_code == 422
    resp = client.post(f"/api/v1/tourism/bookings/{ref}/cancel", json={"email": "other@example.com"})
    assert resp.status_code == 404
    assert taken(slot.id) == 1


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


def test_demo_data_is_idempotent_and_in_three_languages(app):
    from tourism import demo
    from tourism.models import Listing

    assert demo.seed(db.session, days=3) == 6
    assert demo.seed(db.session, days=3) == 0
    listings = db.session.scalars(select(Listing)).all()
    assert {item.kind for item in listings} == {"event", "lodging", "restaurant", "transport"}
    assert all(set(item.name) == {"ko", "en", "zh"} and set(item.description) == {"ko", "en", "zh"}
               for item in listings)
    assert all(slot.starts_at > utcnow() for item in listings for slot in item.slots)


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


def test_check_in_api_is_for_staff(client, make_listing, make_user, bearer, book, pay):
    _listing, slot = make_listing()
    ref = book(slot)["reference"]
    url = f"/api/v1/tourism/slots/{slot.id}/check-in"
    assert client.post(url, json={"reference": ref}).status_code == 401
    assert client.post(url, json={"reference": ref}, headers=bearer(make_user())).status_code == 403
    staff = bearer(make_user(roles=("staff",)))
    held = client.post(url, json={"reference": ref}, headers=staff)
    assert held.status_code == 409 and held.get_json()["error"]["code"] == "not_confirmed"
    pay(ref)
    ok = client.post(url, json={"reference": ref.lower()}, headers=staff)
    assert ok.status_code == 200 and ok.get_json()["checked_in_at"]
    again = client.post(url, json={"reference": ref}, headers=staff)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_checked_in"
    assert client.post(url, json={"reference": "ZZZZZZZZ"}, headers=staff).status_code == 404
