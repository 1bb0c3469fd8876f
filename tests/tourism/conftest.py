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


NAMES = {"ko": "뚝섬 출발 한강 야경 크루즈", "en": "Hangang Night Cruise from Ttukseom", "zh": "纛岛出发汉江夜景游船"}


@pytest.fixture
def make_listing(app):
    """make_listing(capacity=10, price=20000, hours=72, free_cancel_hours=24, late_refund_percent=50,
    name=NAMES, area="ttukseom", **fields) -> (listing, slot): an active listing with one slot
    `hours` from now; `area` is an area's code in the places table."""

    def make(capacity=10, price=20000, hours=72, free_cancel_hours=24, late_refund_percent=50,
             name=None, kind="event", area="ttukseom", **fields):
        name = dict(NAMES if name is None else name)
        listing = Listing(kind=kind, area=area, name=name,
                          description=fields.pop("description", {k: v + " — 70 min" for k, v in name.items()}),
                          address=fields.pop("address", {"ko": "서울특별시 광진구 강변북로 139",
                                                         "en": "139 Gangbyeonbuk-ro, Gwangjin-gu, Seoul",
                                                         "zh": "首尔市广津区江边北路139"}),
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
