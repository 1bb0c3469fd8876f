"""The card page in a real browser: the QR code renews itself before it expires, in a box that
does not move or resize."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.e2e


def test_qr_code_renews_without_layout_shift(app, browser_page, make_user, card_for,
                                             artefact_path):
    app.config["EID_TOKEN_SECONDS"] = 5  # renew after 5 s instead of ~45 s
    resident = make_user(email="card@example.kr", name="김민지", locale="ko")
    card_for(resident)
    page = browser_page("ko-KR")
    page.goto(page.base_url + "/account/login")
    page.fill("input[name=email]", "card@example.kr")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(page.base_url + "/")
    page.goto(page.base_url + "/eid/")
    assert page.get_by_role("heading", name="내 전자시민카드").is_visible()

    box = page.locator("#eid-qr")
    before_box = box.bounding_box()
    assert before_box["width"] >= 250 and abs(before_box["width"] - before_box["height"]) < 1
    caption_before = page.locator("#eid-qr-note").bounding_box()
    first_svg = box.inner_html()
    page.wait_for_function(
        "first => document.getElementById('eid-qr').innerHTML !== first", arg=first_svg,
        timeout=15_000)
    assert box.bounding_box() == before_box
    assert page.locator("#eid-qr-note").bounding_box() == caption_before
    assert page.locator("#eid-qr svg").count() == 1
    assert page.locator("#eid-qr-error").is_hidden()
    page.screenshot(path=artefact_path("eid-card-ko.png"), full_page=True)
