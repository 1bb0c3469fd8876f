"""A real browser (Debian's Chromium through Playwright): sign in, switch to Chinese."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.e2e


def test_sign_in_and_switch_to_chinese(browser_page, make_user, artefact_path):
    make_user(email="e2e@example.kr", name="김민지", locale="ko")
    page = browser_page("ko-KR")
    page.goto(page.base_url + "/account/login")
    assert page.locator("html").get_attribute("lang") == "ko"
    page.fill("input[name=email]", "e2e@example.kr")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(page.base_url + "/")
    assert page.get_by_role("button", name="로그아웃").is_visible()

    page.select_option("#lang-select", "zh")  # picking changes nothing yet (WCAG 3.2.2) ...
    assert page.locator("html").get_attribute("lang") == "ko"
    page.click("#lang-submit")  # ... the button does
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    assert page.get_by_role("button", name="退出登录").is_visible()
    assert page.locator("a.brand").inner_text() == "市民门户"
    page.screenshot(path=artefact_path("shell-zh.png"), full_page=True)

    # The choice is saved on the account: a new visit stays in Chinese.
    page.goto(page.base_url + "/account/")
    assert page.locator("html").get_attribute("lang") == "zh"
    assert page.get_by_role("heading", name="我的账户").is_visible()


def test_the_language_changes_only_on_the_button_and_focus_stays_there(browser_page):
    """WCAG 3.2.2: arrowing through the languages switches nothing; the button does, and after
    the new page loads the keyboard is where it was, on that button."""
    page = browser_page("ko-KR")
    page.goto(page.base_url + "/")
    page.focus("#lang-select")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(500)  # a switch on change would have navigated by now
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.evaluate("document.activeElement.id") == "lang-select"

    page.select_option("#lang-select", "en")
    page.focus("#lang-submit")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#lang-submit")).to_be_focused()
    assert page.locator("#lang-submit").inner_text() == "Change"
