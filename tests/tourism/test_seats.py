"""Seats given back: holds whose time is up, by the beat task and the write paths (never a read)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from portal.extensions import db
from portal.types import utcnow
from tourism.models import Booking
from tourism.tasks import release_expired_holds

from .conftest import booking_body, taken


def test_expired_hold_returns_its_seats_once(app, client, make_listing, book):
    _listing, slot = make_listing(capacity=2)
    ref = book(slot, quantity=2)["reference"]
    assert client.post("/api/v1/tourism/bookings", json=booking_body(slot.id)).status_code == 409
    db.session.execute(update(Booking).where(Booking.reference == ref)
                       .values(hold_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    # A read counts the seats as free, and leaves them held in the table.
    listing = client.get(f"/api/v1/tourism/listings/{slot.listing_id}").get_json()
    assert listing["slots"][0]["available"] == 2
    assert taken(slot.id) == 2
    # A write path (a new booking of the slot) gives them back before it takes its own...
    book(slot, quantity=1, email="next@example.com")
    assert taken(slot.id) == 1
    # ...so the beat task finds nothing more to release: seats came back exactly once.
    assert release_expired_holds() == 0
    assert taken(slot.id) == 1
    got = client.post(f"/api/v1/tourism/bookings/{ref}/lookup", json={"email": "guest@example.com"}).get_json()
    assert got["status"] == "expired"
    # An expired hold cannot be paid any more.
    resp = client.post(f"/api/v1/tourism/bookings/{ref}/payment", json={"provider": "sandbox"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_payable"
    assert taken(slot.id) == 1


def test_beat_task_releases_expired_holds(app, make_listing, book):
    _listing, slot = make_listing(capacity=4)
    refs = [book(slot, email=f"g{i}@example.com")["reference"] for i in range(3)]
    db.session.execute(update(Booking).where(Booking.reference.in_(refs[:2]))
                       .values(hold_expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert release_expired_holds() == 2
    assert release_expired_holds() == 0
    assert taken(slot.id) == 1


def test_reads_write_nothing_and_count_a_hold_whose_time_is_up_as_free(app, client, new_client, make_listing,
                                                                        book, make_user, login):
    from sqlalchemy import event

    listing, slot = make_listing(capacity=3)
    ref = book(slot, quantity=2)["reference"]
    db.session.execute(update(Booking).where(Booking.reference == ref)
                       .values(hold_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    staff = login(new_client(), make_user(roles=("staff",)))
    writes = []

    def record(_conn, _cursor, statement, *_args):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        shown = client.get(f"/api/v1/tourism/listings/{listing.id}").get_json()
        assert shown["slots"][0]["available"] == 3
        got = client.post(f"/api/v1/tourism/bookings/{ref}/lookup", json={"email": "guest@example.com"}).get_json()
        assert (got["status"], got["hold_expires_at"], got["slot"]["available"]) == ("expired", None, 3)
        for browser, url in ((client, "/tourism/?lang=en"), (client, f"/tourism/listings/{listing.id}?lang=en"),
                             (client, f"/tourism/slots/{slot.id}/book?lang=en"),
                             (staff, f"/tourism/staff/slots/{slot.id}?lang=en"),
                             (staff, f"/tourism/bookings/{ref}?lang=en"),
                             (staff, f"/tourism/staff/listings/{listing.id}/slots?lang=en")):
            page = browser.get(url)
            assert page.status_code == 200, url
            if "/book?" in url or "/staff/slots/" in url:
                assert "3 of 3 places left" in page.get_data(as_text=True), url
            if "/bookings/" in url:
                assert "This hold has expired" in page.get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert writes == []
    assert taken(slot.id) == 2  # still held in the table: the beat task (or a write) releases it
    assert release_expired_holds() == 1
    assert taken(slot.id) == 0
