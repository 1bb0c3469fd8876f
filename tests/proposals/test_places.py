"""Issue 13, places as a table: a proposal's district is picked from the table in the page's
language, shown in the reader's language, and the list is filtered by a code or any language's
name."""

from __future__ import annotations

import re

import pytest


def _titles(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {item["title"] for item in resp.get_json()["items"]}


@pytest.mark.parametrize("district", ["seongdong", "Seongdong-gu", "城东区", "성동구"])
def test_the_list_is_filtered_by_a_district_named_in_any_language(client, make_user, new_proposal, district):
    author = make_user()
    new_proposal(author, title="중랑천 산책로 야간 조명 개선", district="성동구")
    new_proposal(author, title="공원 반려견 놀이터 설치", district="Gwangjin-gu")
    assert _titles(client.get(f"/api/v1/proposals?district={district}")) == {"중랑천 산책로 야간 조명 개선"}
    html = client.get(f"/proposals/?district={district}&lang=en").get_data(as_text=True)
    assert "중랑천 산책로 야간 조명 개선" in html and "공원 반려견 놀이터 설치" not in html
    assert re.search(r'<option value="seongdong"\s+selected>Seongdong-gu</option>', html)


@pytest.mark.parametrize("lang, name", [("ko", "성동구"), ("en", "Seongdong-gu"), ("zh", "城东区")])
def test_a_proposals_district_is_read_and_picked_in_the_page_language(client, make_user, login, new_proposal,
                                                                       lang, name):
    author = make_user()
    p = new_proposal(author, title="중랑천 산책로 야간 조명 개선", district="城东区")
    assert p.district == "seongdong"
    assert f"· {name}" in client.get(f"/proposals/{p.id}?lang={lang}").get_data(as_text=True)
    assert f"· {name}" in client.get(f"/proposals/?lang={lang}").get_data(as_text=True)
    login(client, make_user(locale=lang))
    html = client.get("/proposals/new").get_data(as_text=True)
    assert re.search(rf'<select[^>]*name="district".*?<option[^>]*value="seongdong"[^>]*>{name}</option>', html, re.S)


def test_a_district_that_is_no_district_is_refused(client, make_user, bearer):
    r = client.post("/api/v1/proposals?lang=en", headers=bearer(make_user()),
                    json={"title": "중랑천 산책로 야간 조명 개선", "body": "밤이 되면 너무 어두워 혼자 걷기 무섭습니다. " * 3,
                          "category": "safety", "district": "Atlantis"})
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"]["district"] == "Choose a district from the list."
