"""The list (filters, search, sorts, cursors), similar titles, open data, the staff triage queue."""

from __future__ import annotations

import csv
import io

from tests.proposals.helpers import future, past


def _seed_list(new_proposal, make_user, set_state, client, bearer):
    author = make_user()
    made = {}
    for title, category, district in [
        ("버스정류장 스마트 쉼터 확대", "transport", "성동구"),
        ("중랑천 산책로 야간 조명 개선", "safety", "성동구"),
        ("공원 반려견 놀이터 설치", "environment", "광진구"),
        ("어르신 디지털 교육 확대", "education", "성동구"),
        ("전동킥보드 주차구역 지정", "transport", "광진구"),
    ]:
        made[title] = new_proposal(author, title=title, category=category, district=district)
    fans = [bearer(make_user()) for _ in range(3)]
    for title, n in [("중랑천 산책로 야간 조명 개선", 3), ("전동킥보드 주차구역 지정", 2),
                     ("공원 반려견 놀이터 설치", 1)]:
        for fan in fans[:n]:
            client.post(f"/api/v1/proposals/{made[title].id}/endorsement", headers=fan)
    return made


def _titles(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [item["title"] for item in resp.get_json()["items"]]


def test_list_filters_search_and_sorts(client, make_user, bearer, new_proposal, set_state):
    made = _seed_list(new_proposal, make_user, set_state, client, bearer)
    popular = _titles(client.get("/api/v1/proposals?sort=popular"))
    assert popular[:3] == ["중랑천 산책로 야간 조명 개선", "전동킥보드 주차구역 지정", "공원 반려견 놀이터 설치"]
    assert _titles(client.get("/api/v1/proposals?sort=newest"))[0] == "전동킥보드 주차구역 지정"
    assert set(_titles(client.get("/api/v1/proposals?category=transport"))) == {
        "버스정류장 스마트 쉼터 확대", "전동킥보드 주차구역 지정"}
    assert set(_titles(client.get("/api/v1/proposals?district=광진구"))) == {
        "공원 반려견 놀이터 설치", "전동킥보드 주차구역 지정"}
    assert _titles(client.get("/api/v1/proposals?q=산책로")) == ["중랑천 산책로 야간 조명 개선"]
    # the body is searched too: every seeded body mentions a safe school route
    assert len(_titles(client.get("/api/v1/proposals?q=횡단보도"))) == 5
    assert _titles(client.get("/api/v1/proposals?q=100%25")) == []
    set_state(made["어르신 디지털 교육 확대"].id, "hidden", status_before_hidden="open")
    assert "어르신 디지털 교육 확대" not in _titles(client.get("/api/v1/proposals"))
    set_state(made["버스정류장 스마트 쉼터 확대"].id, "open", endorse_until=future(1))
    assert _titles(client.get("/api/v1/proposals?sort=ending"))[0] == "버스정류장 스마트 쉼터 확대"
    set_state(made["공원 반려견 놀이터 설치"].id, "under_review")
    assert _titles(client.get("/api/v1/proposals?status=under_review")) == ["공원 반려견 놀이터 설치"]


def test_list_rejects_unknown_filters(client):
    for query in ("sort=random", "status=lost", "category=sports", "cursor=garbage", "limit=0"):
        r = client.get(f"/api/v1/proposals?{query}")
        assert r.status_code == 422, query
        assert "fields" in r.get_json()["error"]


def test_cursor_pagination_walks_every_proposal_once(client, make_user, bearer, new_proposal, set_state):
    _seed_list(new_proposal, make_user, set_state, client, bearer)
    for sort in ("popular", "newest"):
        seen, cursor, pages = [], None, 0
        while True:
            url = f"/api/v1/proposals?sort={sort}&limit=2" + (f"&cursor={cursor}" if cursor else "")
            data = client.get(url).get_json()
            seen += [item["id"] for item in data["items"]]
            pages += 1
            cursor = data["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 5
        assert pages == 3
        full = [item["id"] for item in client.get(f"/api/v1/proposals?sort={sort}").get_json()["items"]]
        assert seen == full


def test_similar_titles_while_typing(client, make_user, new_proposal):
    author = make_user()
    new_proposal(author, title="초등학교 앞 안전한 통학로")
    new_proposal(author, title="중학교 통학로 가로등 설치")
    new_proposal(author, title="공원 반려견 놀이터 설치")
    for i in range(6):
        new_proposal(author, title=f"놀이터 바닥 교체 요청 {i}")
    items = client.get("/api/v1/proposals/similar?title=통학로 안전").get_json()["items"]
    assert [i["title"] for i in items] == ["초등학교 앞 안전한 통학로", "중학교 통학로 가로등 설치"]
    assert len(client.get("/api/v1/proposals/similar?title=놀이터").get_json()["items"]) == 5
    assert client.get("/api/v1/proposals/similar?title=").get_json()["items"] == []


def test_export_csv_has_public_fields_only(client, resident, make_user, new_proposal, set_state):
    p = new_proposal(resident, title="=HYPERLINK 위험한 제목입니다")
    hidden = new_proposal(resident, title="숨겨진 제안입니다")
    set_state(hidden.id, "hidden", status_before_hidden="open")
    r = client.get("/api/v1/proposals/export.csv")
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [int(row["id"]) for row in rows] == [p.id]
    assert rows[0]["title"].startswith("'=")  # no formula injection into spreadsheets
    assert rows[0]["status"] == "open"
    assert not {"author_id", "email", "name", "user_id"} & set(rows[0])


def test_triage_queue_oldest_first_for_staff_only(client, make_user, staff, bearer, new_proposal, set_state):
    a, b, c = (new_proposal(make_user(), title=f"검토 대기 제안 {i}") for i in range(3))
    set_state(b.id, "under_review", status_changed_at=past(5))
    set_state(a.id, "under_review", status_changed_at=past(1))
    r = client.get("/api/v1/proposals/triage", headers=bearer(staff))
    assert [i["id"] for i in r.get_json()["items"]] == [b.id, a.id]
    assert client.get("/api/v1/proposals/triage", headers=bearer(make_user())).status_code == 403
