"""The demo data."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.types import utcnow


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


def test_the_demo_newcomer_has_a_paid_booking_to_look_at_in_chinese(app, client, login):
    from portal.accounts import demo as accounts_demo
    from portal.accounts.models import User
    from tourism import demo
    from tourism.models import Booking

    accounts_demo.seed(db.session)
    demo.seed(db.session, days=5)
    demo.seed(db.session, days=5)
    newcomer = db.session.scalar(select(User).where(User.email == "newcomer@demo.kr"))
    booking = db.session.scalars(select(Booking)).one()  # once, however often seeded
    assert (booking.user_id, booking.status, booking.quantity) == (newcomer.id, "confirmed", 2)
    login(client, newcomer)
    html = client.get(f"/tourism/bookings/{booking.reference}").get_data(as_text=True)
    assert '<html lang="zh">' in html and booking.reference in html
    assert booking.slot.listing.name["zh"] in html
