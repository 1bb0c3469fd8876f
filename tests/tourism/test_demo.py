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
