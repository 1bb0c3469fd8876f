"""Listing reads made cheaper (issue 14) answer what the general code answers: the list's plain
rows (ListingCard) what listing_json of the ORM listing gives, texts.text what pick gives, and
the per-locale caches (a day's pattern) the language asked, also after another language's."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from babel.dates import format_skeleton
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import update

from portal.extensions import db
from portal.i18n import LOCALES, pick
from portal.types import utcnow
from tourism import schemas
from tourism.models import Booking, Listing
from tourism.service import texts

from .conftest import booking_body


def test_text_picks_what_pick_picks(app):
    values = ("", "text")
    with app.test_request_context("/?lang=zh"):
        for present in itertools.product(values, repeat=len(LOCALES)):
            translations = {code: f"{value} {code}".strip() if value else "" for code, value
                            in zip(LOCALES, present, strict=True)}
            for lang in (*LOCALES, None, "zh-CN", "EN", "xx", ""):
                assert texts._pick(translations, lang) == pick(translations, lang), (translations, lang)
        assert texts._pick({}, "ko") == pick({}, "ko") == ("", None)


def test_list_rows_answer_what_the_listing_answers(client, make_listing):
    make_listing(name={"ko": "오동도 산책", "en": "Odongdo Walk"}, description={"ko": "동백숲"}, policy={"zh": "只有中文"})
    make_listing(area="a value stored before areas were places", address={})
    make_listing(area="", kind="lodging")
    listings = db.session.scalars(db.select(Listing).order_by(Listing.id)).all()
    for lang in ("ko", "zh", "en", "zh"):  # a language again after another's
        items = client.get(f"/api/v1/tourism/listings?lang={lang}").get_json()["items"]
        with client.application.test_request_context(f"/?lang={lang}"):
            assert items == [schemas.listing_json(listing, lang) for listing in listings]
    items = client.get("/api/v1/tourism/listings?lang=zh").get_json()["items"]
    # the area in the language the name was served in (en: no zh name)
    assert [i["area_name"] for i in items] == ["Ttukseom", "a value stored before areas were places", ""]
    assert items[0]["missing_locales"] == ["en", "zh"] and items[0]["policy"] == "只有中文"


def test_listing_page_of_an_inactive_or_unknown_listing_is_404(client, make_listing):
    listing, _slot = make_listing()
    assert client.get(f"/tourism/listings/{listing.id}").status_code == 200
    listing.active = False
    db.session.commit()
    assert client.get(f"/tourism/listings/{listing.id}").status_code == 404
    assert client.get("/tourism/listings/999999").status_code == 404


def test_day_labels_are_in_the_language_asked_after_another(app, client, make_listing):
    days = [date(2030, 5, 1), date(2031, 2, 28)]
    with app.test_request_context("/"):
        for lang in ("ko", "zh", "en", "ko"):
            with force_locale(lang):
                assert [texts.format_day(d) for d in days] == [format_skeleton("MMMEd", d, locale=lang) for d in days]
    listing, _slot = make_listing()
    pages = {lang: client.get(f"/tourism/listings/{listing.id}?lang={lang}").get_data(as_text=True)
             for lang in ("ko", "zh")}
    assert "일 (" in pages["ko"] and "周" not in pages["ko"]
    assert "周" in pages["zh"] and "일 (" not in pages["zh"]
    # the page's texts (its gettext and ngettext look the catalogue up once) in each language
    with app.test_request_context("/"):
        for lang, page in pages.items():
            with force_locale(lang):
                texts_of_page = (gettext("Dates and times"), ngettext("%(num)d session", "%(num)d sessions", 1),
                                 gettext("%(price)s per person", price="₩20,000"))
            assert all(text in page for text in texts_of_page), (lang, texts_of_page)


def test_listing_page_counts_holds_whose_time_is_up_as_free(client, make_listing):
    listing, slot = make_listing(capacity=3)
    for email in ("live@example.com", "late@example.com"):
        resp = client.post("/api/v1/tourism/bookings", json=booking_body(slot.id, email=email))
        assert resp.status_code == 201, resp.get_json()
    db.session.execute(update(Booking).where(Booking.guest_email == "late@example.com")
                       .values(hold_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    page = client.get(f"/tourism/listings/{listing.id}?lang=en").get_data(as_text=True)
    assert "2 of 3 places left" in page  # 1 of 3 when the hold whose time is up counted
