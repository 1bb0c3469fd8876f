"""The demo data."""

from __future__ import annotations

import re

import pytest
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


# --- issue 13, "A lived-in demo city": one city, every place of it in the places table ----------

YEOSU = ("yeosu", "여수", "丽水")


def _seed_the_city():
    from portal.cli import seed_city

    seed_city(db.session)


def test_the_demo_city_is_one_city_whose_places_are_all_in_the_table(app):
    """Every district and area a demo module stores is a place of the table, of the right kind,
    and the demo's tourism is where its residents live: Seoul (no Yeosu left anywhere)."""
    from portal.accounts.models import ResidentRecord, User
    from portal.eid.models import Facility
    from portal.places import Place
    from proposals.models import Proposal
    from tourism.models import Listing
    from welfare.models import Programme
    from welfare.models import WelfareProfile as Profile

    _seed_the_city()
    kinds = dict(db.session.execute(select(Place.code, Place.kind)).all())

    def rule_districts(rule):
        if isinstance(rule, list):
            return [d for r in rule for d in rule_districts(r)]
        if isinstance(rule, dict):
            found = list(rule["district"]["in"]) if isinstance(rule.get("district"), dict) else []
            return found + [d for k, v in rule.items() if k != "district" for d in rule_districts(v)]
        return []

    districts = {
        "accounts": set(db.session.scalars(select(User.district).where(User.district.is_not(None)))),
        "register": set(db.session.scalars(select(ResidentRecord.district))),
        "proposals": set(db.session.scalars(select(Proposal.district).where(Proposal.district.is_not(None)))),
        "welfare profiles": set(db.session.scalars(select(Profile.district).where(Profile.district.is_not(None)))),
        "welfare rules": {d for rules in db.session.scalars(select(Programme.rules)) for d in rule_districts(rules)},
        "e-ID facilities": {d for ds in db.session.scalars(select(Facility.districts)) for d in (ds or [])},
    }
    for module, codes in districts.items():
        assert codes, f"the {module} demo names no district"
        assert {kinds.get(code) for code in codes} == {"district"}, (module, codes)
    areas = set(db.session.scalars(select(Listing.area)))
    assert areas and {kinds.get(code) for code in areas} == {"area"}, areas
    # One city: the tourism areas are the only areas of the table, and none is in Yeosu.
    assert areas == {code for code, kind in kinds.items() if kind == "area"}
    for place in db.session.scalars(select(Place)):
        names = " ".join(filter(None, (place.code, place.name_ko, place.name_en, place.name_zh))).lower()
        assert not any(word in names for word in YEOSU), names

    texts = [str(value) for listing in db.session.scalars(select(Listing))
             for value in (listing.slug, listing.name, listing.description, listing.address, listing.policy)]
    left = [text for text in texts if any(word in text.lower() for word in YEOSU)]
    assert not left, left


@pytest.mark.parametrize("lang, title", [("ko", "서울 여행"), ("en", "Visit Seoul"), ("zh", "游览首尔")])
def test_the_tourism_pages_name_the_demo_city(app, client, lang, title):
    _seed_the_city()
    for url in ("/tourism/", "/"):
        html = client.get(f"{url}?lang={lang}").get_data(as_text=True)
        assert not any(word in html.lower() for word in YEOSU), url
    html = client.get(f"/tourism/?lang={lang}").get_data(as_text=True)
    assert title in re.search(r"(?s)<title>(.*?)</title>", html).group(1)
    assert title in re.search(r"(?s)<h1[^>]*>(.*?)</h1>", html).group(1)


def test_reseeding_a_database_of_the_yeosu_demo_converges(app):
    """A database seeded with the first tourism demo (Yeosu): seeding again turns each of its
    listings into the Seoul one, keeping its id, slots and bookings, so it ends as a fresh seed
    would, and seeding once more changes nothing."""
    from datetime import timedelta

    from tourism import demo
    from tourism.models import Booking, Listing, Slot

    old_ids, booked = {}, None
    for spec in demo.LISTINGS:
        listing = Listing(slug=spec["was"], kind=spec["kind"], area="dolsan", name={"ko": "여수 " + spec["was"]},
                          description={"zh": "丽水"}, address={"en": "Yeosu"}, policy={"en": "Yeosu rules"},
                          free_cancel_hours=5, late_refund_percent=10, active=True)
        db.session.add(listing)
        db.session.flush()
        old_ids[spec["slug"]] = listing.id
        for n, taken_seats in enumerate((0, 1)):
            slot = Slot(listing_id=listing.id, starts_at=utcnow() + timedelta(days=2 + n), capacity=400,
                        price=44800, taken=taken_seats)
            db.session.add(slot)
            db.session.flush()
            if taken_seats and booked is None:
                booked = slot.id
                db.session.add(Booking(slot_id=slot.id, quantity=1, status="confirmed", reference="YEOSU234",
                                       guest_name="Kim", guest_email="kim@example.com", locale="ko",
                                       total=44800))
    db.session.commit()

    assert demo.seed(db.session, days=3) == 0  # nothing added: every listing moved
    db.session.expire_all()
    for spec in demo.LISTINGS:
        listing = db.session.scalar(select(Listing).where(Listing.slug == spec["slug"]))
        assert listing.id == old_ids[spec["slug"]]
        for field in demo.FIELDS:
            assert getattr(listing, field) == spec[field], (spec["slug"], field)
        slots = sorted(listing.slots, key=lambda s: s.starts_at)
        assert [(s.capacity, s.price) for s in slots] == [(spec["capacity"], spec["price"]), (400, 44800)]
    assert db.session.scalar(select(Booking.slot_id).where(Booking.reference == "YEOSU234")) == booked
    assert db.session.scalar(select(Listing).where(Listing.slug.like("%yeosu%"))) is None

    before = [(item.id, item.slug, item.area, item.name, item.policy)
              for item in db.session.scalars(select(Listing).order_by(Listing.id))]
    assert demo.seed(db.session, days=3) == 0
    db.session.expire_all()
    assert [(item.id, item.slug, item.area, item.name, item.policy)
            for item in db.session.scalars(select(Listing).order_by(Listing.id))] == before
