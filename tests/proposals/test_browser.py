"""A real browser: similar titles appear while typing, then the proposal is published."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.e2e


def test_similar_titles_while_typing_then_publish(browser_page, make_user, new_proposal, artefact_path):
    new_proposal(make_user(), title="초등학교 앞 안전한 통학로")
    make_user(email="writer@example.kr", locale="ko")
    page = browser_page("ko-KR")
    page.goto(page.base_url + "/account/login?next=/proposals/new")
    page.fill("input[name=email]", "writer@example.kr")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(page.base_url + "/proposals/new")
    assert page.locator("#similar").is_hidden()
    page.locator("input[name=title]").press_sequentially("통학로 안전 펜스", delay=30)
    suggestion = page.locator("#similar a", has_text="초등학교 앞 안전한 통학로")
    suggestion.wait_for(state="visible")
    page.screenshot(path=artefact_path("proposals-similar-ko.png"), full_page=True)
    page.fill("textarea[name=body]", "중학교 통학로에도 보도 펜스와 스마트 횡단보도를 설치해 주세요.")
    page.select_option("select[name=category]", "safety")
    page.click("form button[type=submit] >> text=게시하기")
    page.wait_for_url("**/proposals/*")
    assert page.get_by_role("heading", name="통학로 안전 펜스").is_visible()
    assert page.get_by_text("공감 모집 중").first.is_visible()


def test_detail_page_endorse_in_chinese(browser_page, make_user, new_proposal, artefact_path):
    p = new_proposal(make_user(), title="초등학교 앞 안전한 통학로")
    make_user(email="fan@example.kr", locale="zh")
    page = browser_page("zh-CN")
    page.goto(page.base_url + f"/account/login?next=/proposals/{p.id}")
    page.fill("input[name=email]", "fan@example.kr")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(page.base_url + f"/proposals/{p.id}")
    page.get_by_role("button", name="支持", exact=True).click()
    page.get_by_text("谢谢，您的支持已计入。").wait_for()
    assert page.locator("section.endorse .count strong").inner_text() == "1"
    assert page.get_by_role("button", name="撤回我的支持").is_visible()
    page.screenshot(path=artefact_path("proposals-detail-zh.png"), full_page=True)
