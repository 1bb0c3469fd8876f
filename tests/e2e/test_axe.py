"""axe-core (pinned in tests/e2e/package-lock.json) on the demo city's pages, as a visitor, a
tourist, a resident, staff, a welfare officer and an admin see them, each at 390 px and 1280 px,
in Korean and, for the pages visitors and tourists see, in English and Chinese too.

Every violation and every "needs review" (incomplete) result fails the test, listed by rule,
page, language, width and element; the totals go to the run's figures.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from tests.e2e.conftest import DESKTOP, PHONE, AxeReport, run_axe, sign_in

pytestmark = pytest.mark.e2e

ALL_LANGS = ("ko", "en", "zh")
BROWSER_LOCALE = {"ko": "ko-KR", "en": "en-GB", "zh": "zh-CN"}


def check(page, report: AxeReport, name: str, lang: str) -> None:
    """axe on the page as it is, at 390 px then at 1280 px (the same document re-laid out)."""
    assert page.locator("html").get_attribute("lang") == lang, f"{name} is not in {lang}"
    for label, size in (("390", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size(size)
        page.wait_for_timeout(50)
        report.add(f"{name} [{lang}, {label} px]", run_axe(page))
    page.set_viewport_size(PHONE)


def visit(page, report: AxeReport, name: str, path: str, lang: str, status: int = 200) -> None:
    response = page.goto(page.context.base_url + path)
    assert response.status == status, f"{name} ({path}) answered {response.status}, not {status}"
    check(page, report, name, lang)


def ids(session):
    """The demo records the pages show: found, not assumed."""
    from proposals.models import Proposal
    from tourism.models import Listing, Slot

    proposals = session.scalars(select(Proposal).order_by(Proposal.id)).all()
    voting = next(p for p in proposals if p.status == "voting")
    listings = session.scalars(select(Listing).where(Listing.active.is_(True)).order_by(Listing.id)).all()
    cruise = next(item for item in listings if "Cruise" in item.name["en"])
    slot = session.scalars(select(Slot).where(Slot.listing_id == cruise.id, Slot.taken < Slot.capacity)
                           .order_by(Slot.starts_at)).first()
    return {"proposal": proposals[0].id, "voting": voting.id, "cruise": cruise.id, "slot": slot.id}


def tourist_journey(page, report: AxeReport, lang: str, slot: int) -> None:
    """Booking form, hold, payment, confirmation and the cancel confirmation, each checked."""
    base = page.context.base_url
    visit(page, report, "tourism: booking form", f"/tourism/slots/{slot}/book", lang)
    page.fill("input[name=name]", "Emma Clarke")
    page.fill("input[name=email]", f"axe-{lang}@example.com")
    page.click(f"form[action$='/slots/{slot}/book'] [type=submit]")
    page.wait_for_url(re.compile(r"/tourism/bookings/[A-Z2-9]{8}$"))
    reference = page.url.rsplit("/", 1)[1]
    check(page, report, "tourism: hold (pay by)", lang)
    page.click(f"form[action$='/bookings/{reference}/pay'] [type=submit]")
    page.wait_for_url(re.compile(r"/tourism/sandbox/pay/\w+$"))
    check(page, report, "tourism: payment", lang)
    page.click("[type=submit][name=pay]")
    page.wait_for_url(re.compile(rf"/tourism/bookings/{reference}$"))
    check(page, report, "tourism: booking confirmed", lang)
    visit(page, report, "tourism: cancel confirmation", f"/tourism/bookings/{reference}/cancel", lang)
    assert page.url.startswith(base)


def test_axe_finds_nothing_on_the_demo_city(demo_city, axe_context, app, figures):
    report = AxeReport()
    found = ids(db.session)
    proposal, voting, cruise, slot = found["proposal"], found["voting"], found["cruise"], found["slot"]

    # visitors and tourists, in every language
    for lang in ALL_LANGS:
        page = axe_context(BROWSER_LOCALE[lang]).new_page()
        for name, path in [
            ("home", "/"),
            ("proposals: list", "/proposals/"),
            ("proposals: detail", f"/proposals/{proposal}"),
            ("welfare: start", "/welfare/"),
            ("welfare: screener", "/welfare/screener"),
            ("tourism: list", "/tourism/"),
            ("tourism: listing (cruise)", f"/tourism/listings/{cruise}"),
            ("tourism: find my booking", "/tourism/lookup"),
            ("account: sign in", "/account/login"),
            ("account: register", "/account/register"),
            ("account: password reset", "/account/password-reset"),
        ]:
            visit(page, report, name, path, lang)
        visit(page, report, "error: 404", "/no-such-page", lang, status=404)
        tourist_journey(page, report, lang, slot)

    # the resident
    page = axe_context("ko-KR").new_page()
    sign_in(page, "resident@demo.kr", demo_city)
    for name, path in [
        ("account: profile", "/account/"),
        ("account: API tokens", "/account/tokens"),
        ("account: password", "/account/password"),
        ("proposals: new", "/proposals/new"),
        ("proposals: detail (signed in)", f"/proposals/{proposal}"),
        ("proposals: in a vote (signed in)", f"/proposals/{voting}"),
        ("welfare: my profile", "/welfare/profile"),
        ("notify: inbox", "/notify/"),
        ("notify: preferences", "/notify/preferences"),
        ("e-ID: my card", "/eid/"),
        ("e-ID: my access log", "/eid/access-log"),
    ]:
        visit(page, report, name, path, "ko")

    # the newcomer (Chinese, not verified yet)
    page = axe_context("zh-CN").new_page()
    sign_in(page, "newcomer@demo.kr", demo_city)
    visit(page, report, "account: verify residency", "/account/verify", "zh")

    # staff
    page = axe_context("ko-KR").new_page()
    sign_in(page, "staff@demo.kr", demo_city)
    for name, path in [
        ("proposals: triage (staff)", "/proposals/staff/triage"),
        ("proposals: detail (staff)", f"/proposals/{proposal}"),
        ("tourism: staff listings", "/tourism/staff/"),
        ("tourism: staff sessions", f"/tourism/staff/listings/{cruise}/slots"),
        ("tourism: staff session", f"/tourism/staff/slots/{slot}"),
        ("tourism: staff reports", "/tourism/staff/reports"),
        ("e-ID: desk cards", "/eid/staff/cards"),
        ("e-ID: desk facilities", "/eid/staff/facilities"),
        ("e-ID: desk facility", "/eid/staff/facilities/seongdong-library"),
        ("accounts: staff users", "/staff/users"),
        ("accounts: residents register", "/staff/register"),
        ("notify: dashboard (staff)", "/notify/dashboard"),
    ]:
        visit(page, report, name, path, "ko")

    # the welfare officer
    page = axe_context("ko-KR").new_page()
    sign_in(page, "officer@demo.kr", demo_city)
    for name, path in [
        ("welfare: officer programmes", "/welfare/officer/"),
        ("welfare: officer profiles", "/welfare/officer/profiles"),
        ("welfare: officer reach", "/welfare/officer/reach"),
        ("welfare: new programme", "/welfare/officer/programmes/new"),
        ("notify: dashboard (officer)", "/notify/dashboard"),
    ]:
        visit(page, report, name, path, "ko")

    # the admin (English)
    page = axe_context("en-GB").new_page()
    sign_in(page, "admin@demo.kr", demo_city)
    visit(page, report, "notify: dashboard (admin)", "/notify/dashboard", "en")
    visit(page, report, "error: 403 (not verified)", "/eid/access-log", "en", status=403)

    # too many attempts: the 429 page (sign-in limited to one attempt a minute for this test)
    app.config["LOGIN_RATE_LIMIT"] = "1 per minute"
    page = axe_context("ko-KR").new_page()
    for _ in range(2):
        page.goto(page.context.base_url + "/account/login")
        page.fill("input[name=email]", "nobody@example.kr")
        page.fill("input[name=password]", "wrong-password")
        with page.expect_response(re.compile(r"/account/login")) as answer:
            page.click("form.stack button[type=submit]")
    assert answer.value.status == 429
    check(page, report, "error: 429", "ko")

    figures(f"axe-core 4.14.1: {len(report.pages())} pages, {len(report.seen)} page views (390 px and 1280 px; "
            f"ko, and en/zh for visitors' pages): {len(report.violations)} violations, "
            f"{len(report.incomplete)} needs review")
    assert not report.violations and not report.incomplete, report.text()

