"""A hold's answer is built from what its transaction wrote (issue 14: no reload after commit),
so it must say the seats as they are after the hold, never as they were before it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from portal.extensions import db
from portal.types import utcnow
from tourism.models import Booking

from .conftest import taken


def test_hold_answer_counts_the_seats_after_the_hold(client, make_listing, book):
    _listing, slot = make_listing(capacity=5)
    first = book(slot, quantity=2)
    assert first["slot"]["available"] == 3
    assert first["payment"] is None
    second = book(slot, quantity=1, email="other@example.com")
    assert second["slot"]["available"] == 2
    # The first hold's time is up: the next hold gives its seats back before taking its own,
    # and its answer says so (5 - 1 held by the second - 1 now), as a read afterwards does.
    db.session.execute(update(Booking).where(Booking.reference == first["reference"])
                       .values(hold_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    third = book(slot, quantity=1, email="third@example.com")
    assert third["slot"]["available"] == 3
    assert taken(slot.id) == 2
    shown = client.get(f"/api/v1/tourism/listings/{slot.listing_id}").get_json()
    assert shown["slots"][0]["available"] == 3
