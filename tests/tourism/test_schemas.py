"""Real API answers validate against their response models (schemas.py): a key added to or
dropped from a builder's dict without its model, or the other way round, fails here."""

from __future__ import annotations

from tourism.schemas import (
    BookingOut,
    CallbackOut,
    ListingsOut,
    ListingWithSlotsOut,
    WaitlistEntryOut,
)

from .conftest import signed_callback

API = "/api/v1/tourism"


def test_listing_answers_match_their_models(client, make_listing):
    listing, _slot = make_listing()
    make_listing(area="", name={"ko": "한국어만"})  # untranslated, no area
    listings = client.get(f"{API}/listings?lang=en").get_json()
    assert len(listings["items"]) == 2
    ListingsOut.model_validate(listings)
    one = client.get(f"{API}/listings/{listing.id}?lang=zh").get_json()
    assert one["slots"]
    ListingWithSlotsOut.model_validate(one)


def test_booking_answers_match_their_models(client, make_listing, make_user, bearer, book, pay):
    from portal.extensions import db
    from tourism import service

    _listing, slot = make_listing(capacity=2)
    held = book(slot)
    assert held["payment"] is None
    BookingOut.model_validate(held)
    ref = held["reference"]
    BookingOut.model_validate(pay(ref))
    got = client.post(f"{API}/bookings/{ref}/lookup", json={"email": "guest@example.com"}).get_json()
    assert got["payment"]["status"] == "paid"
    BookingOut.model_validate(got)
    staff = bearer(make_user(roles=("staff",)))
    checked = client.post(f"{API}/slots/{slot.id}/check-in", json={"reference": ref}, headers=staff).get_json()
    assert checked["checked_in_at"]
    BookingOut.model_validate(checked)
    cancelled = client.post(f"{API}/bookings/{ref}/cancel", json={"email": "guest@example.com"}).get_json()
    assert cancelled["cancelled_at"]
    BookingOut.model_validate(cancelled)

    other = book(slot, quantity=2, email="other@example.com")["reference"]
    waiting = client.post(f"{API}/slots/{slot.id}/waitlist",
                          json={"quantity": 1, "guest": {"name": "W", "email": "w@example.com"}})
    assert waiting.status_code == 201
    WaitlistEntryOut.model_validate(waiting.get_json())
    payment, _url = service.start_payment(db.session, other, "sandbox")
    body, signature = signed_callback(payment)
    called = client.post(f"{API}/payments/sandbox/callback", data=body, content_type="application/json",
                         headers={"X-Sandbox-Signature": signature}).get_json()
    CallbackOut.model_validate(called)


def test_the_models_refuse_a_drifted_answer(client, make_listing, book):
    import pytest
    from pydantic import ValidationError

    _listing, slot = make_listing()
    held = book(slot)
    with pytest.raises(ValidationError):
        BookingOut.model_validate({**held, "extra": 1})
    without = dict(held)
    without.pop("links")
    with pytest.raises(ValidationError):
        BookingOut.model_validate(without)
