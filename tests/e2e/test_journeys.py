"""Issue 13's journeys in a real browser (Debian's Chromium), in Korean, English and Chinese,
on the demo city: what a tourist, a resident and a visitor see, step by step."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.extensions import db
from tests.e2e.conftest import PHONE, base_url, sign_in

pytestmark = pytest.mark.e2e


def set_quantity(page, n: int) -> None:
    """Choose how many places, whether the form offers a select or a number field."""
    field = page.locator("[name=quantity]")
    if field.evaluate("e => e.tagName") == "SELECT":
        field.select_option(str(n))
    else:
        field.fill(str(n))


def offered_quantities(page) -> int:
    """The most places the booking form lets a person ask for."""
    field = page.locator("[name=quantity]")
    if field.evaluate("e => e.tagName") == "SELECT":
        return max(int(v) for v in field.locator("option").evaluate_all("os => os.map(o => o.value)") if v)
    return int(field.get_attribute("max"))


def listing_by_slug(slug: str):
    from tourism.models import Listing

    return db.session.scalar(select(Listing).where(Listing.slug == slug))


# -- a Chinese tourist books the harbour cruise by date -----------------------------------------

def test_zh_tourist_books_the_cruise_by_date_and_sees_the_refund_before_paying(demo_city, browser_page,
                                                                               artefact_path):
    from tourism.models import Booking, Slot
    from tourism.service import SEOUL

    cruise = listing_by_slug("hangang-night-cruise")
    first = db.session.scalar(select(func.min(Slot.starts_at)).where(Slot.listing_id == cruise.id))
    day = (first.astimezone(SEOUL) + timedelta(days=3)).date()  # a day well past free cancellation
    page = browser_page("zh-CN")
    page.set_viewport_size(PHONE)
    page.goto(page.base_url + "/tourism/")
    page.get_by_role("link", name=re.compile("纛岛出发汉江夜景游船")).first.click()
    page.wait_for_url(re.compile(r"/tourism/listings/\d+"))

    # browsed by date: the page shows one day, not all 40-odd sessions
    assert page.locator("ul.slots > li").count() <= 4
    page.fill("input[name=date]", day.isoformat())
    page.locator("form.day-pick [type=submit]").click()
    page.wait_for_url(re.compile(rf"date={day.isoformat()}"))
    sessions = page.locator("ul.slots > li")
    assert 1 <= sessions.count() <= 4
    assert page.locator("[aria-current=date]").count() == 1
    policy = page.locator("section.policy")
    assert "退改政策" in policy.inner_text()
    assert "小时内可免费" not in page.content() and "小时内取消" not in page.content()

    sessions.first.get_by_role("link", name="预订").click()
    page.wait_for_url(re.compile(r"/tourism/slots/\d+/book$"))
    # the booking form: the policy and what a cancellation returns per place, before anything is held
    policy = page.locator("section.policy")
    assert "退改政策" in policy.inner_text()
    assert "₩25,000" in policy.inner_text() and "₩12,500" in policy.inner_text()
    page.fill("input[name=name]", "王芳")
    page.fill("input[name=email]", "wang.fang@example.com")
    set_quantity(page, 2)
    page.locator("form.stack [type=submit]").click()
    page.wait_for_url(re.compile(r"/tourism/bookings/[A-Z2-9]{8}$"))
    reference = page.url.rsplit("/", 1)[1]

    # the hold: policy and refunds for the two places, and a deadline with its time zone
    policy = page.locator("section.policy")
    assert "₩50,000" in policy.inner_text() and "₩25,000" in policy.inner_text()
    assert re.search(r"KST|韩国时间|韩国标准时间|首尔|GMT\+9|UTC\+9", page.locator(".notice").first.inner_text())
    page.screenshot(path=artefact_path("journey-zh-cruise-hold.png"), full_page=True)
    page.get_by_role("button", name=re.compile("₩50,000")).click()
    page.wait_for_url(re.compile(r"/tourism/sandbox/pay/\w+$"))

    # the payment page: the same policy, still before paying
    policy = page.locator("section.policy")
    assert "退改政策" in policy.inner_text() and "₩50,000" in policy.inner_text()
    page.locator("[type=submit][name=pay]").click()
    page.wait_for_url(re.compile(rf"/tourism/bookings/{reference}$"))
    assert page.get_by_role("heading", name="您的预订已确认").is_visible()

    # cancelling asks first, with the amount
    page.locator(f"a[href$='/bookings/{reference}/cancel']").click()
    page.wait_for_url(re.compile(rf"/bookings/{reference}/cancel$"))
    notice = page.locator("[data-refund]")
    assert "₩50,000" in notice.inner_text()
    db.session.expire_all()
    assert db.session.scalar(select(Booking.status).where(Booking.reference == reference)) == "confirmed"
    page.locator(f"form[action$='/bookings/{reference}/cancel'] [type=submit]").click()
    page.wait_for_url(re.compile(rf"/tourism/bookings/{reference}$"))
    db.session.expire_all()
    booking = db.session.scalar(select(Booking).where(Booking.reference == reference))
    assert booking.status == "cancelled" and booking.refund_amount == 50000 and booking.locale == "zh"


def test_a_hanok_booking_past_free_cancellation_says_so_and_asks_before_cancelling(demo_city, browser_page):
    """Finding 1: after paying for the hanok (no refund inside 72 hours) the page says plainly that
    nothing comes back, and the cancel button leads to a confirmation, not a cancellation."""
    from tourism.models import Booking, Slot

    hanok = listing_by_slug("bukchon-hanok-stay")
    slot = db.session.scalars(select(Slot).where(Slot.listing_id == hanok.id).order_by(Slot.starts_at)).first()
    page = browser_page("zh-CN")
    page.goto(f"{page.base_url}/tourism/slots/{slot.id}/book")
    assert "不予退款" in page.locator("section.policy").inner_text() or \
        "不退款" in page.locator("section.policy").inner_text()
    page.fill("input[name=name]", "王芳")
    page.fill("input[name=email]", "hanok@example.com")
    set_quantity(page, 2)
    page.locator("form.stack [type=submit]").click()
    page.wait_for_url(re.compile(r"/tourism/bookings/[A-Z2-9]{8}$"))
    reference = page.url.rsplit("/", 1)[1]
    page.get_by_role("button", name=re.compile("₩280,000")).click()
    page.locator("[type=submit][name=pay]").click()
    page.wait_for_url(re.compile(rf"/tourism/bookings/{reference}$"))
    assert page.locator(".refund-none").is_visible()

    page.locator(f"a[href$='/bookings/{reference}/cancel']").click()
    page.wait_for_url(re.compile(rf"/bookings/{reference}/cancel$"))
    assert page.locator("[data-refund='0'] .refund-none").is_visible()
    assert "₩280,000" in page.locator("[data-refund]").inner_text()
    page.locator("a.button", has_text=re.compile("保留|不取消")).click()  # keep it after all
    page.wait_for_url(re.compile(rf"/tourism/bookings/{reference}$"))
    db.session.expire_all()
    assert db.session.scalar(select(Booking.status).where(Booking.reference == reference)) == "confirmed"


def test_asking_for_more_places_than_are_left_keeps_the_form_and_says_how_many(demo_city, browser_page, app):
    """Finding 4: the form offers no more than are left; if places go while you type, it comes
    back with what you typed and how many are left, never the waiting list's "sold out"."""
    from tourism import service
    from tourism.models import Slot

    hanok = listing_by_slug("bukchon-hanok-stay")
    slot = db.session.scalars(select(Slot).where(Slot.listing_id == hanok.id).order_by(Slot.starts_at.desc())).first()
    page = browser_page("zh-CN")
    page.goto(f"{page.base_url}/tourism/slots/{slot.id}/book")
    assert offered_quantities(page) == 3  # three rooms left, not ten
    page.fill("input[name=name]", "王芳")
    page.fill("input[name=email]", "wang.fang@example.com")
    page.fill("input[name=phone]", "010-1234-5678")
    set_quantity(page, 3)
    # meanwhile someone else takes one room
    service.create_booking(db.session, user=None, slot_id=slot.id, quantity=1, name="Other guest",
                           email="other@example.com", phone=None, locale="en",
                           idempotency_key="e2e-other-guest", client="127.0.0.1")
    db.session.commit()
    with page.expect_response(re.compile(r"/book$")) as answer:
        page.locator("form.stack [type=submit]").click()
    assert answer.value.status == 422
    assert page.url.endswith(f"/slots/{slot.id}/book")
    assert "售罄" not in page.locator("main").inner_text()
    assert re.search(r"2", page.locator(".flash-error, [role=alert]").first.inner_text())
    assert page.input_value("input[name=name]") == "王芳"
    assert page.input_value("input[name=email]") == "wang.fang@example.com"
    assert page.input_value("input[name=phone]") == "010-1234-5678"
    assert page.locator("[name=quantity]").input_value() == "3"
    assert offered_quantities(page) == 2


