"""Anonymous hoarding: seats held unpaid at once per guest email and per client address."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from portal.extensions import db
from portal.types import utcnow
from tourism.models import Booking

from .conftest import booking_body, taken
from .test_pages import visible_text

API = "/api/v1/tourism/bookings"


def _hold(client, slot, quantity, email, address="192.0.2.1"):
    return client.post(API, json=booking_body(slot.id, quantity, email), environ_base={"REMOTE_ADDR": address})


def _refused(resp) -> int:
    """The Retry-After seconds of a 429 hold_limit answer."""
    assert resp.status_code == 429, resp.get_json()
    assert resp.get_json()["error"]["code"] == "hold_limit"
    assert resp.get_json()["error"]["message"]
    return int(resp.headers["Retry-After"])


def test_one_email_holds_at_most_its_limit(client, make_listing):
    _listing, slot = make_listing(capacity=50)
    assert _hold(client, slot, 6, "mina@example.com").status_code == 201
    assert _hold(client, slot, 4, "MINA@example.com", "192.0.2.2").status_code == 201
    # An eleventh seat for that email, from any address: refused until the first hold ends.
    seconds = _refused(_hold(client, slot, 1, "mina@example.com", "198.51.100.7"))
    assert 14 * 60 < seconds <= 15 * 60
    assert taken(slot.id) == 10
    # Another email is counted on its own.
    assert _hold(client, slot, 1, "jin@example.com", "198.51.100.7").status_code == 201


def test_one_address_holds_at_most_its_limit_whatever_the_emails(client, make_listing):
    _listing, slot = make_listing(capacity=50)
    first = _hold(client, slot, 10, "a@example.com").get_json()
    assert _hold(client, slot, 10, "b@example.com").status_code == 201
    # A third email from the same address is limited by the address; X-Forwarded-For changes
    # nothing when no proxy is trusted (PROXY_FIX_X_FOR=0).
    forwarded = client.post(API, json=booking_body(slot.id, 1, "c@example.com"),
                            environ_base={"REMOTE_ADDR": "192.0.2.1"}, headers={"X-Forwarded-For": "203.0.113.9"})
    _refused(forwarded)
    assert _hold(client, slot, 1, "c@example.com", "192.0.2.99").status_code == 201
    assert taken(slot.id) == 21
    # A hold that ends (paid, cancelled, or its time up) no longer counts.
    assert client.post(f"{API}/{first['reference']}/payment", json={"provider": "sandbox"}).status_code == 200
    assert _hold(client, slot, 9, "c@example.com").status_code == 201
    db.session.execute(update(Booking).where(Booking.guest_email == "b@example.com")
                       .values(hold_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert _hold(client, slot, 10, "d@example.com").status_code == 201


def test_the_address_is_kept_as_a_keyed_hash_and_only_while_held(client, make_listing):
    _listing, slot = make_listing(capacity=10)
    held = _hold(client, slot, 1, "a@example.com", "192.0.2.44").get_json()["reference"]
    paid = _hold(client, slot, 1, "b@example.com", "192.0.2.44").get_json()["reference"]
    cancelled = _hold(client, slot, 1, "c@example.com", "192.0.2.44").get_json()["reference"]
    expired = _hold(client, slot, 1, "d@example.com", "192.0.2.44").get_json()["reference"]
    client.post(f"{API}/{paid}/payment", json={"provider": "sandbox"})
    client.post(f"{API}/{cancelled}/cancel", json={"email": "c@example.com"})
    db.session.execute(update(Booking).where(Booking.reference == expired)
                       .values(hold_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    from tourism.tasks import release_expired_holds
    assert release_expired_holds() == 1
    db.session.expire_all()
    keys = dict(db.session.execute(select(Booking.reference, Booking.client_key)).all())
    assert keys[paid] is None and keys[cancelled] is None and keys[expired] is None
    assert len(keys[held]) == 64 and "192.0.2.44" not in keys[held]
    from tourism.service.hold_limits import client_key
    assert keys[held] == client_key("192.0.2.44") != client_key("192.0.2.45")


def test_the_booking_page_answers_429_and_keeps_what_was_typed(client, make_listing):
    _listing, slot = make_listing(capacity=50)
    assert _hold(client, slot, 10, "mina@example.com", "127.0.0.1").status_code == 201
    for lang, says in (("en", "Too many seats are held at once"), ("ko", "한꺼번에")):
        resp = client.form(f"/tourism/slots/{slot.id}/book?lang={lang}",
                           {"name": "Mina Park", "email": "mina@example.com", "quantity": 3, "idempotency_key": "k1"})
        assert resp.status_code == 429 and 0 < int(resp.headers["Retry-After"]) <= 15 * 60
        page = resp.get_data(as_text=True)
        assert says in visible_text(page), visible_text(page)
        assert 'value="Mina Park"' in page and 'value="mina@example.com"' in page and 'value="3"' in page
    assert taken(slot.id) == 10


def test_settings_raise_the_limits(app, client, make_listing):
    app.config.update(BOOKING_MAX_HELD_SEATS_PER_EMAIL="30", BOOKING_MAX_HELD_SEATS_PER_CLIENT="30")
    _listing, slot = make_listing(capacity=50)
    for _ in range(3):
        assert _hold(client, slot, 10, "bulk@example.com").status_code == 201
    _refused(_hold(client, slot, 1, "bulk@example.com"))
