"""The mails a booker gets: links from PORTAL_BASE_URL only, a guest's text inert, and a limited
number of mails per address a guest typed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.notify.service import render, rendered
from tests.portal.helpers import opened
from tourism.models import Booking

from .conftest import booking_body, messages
from .test_pages import pay_by_form, visible_text

# What a mail client could turn into a link: a URL, a www. or other host name, an address.
LINKISH = re.compile(r"[a-z][a-z0-9+.-]*://\S+|\bwww\.\S+|\b[\w-]+(?:\.[\w-]+)+\b|\S+@\S+", re.I)


def _links(text: str) -> list[str]:
    return LINKISH.findall(text)


def test_offer_mail_links_come_from_the_base_url_whatever_the_host_header(app, client, make_listing, book, pay):
    _listing, slot = make_listing(capacity=1)
    ref = book(slot, email="first@example.com")["reference"]
    pay(ref)
    waiting = client.post(f"/api/v1/tourism/slots/{slot.id}/waitlist",
                          json={"quantity": 1, "locale": "en", "guest": {"name": "Jin", "email": "jin@example.com"}})
    assert waiting.status_code == 201
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
    resp = client.post(f"/api/v1/tourism/bookings/{ref}/cancel", json={"email": "first@example.com"},
                       headers=forged, base_url="http://evil.example")
    assert resp.status_code == 200
    offer, = messages("tourism.waitlist_offer", "jin@example.com")
    body = render(offer.template, opened(offer), offer.locale)[1]  # as it is delivered
    offered = db.session.scalar(select(Booking).where(Booking.guest_email == "jin@example.com"))
    assert opened(offer)["booking_url"].startswith(f"https://portal.test/tourism/bookings/{offered.reference}?")
    assert opened(offer)["booking_url"] in body
    assert "evil.example" not in body and "evil.example" not in str(offer.context)
    for url in (opened(offer)["booking_url"], opened(offer)["ics_url"], opened(offer)["qr_url"]):
        assert url.startswith("https://portal.test/"), url


NAMES = ['<a href="http://evil.example/refund">Claim your refund</a>', "http://evil.example",
         "www.evil.example", "Mina evil.example/x", "Refund at mina@evil.example", "Kim\nVisit evil。example"]


@pytest.mark.parametrize("name", NAMES)
def test_a_guest_name_arrives_as_inert_plain_text(client, make_listing, pay, name):
    _listing, slot = make_listing()
    created = client.post("/api/v1/tourism/bookings", json=booking_body(slot.id, name=name, email="mina@example.com"))
    assert created.status_code == 201
    pay(created.get_json()["reference"])
    mail, = messages("tourism.confirmed", "mina@example.com")
    subject, body = rendered(mail)["subject"], rendered(mail)["body"]
    hello = body.splitlines()[0]
    # Plain text: the name still reads on the greeting's line, no HTML entities...
    assert hello.startswith("Hello ") and "evil" in hello and "&lt;" not in body and "&#" not in body
    # ...and nothing in it a mail client would make a link of: every link is the portal's.
    for host in ("evil.example", "evil。example", "@evil"):
        assert host not in body and host not in subject
    assert _links(hello) == []
    assert all(link.startswith("https://portal.test/") for link in _links(body) if "://" in link)


def _book(browser, slot_id, email, key="k") -> str:
    resp = browser.form(f"/tourism/slots/{slot_id}/book?lang=en",
                        {"name": "Mina", "email": email, "quantity": 1, "idempotency_key": key})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp.headers["Location"].rsplit("/", 1)[1]


def test_mails_to_a_typed_address_are_limited_and_the_page_claims_none_beyond(app, client, new_client,
                                                                           make_listing):
    app.config["BOOKING_MAILS_PER_RECIPIENT"] = "2 per hour"
    _listing, slot = make_listing(capacity=10)
    refs = [_book(client, slot.id, "target@example.com", key=str(i)) for i in range(3)]
    for ref in refs:
        pay_by_form(client, ref)  # every booking is confirmed...
    assert {b.status for b in db.session.scalars(select(Booking))} == {"confirmed"}
    # ...but the address the guest typed gets two mails, not three.
    assert len(messages("tourism.confirmed", "target@example.com")) == 2
    pages = [visible_text(client.get(f"/tourism/bookings/{ref}?lang=en").get_data(as_text=True)) for ref in refs]
    # No mail server here: the two mails are not delivered, so no page says they were sent (issue 13,
    # finding 6); the first two say what became of theirs, the third claims no mail at all.
    assert ["confirmation email" in page for page in pages] == [True, True, False]
    assert not any("We sent the confirmation" in page for page in pages)
    assert "Show this code at the entrance" in pages[2]
    # Another address is counted on its own.
    other = _book(new_client(), slot.id, "someone@example.com")
    assert client.post(f"/api/v1/tourism/bookings/{other}/payment", json={"provider": "sandbox"}).status_code == 200
    assert len(messages("tourism.confirmed", "someone@example.com")) == 1


def test_booking_links_lie_sealed_in_the_outbox(client, make_listing, book, pay):
    from sqlalchemy import text

    _listing, slot = make_listing()
    ref = book(slot, email="sealed@example.com")["reference"]
    pay(ref)
    [mail] = messages("tourism.confirmed", "sealed@example.com")
    assert "t=" in opened(mail)["booking_url"]  # delivery opens it...
    rows = db.session.execute(text("SELECT * FROM notify_message")).all()
    assert rows and not any("t=" in str(value) for row in rows for value in row)  # ...a reader cannot
