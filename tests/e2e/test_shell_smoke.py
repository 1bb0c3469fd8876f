"""A real browser (Debian's Chromium through Playwright): sign in, switch to Chinese."""

from __future__ import annotations

import pytest

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

    page.select_option("#lang-select", "zh")  # the switcher submits itself on change
    page.wait_for_function("document.documentElement.lang === 'zh'")
    assert page.get_by_role("button", name="退出登录").is_visible()
    assert page.locator("a.brand").inner_text() == "市民门户"
    page.screenshot(path=artefact_path("shell-zh.png"), full_page=True)

    # The choice is saved on the account: a new visit stays in Chinese.
    page.goto(page.base_url + "/account/")
    assert page.locator("html").get_attribute("lang") == "zh"
    assert page.get_by_role("heading", name="我的账户").is_visible()