# -- a resident endorses a neighbour's proposal ----------------------------------------------------

def test_resident_endorses_a_neighbours_proposal(demo_city, browser_page):
    from portal.accounts.service import find_by_email
    from proposals.models import Endorsement, Proposal

    resident = find_by_email(db.session, "resident@demo.kr")
    endorsed = select(Endorsement.proposal_id).where(Endorsement.user_id == resident.id)
    proposal = db.session.scalars(
        select(Proposal).where(Proposal.status == "open", Proposal.author_id != resident.id,
                               Proposal.id.not_in(endorsed)).order_by(Proposal.id)).first()
    assert proposal is not None, "the demo has no proposal by a neighbour for resident@demo.kr to endorse"
    before = proposal.endorsement_count

    page = browser_page("ko-KR")
    sign_in(page, "resident@demo.kr", demo_city)
    page.goto(page.base_url + "/proposals/")
    page.get_by_role("link", name=proposal.title).first.click()
    page.wait_for_url(re.compile(rf"/proposals/{proposal.id}$"))
    section = page.locator("section.endorse")
    assert section.get_by_role("button", name="공감하기").is_visible()
    assert section.get_by_role("button", name=re.compile("취소|철회")).count() == 0  # nothing to withdraw yet
    section.get_by_role("button", name="공감하기").click()
    page.wait_for_url(re.compile(rf"/proposals/{proposal.id}"))
    section = page.locator("section.endorse")
    assert section.locator(".count strong").inner_text() == str(before + 1)
    assert section.get_by_role("button", name="공감하기").count() == 0
    assert section.get_by_role("button", name=re.compile("취소|철회")).is_visible()

    # her own proposal says why there is no button
    own = db.session.scalars(select(Proposal).where(Proposal.author_id == resident.id)).first()
    if own is not None:
        page.goto(f"{page.base_url}/proposals/{own.id}")
        assert page.locator("section.endorse .why").is_visible()
        assert page.locator("section.endorse").get_by_role("button", name="공감하기").count() == 0


