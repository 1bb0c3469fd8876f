"""Fixtures for the tourism tests: listings with slots, and helpers to book and pay over the API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import g, has_app_context
from sqlalchemy import func, select

from portal.extensions import db
from portal.types import utcnow
from tests.conftest import PortalClient
from tourism.models import Booking, Listing, Slot
from tourism.service import search_text


class FreshClient(PortalClient):
    """A test client whose requests do not inherit the test's `g`.

    The `app` fixture keeps one app context pushed for the whole test, and Flask reuses it for
    every test-client request, so `g.csrf_token` and `g._login_user` would leak from one client's
    request into another's. Each request here starts without them, as it would on a server.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for name in ("csrf_token", "_login_user"):
                g.pop(name, None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app) -> FreshClient:
    return FreshClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def new_client(app):
    """new_client() -> another browser (its own cookies)."""
    return lambda: FreshClient(app, app.response_class, use_cookies=True)


NAMES = {"ko": "여수 밤바다 야경 크루즈", "en": "Yeosu Night Sea Harbour Cruise", "zh": "丽水夜海游船"}
# Area names by key; make_listing stores the names of its area unless given area_name=.
AREA_NAMES = {"Dolsan": {"ko": "돌산", "en": "Dolsan", "zh": "突山"},
              "Gukdong": {"ko": "국동", "en": "Gukdong", "zh": "菊洞"},
              "Yeosu Port": {"ko": "여수항", "en": "Yeosu Port", "zh": "丽水港"}}


@pytest.fixture
def make_listing(app):
    """make_listing(capacity=10, price=20000, hours=72, free_cancel_hours=24, late_refund_percent=50,
    name=NAMES, area="Dolsan", area_name=AREA_NAMES[area], **fields) -> (listing, slot): an active
    listing with one slot `hours` from now."""

    def make(capacity=10, price=20000, hours=72, free_cancel_hours=24, late_refund_percent=50,
             name=None, kind="event", area="Dolsan", area_name=None, **fields):
        name = dict(NAMES if name is None else name)
        area_name = dict(AREA_NAMES.get(area, {}) if area_name is None else area_name)
        listing = Listing(kind=kind, area=area, area_name=area_name, name=name,
                          description=fields.pop("description", {k: v + " — 70 min" for k, v in name.items()}),
                          address=fields.pop("address", {"ko": "여수시 돌산읍", "en": "Dolsan-eup, Yeosu",
                                                         "zh": "丽水市突山邑"}),
                          policy=fields.pop("policy", {}), free_cancel_hours=free_cancel_hours,
                          late_refund_percent=late_refund_percent, active=True, **fields)
        listing.search_text = search_text(listing)
        db.session.add(listing)
        db.session.flush()
        slot = Slot(listing_id=listing.id, starts_at=utcnow() + timedelta(hours=hours), capacity=capacity,
                    price=price, taken=0)
        db.session.add(slot)
        db.session.commit()
        return listing, slot

    return make


def booking_body(slot_id, quantity=1, email="guest@example.com", locale="en", name="Alex Kim"):
    return {"slot_id": slot_id, "quantity": quantity, "locale": locale,
            "guest": {"name": name, "email": email, "phone": "+82 10-1234-5678"}}


@pytest.fixture
def book(client):
    """book(slot, quantity=1, email=..., key=None) -> the JSON response (asserting 201)."""

    def do(slot, quantity=1, email="guest@example.com", key=None, locale="en"):
        headers = {"Idempotency-Key": key} if key else {}
        resp = client.post("/api/v1/tourism/bookings", json=booking_body(slot.id, quantity, email, locale),
                           headers=headers)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    return do


@pytest.fixture
def pay(client):
    def do(reference, outcome="pay"):
        resp = client.post(f"/api/v1/tourism/bookings/{reference}/payment",
                           json={"provider": "sandbox", "sandbox_outcome": outcome})
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    return do


def taken(slot_id) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Slot.taken).where(Slot.id == slot_id))


def bookings_count(slot_id, status=None) -> int:
    stmt = select(func.count()).select_from(Booking).where(Booking.slot_id == slot_id)
    if status:
        stmt = stmt.where(Booking.status == status)
    return db.session.scalar(stmt)


def messages(template, email=None):
    from portal.notify.models import Message

    db.session.expire_all()
    stmt = select(Message).where(Message.template == template)
    if email:
        stmt = stmt.where(Message.email == email)
    return list(db.session.scalars(stmt))


def signed_callback(payment, status="paid", amount=None, secret=None):
    """The body and signature the sandbox gateway would send."""
    from tourism.service.gateways import SandboxProvider

    body = json.dumps({"payment_id": payment.public_id, "status": status,
                       "amount": payment.amount if amount is None else amount,
                       "transaction_id": "sbx_test"}).encode()
    return body, SandboxProvider().sign(body)
