"""The tokens in a message's links: they open one booking, until its event plus a week (an offer's
until the offer ends), and leave the address bar at once. A guest's email never goes in a URL."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.types import utcnow
from tests.portal.helpers import opened
from tourism import service
from tourism.models import Booking

from .conftest import messages
from .test_pages import book_by_form


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


def test_a_link_token_moves_into_the_session_and_out_of_the_address_bar(client, new_client, make_listing):
    _listing, slot = make_listing()
    ref = book_by_form(client, slot.id)
    token = service.access_token(ref, utcnow() + timedelta(days=1))
    stranger = new_client()
    assert stranger.get(f"/tourism/bookings/{ref}").status_code == 404
    moved = stranger.get(f"/tourism/bookings/{ref}?lang=en&t={token}")
    # The same page again, without the token: not in the history, a Referer or a later log line.
    assert moved.status_code == 302 and moved.headers["Location"] == f"/tourism/bookings/{ref}?lang=en"
    page = stranger.get(moved.headers["Location"])
    assert page.status_code == 200 and token not in page.get_data(as_text=True)
    ics = stranger.get(f"/tourism/bookings/{ref}.ics?t={token}")
    assert ics.status_code == 302 and ics.headers["Location"] == f"/tourism/bookings/{ref}.ics"
    assert stranger.get(f"/tourism/bookings/{ref}.ics").status_code == 200
    # A token opens its own booking only.
    other = book_by_form(new_client(), slot.id, "other@example.com")
    assert stranger.get(f"/tourism/bookings/{other}?t={token}").headers["Location"] == "/tourism/lookup"
    assert stranger.get(f"/tourism/bookings/{other}").status_code == 404


def test_link_tokens_expire(client, new_client, make_listing):
    _listing, slot = make_listing()
    ref = book_by_form(client, slot.id)
    now = utcnow()
    assert service.token_matches(service.access_token(ref, now + timedelta(minutes=1)), ref, now)
    assert not service.token_matches(service.access_token(ref, now - timedelta(seconds=1)), ref, now)
    assert not service.token_matches("not-a-token", ref, now)
    # The first tokens (a bare signed reference, never expiring) open nothing any more.
    from itsdangerous import URLSafeSerializer
    legacy = URLSafeSerializer(current_app.config["SECRET_KEY"], salt="tourism-booking").dumps(ref)
    assert not service.token_matches(legacy, ref, now)

    stranger = new_client()
    expired = service.access_token(ref, now - timedelta(seconds=1))
    resp = stranger.get(f"/tourism/bookings/{ref}?lang=en&t={expired}")
    assert resp.status_code == 302 and resp.headers["Location"] == "/tourism/lookup"
    assert "This link has expired" in stranger.get("/tourism/lookup?lang=en").get_data(as_text=True)
    assert stranger.get(f"/tourism/bookings/{ref}").status_code == 404
    # A token kept in the session stops opening the booking when its time is up.
    with stranger.session_transaction() as kept:
        kept["tourism_links"] = {ref: expired}
    assert stranger.get(f"/tourism/bookings/{ref}").status_code == 404


def test_mail_links_expire_a_week_after_the_event_and_offer_links_with_the_offer(client, make_listing, book, pay):
    _listing, slot = make_listing(capacity=1, hours=72)
    ref = book(slot, email="first@example.com")["reference"]
    pay(ref)
    confirmed, = messages("tourism.confirmed", "first@example.com")
    week_after = slot.starts_at + timedelta(days=7)
    token = _token(opened(confirmed)["booking_url"])
    assert service.token_matches(token, ref, week_after - timedelta(seconds=1))
    assert not service.token_matches(token, ref, week_after + timedelta(seconds=1))

    client.post(f"/api/v1/tourism/slots/{slot.id}/waitlist",
                json={"quantity": 1, "guest": {"name": "Jin", "email": "jin@example.com"}})
    client.post(f"/api/v1/tourism/bookings/{ref}/cancel", json={"email": "first@example.com"})
    offer, = messages("tourism.waitlist_offer", "jin@example.com")
    offered = db.session.scalar(select(Booking).where(Booking.guest_email == "jin@example.com"))
    token = _token(opened(offer)["booking_url"])
    assert _token(opened(offer)["ics_url"]) == token == _token(opened(offer)["qr_url"])
    deadline = offered.hold_expires_at
    assert deadline < week_after
    assert service.token_matches(token, offered.reference, deadline - timedelta(seconds=1))
    assert not service.token_matches(token, offered.reference, deadline + timedelta(seconds=1))


def test_pages_take_no_email_in_the_url(client, new_client, make_listing):
    _listing, slot = make_listing()
    ref = book_by_form(client, slot.id, "mina@example.com")
    stranger = new_client()
    for url in (f"/tourism/bookings/{ref}", f"/tourism/bookings/{ref}.ics", f"/tourism/bookings/{ref}/qr.svg"):
        assert stranger.get(f"{url}?email=mina@example.com").status_code == 404, url
    # The lookup is a POST form: the email travels in the body.
    page = stranger.get("/tourism/lookup?lang=en").get_data(as_text=True)
    assert 'method="post"' in page and 'name="email"' in page
    found = stranger.form("/tourism/lookup", {"reference": ref, "email": "mina@example.com"})
    assert found.status_code == 302 and found.headers["Location"] == f"/tourism/bookings/{ref}"
    assert "email" not in found.headers["Location"]
