"""A real browser books an event from the listing to the confirmation page, in zh and in en."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.types import utcnow
from tourism.models import Booking, Listing, Slot

pytestmark = pytest.mark.e2e

NAMES = {"ko": "여수세계박람회장 빅오쇼", "en": "Big-O Show at the Yeosu Expo Park", "zh": "丽水世博园Big-O表演"}


@pytest.fixture
def event(app):
    listing = Listing(kind="event", area="Expo", name=NAMES,
                      description={"ko": "해상 분수 쇼", "en": "A sea fountain show.", "zh": "海上喷泉表演。"},
                      address={"ko": "여수시 박람회길 1", "en": "1 Bangnamhoe-gil, Yeosu", "zh": "丽水市博览会路1"},
                      policy={}, search_text="big-o", free_cancel_hours=24, late_refund_percent=0, active=True)
    db.session.add(listing)
    db.session.flush()
    db.session.add(Slot(listing_id=listing.id, starts_at=utcnow() + timedelta(days=2), capacity=30,
                        price=10000, taken=0))
    db.session.commit()
    return listing


@pytest.mark.parametrize("browser_locale, lang, texts", [
    ("zh-CN", "zh", {"book": "预订", "hold": "保留座位", "pay": "支付", "gateway_pay": "付款",
                     "confirmed": "您的预订已确认"}),
    ("en-GB", "en", {"book": "Book", "hold": "Hold my seats", "pay": "Pay ₩20,000", "gateway_pay": "Pay",
                     "confirmed": "Your booking is confirmed"}),
])
def test_book_an_event_from_listing_to_confirmation(browser_page, event, artefact_path, browser_locale, lang,
                                                     texts):
    page = browser_page(browser_locale)  # Accept-Language picks the language: no ?lang= anywhere
    page.goto(page.base_url + "/tourism/")
    assert page.locator("html").get_attribute("lang") == lang
    page.get_by_role("link", name=re.compile(re.escape(NAMES[lang]))).click()
    page.wait_for_url(re.compile(r"/tourism/listings/\d+$"))
    assert page.get_by_role("heading", name=NAMES[lang]).is_visible()
    page.screenshot(path=artefact_path(f"tourism-listing-{lang}.png"), full_page=True)

    page.get_by_role("link", name=texts["book"], exact=True).first.click()
    page.wait_for_url(re.compile(r"/tourism/slots/\d+/book$"))
    page.fill("input[name=name]", "王芳" if lang == "zh" else "Emma Clarke")
    page.fill("input[name=email]", f"visitor-{lang}@example.com")
    page.fill("input[name=quantity]", "2")
    page.get_by_role("button", name=texts["hold"]).click()
    page.wait_for_url(re.compile(r"/tourism/bookings/[A-Z2-9]{8}$"))
    reference = page.locator("[data-reference]").inner_text().strip()

    page.get_by_role("button", name=re.compile(re.escape(texts["pay"]))).click()
    page.wait_for_url(re.compile(r"/tourism/sandbox/pay/\w+$"))
    page.screenshot(path=artefact_path(f"tourism-gateway-{lang}.png"), full_page=True)
    page.get_by_role("button", name=texts["gateway_pay"], exact=True).click()

    page.wait_for_url(re.compile(rf"/tourism/bookings/{reference}$"))
    assert page.get_by_role("heading", name=texts["confirmed"]).is_visible()
    assert page.locator(".qr svg").count() == 1
    assert page.get_by_role("link", name=re.compile(r"\.ics")).is_visible()
    page.screenshot(path=artefact_path(f"tourism-confirmed-{lang}.png"), full_page=True)

    db.session.expire_all()
    booking = db.session.query(Booking).filter_by(reference=reference).one()
    assert booking.status == "confirmed" and booking.locale == lang and booking.quantity == 2
