"""Trust II: no tourism input yields a 500. One test per class of input, on pages and the API:
days outside the range the portal books, names only of invisible or bidi-control characters,
numbers beyond a column's range, times without an offset or at the calendar's edge, a gateway's
ids longer than their columns, malformed Idempotency-Keys."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.errors import Invalid
from portal.extensions import db
from tourism import service
from tourism.models import Booking, Listing, Slot, WaitlistEntry

from .conftest import booking_body, taken
from .test_pages import visible_text

FAR = [
    "9999-12-31", "0001-01-01", "1999-12-31",
    (date.today() + timedelta(days=6 * 366)).isoformat(),
]


@pytest.fixture
def staff_client(client, make_user, login):
    return login(client, make_user(roles=("staff",)))


@pytest.mark.parametrize("day", FAR)
def test_a_day_outside_the_range_the_portal_books_is_422(client, staff_client, make_listing, day):
    make_listing()
    api = client.get(f"/api/v1/tourism/listings?date={day}&lang=en")
    assert api.status_code == 422, api.get_data(as_text=True)
    assert api.get_json()["error"]["fields"]["date"].startswith("Choose a date between 2000-01-01 and ")
    # The listing page: the listings without that day, and what was wrong, translated.
    page = client.get(f"/tourism/?date={day}&lang=ko")
    assert page.status_code == 422
    assert "2000-01-01" in visible_text(page.get_data(as_text=True))
    assert "사이의 날짜를 선택하세요" in visible_text(page.get_data(as_text=True))
    for query in (f"start={day}", f"end={day}", f"start={day}&end={day}"):
        report = staff_client.get(f"/tourism/staff/reports?{query}&lang=en")
        assert report.status_code == 422, query
        assert "Choose a date between" in visible_text(report.get_data(as_text=True))


def test_days_in_range_and_malformed_days(client, staff_client, make_listing):
    _listing, slot = make_listing(hours=48)
    day = (slot.starts_at + timedelta(hours=9)).date().isoformat()
    assert len(client.get(f"/api/v1/tourism/listings?date={day}").get_json()["items"]) == 1
    assert client.get(f"/tourism/?date={day}").status_code == 200
    assert staff_client.get("/tourism/staff/reports?start=2000-01-01&end=" + day).status_code == 200
    for bad in ("tomorrow", "2026-02-30", "2026-1-5", "2026-13-01"):
        assert client.get(f"/api/v1/tourism/listings?date={bad}").status_code == 422
        page = client.get(f"/tourism/?date={bad}&lang=en")
        assert page.status_code == 422 and "Enter the date as YYYY-MM-DD" in visible_text(page.get_data(as_text=True))
        assert staff_client.get(f"/tourism/staff/reports?start={bad}").status_code == 422


INVISIBLE = ["\u200b", "\u202e\u202c", "\u2066\u2069", " \u3164 ", "\ufeff\u200d", "\u00ad"]


@pytest.mark.parametrize("name", INVISIBLE)
def test_a_guest_name_only_of_invisible_or_bidi_characters_is_422(client, new_client, make_listing, name):
    _listing, slot = make_listing(capacity=1)
    resp = client.post("/api/v1/tourism/bookings", json=booking_body(slot.id, name=name))
    assert resp.status_code == 422 and "name" in resp.get_json()["error"]["fields"]
    page = client.form(f"/tourism/slots/{slot.id}/book?lang=en",
                       {"name": name, "email": "a@example.com", "quantity": 1, "idempotency_key": "k"})
    assert page.status_code == 422 and "Enter your name" in visible_text(page.get_data(as_text=True))
    assert taken(slot.id) == 0
    client.post("/api/v1/tourism/bookings", json=booking_body(slot.id, email="first@example.com"))
    line = client.post(f"/api/v1/tourism/slots/{slot.id}/waitlist",
                       json={"quantity": 1, "guest": {"name": name, "email": "b@example.com"}})
    assert line.status_code == 422 and "name" in line.get_json()["error"]["fields"]
    page = new_client().form(f"/tourism/slots/{slot.id}/waitlist?lang=en",
                             {"name": name, "email": "b@example.com", "quantity": 1})
    assert page.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(WaitlistEntry)) == 0
    # A phone of nothing to see is refused too; a name with letters and a bidi mark is a name.
    phone = booking_body(slot.id, email="c@example.com")
    phone["guest"]["phone"] = name
    assert client.post("/api/v1/tourism/bookings", json=phone).status_code == 422
    client.post(f"/api/v1/tourism/bookings/{_ref()}/cancel", json={"email": "first@example.com"})
    named = client.post("/api/v1/tourism/bookings", json=booking_body(slot.id, name="\u202bمينا Park\u202c"))
    assert named.status_code == 201


def _ref() -> str:
    return db.session.scalar(select(Booking.reference))


@pytest.mark.parametrize("name", INVISIBLE[:3])
def test_a_listing_name_only_of_invisible_characters_is_422(staff_client, name):
    resp = staff_client.form("/tourism/staff/listings/new?lang=en",
                             {"kind": "event", "name_ko": name, "name_en": " ", "free_cancel_hours": 24,
                              "late_refund_percent": 0, "active": "y"})
    assert resp.status_code == 422
    assert "Give a name in at least one language" in visible_text(resp.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(Listing)) == 0
    with pytest.raises(Invalid):
        service.save_listing(db.session, _staff(), {"kind": "event", "name": {"en": name}})


def _staff():
    from portal.accounts.models import User

    return db.session.scalar(select(User))


@pytest.mark.parametrize("body, field", [
    (lambda s: {"slot_id": 2**31, "quantity": 1, "guest": {"name": "A", "email": "a@example.com"}}, "slot_id"),
    (lambda s: {"slot_id": 2**63, "quantity": 1, "guest": {"name": "A", "email": "a@example.com"}}, "slot_id"),
    (lambda s: {"slot_id": s, "quantity": 10**20, "guest": {"name": "A", "email": "a@example.com"}}, "quantity"),
    (lambda s: {"slot_id": s, "quantity": 2**31, "guest": {"name": "A", "email": "a@example.com"}}, "quantity"),
])
def test_numbers_beyond_a_columns_range_are_422_in_the_api(client, make_listing, body, field):
    _listing, slot = make_listing()
    resp = client.post("/api/v1/tourism/bookings", json=body(slot.id))
    assert resp.status_code == 422 and field in resp.get_json()["error"]["fields"]
    assert taken(slot.id) == 0


def _starts(days: int = 3) -> str:
    return (datetime.now(service.SEOUL) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("form", [
    {"starts_at": _starts(), "capacity": 10**12, "price": 1000},
    {"starts_at": _starts(), "capacity": 2**31, "price": 1000},
    {"starts_at": _starts(), "capacity": 10, "price": 10**12},
    {"starts_at": _starts(), "capacity": 10, "price": -1},
    {"starts_at": "0001-01-01T00:00", "capacity": 10, "price": 1000},
    {"starts_at": "9999-12-31T23:59", "capacity": 10, "price": 1000},
    {"starts_at": _starts(6 * 366), "capacity": 10, "price": 1000},
])
def test_a_slot_beyond_the_columns_or_the_calendar_is_422(staff_client, make_listing, form):
    listing, slot = make_listing(capacity=5)
    resp = staff_client.form(f"/tourism/staff/listings/{listing.id}/slots?lang=en", form)
    assert resp.status_code == 422, form
    assert db.session.scalar(select(func.count()).select_from(Slot)) == 1
    for capacity in (10**12, 2**31, -1, "many"):
        resp = staff_client.form(f"/tourism/staff/slots/{slot.id}/capacity?lang=en", {"capacity": capacity})
        assert resp.status_code == 422, capacity
    db.session.expire_all()
    assert db.session.get(Slot, slot.id).capacity == 5


def test_a_booking_form_asking_beyond_the_range_is_422(client, make_listing):
    _listing, slot = make_listing()
    for quantity in (10**20, 2**31, 0, 11, "lots"):
        resp = client.form(f"/tourism/slots/{slot.id}/book",
                           {"name": "A", "email": "a@example.com", "quantity": quantity, "idempotency_key": "q"})
        assert resp.status_code == 422, quantity
    assert taken(slot.id) == 0


def test_a_time_without_an_offset_is_refused_and_pages_read_korea_time(staff_client, make_listing):
    """No tourism API takes a time (slots are added on the staff page, which reads a time as
    Asia/Seoul); the service refuses a time without an offset rather than guess its zone."""
    listing, _slot = make_listing()
    naive = datetime.now() + timedelta(days=3)
    with pytest.raises(Invalid) as refused:
        service.add_slot(db.session, _staff(), listing.id, starts_at=naive, capacity=5, price=1000)
    assert "starts_at" in refused.value.fields
    typed = (datetime.now(service.SEOUL) + timedelta(days=3)).replace(hour=18, minute=0)
    resp = staff_client.form(f"/tourism/staff/listings/{listing.id}/slots",
                             {"starts_at": typed.strftime("%Y-%m-%dT%H:%M"), "capacity": 4, "price": 1000})
    assert resp.status_code == 302
    added = db.session.scalars(select(Slot).order_by(Slot.id.desc())).first()
    assert added.starts_at.astimezone(service.SEOUL).strftime("%Y-%m-%dT%H:%M") == typed.strftime("%Y-%m-%dT%H:%M")


def test_a_gateway_callback_with_ids_longer_than_their_columns_is_422(client, make_listing, book):
    from tourism.service.gateways import SandboxProvider

    _listing, slot = make_listing()
    ref = book(slot)["reference"]
    payment, _url = service.start_payment(db.session, ref, "sandbox")
    for extra in ({"transaction_id": "t" * 81}, {"payment_id": "p" * 81}):
        body = json.dumps({"payment_id": payment.public_id, "status": "paid", "amount": payment.amount,
                           "transaction_id": "sbx", **extra}).encode()
        resp = client.post("/api/v1/tourism/payments/sandbox/callback", data=body, content_type="application/json",
                           headers={"X-Sandbox-Signature": SandboxProvider().sign(body)})
        assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "bad_callback"
    assert db.session.scalar(select(Booking.status)) == "held"


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ", "tab\there"])
def test_a_malformed_idempotency_key_is_422(client, make_listing, key):
    _listing, slot = make_listing()
    resp = client.post("/api/v1/tourism/bookings", json=booking_body(slot.id), headers={"Idempotency-Key": key})
    assert resp.status_code == 422 and "Idempotency-Key" in resp.get_json()["error"]["fields"]
    assert taken(slot.id) == 0