# -- a visitor checks benefits in English with "Seongdong-gu" ----------------------------------------

def test_en_screener_with_seongdong_gu_finds_the_care_calls(demo_city, browser_page):
    """Finding 3 (and 5): a 75-year-old living alone in Seongdong-gu on ₩1,000,000 a month (about
    39% of the 2026 standard median income for one person) may get the care calls."""
    page = browser_page("en-GB")
    page.goto(page.base_url + "/welfare/screener")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Age", exact=True).fill("75")
    page.locator("[name=household_size]").fill("1")
    if page.locator("[name=monthly_income]").count():
        page.locator("[name=monthly_income]").fill("1000000")
    else:  # before issue 13: a percentile
        page.locator("[name=income_percentile]").fill("39")
    page.get_by_label(re.compile("alone", re.I)).check()
    district = page.locator("[name=district]")
    if district.evaluate("e => e.tagName") == "SELECT":
        district.select_option(label="Seongdong-gu")
    else:  # before issue 13: typed, as a visitor would write it
        district.fill("Seongdong-gu")
    page.get_by_role("button", name="Check").click()
    main = page.locator("main").inner_text()
    assert "No current programme matches" not in main
    results = page.locator("ul.cards")
    assert "Care calls for seniors living alone" in results.inner_text()
    text = results.inner_text()
    assert not re.search(r"[≥≤]|percentile", text), text  # plain sentences, not formulas


# -- the language, by keyboard alone ------------------------------------------------------------------

def test_keyboard_only_language_switch(browser_page):
    """Tab to the language list, arrow to another language (nothing changes yet), Tab to the
    button and press Enter: the page comes back in that language with the focus on the button."""
    page = browser_page("ko-KR")
    page.goto(base_url(page) + "/proposals/")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "lang-select":
            break
    else:
        pytest.fail("the language list cannot be reached with Tab")
    options = page.locator("#lang-select option").evaluate_all("os => os.map(o => o.value)")
    for _ in range(options.index("zh") - options.index("ko")):
        page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert page.locator("html").get_attribute("lang") == "ko"  # choosing is not switching
    assert page.evaluate("document.activeElement.id") == "lang-select"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "lang-submit"
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    assert page.url.endswith("/proposals/")
    expect(page.locator("#lang-submit")).to_be_focused()
    assert page.locator("#lang-select").input_value() == "zh"
