"""The API contract of issue 4: submit, endorse, withdraw, list, search, export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from sqlalchemy import func, select

from portal.extensions import db
from proposals.models import Endorsement
from tests.proposals.helpers import BODY, future, past, transitions_of

GOOD = {"title": "초등학교 앞 안전한 통학로", "body": BODY, "category": "safety"}


# -- submitting ----------------------------------------------------------------------------

def test_verified_resident_submits_a_proposal(client, resident, bearer):
    r = client.post("/api/v1/proposals", json={**GOOD, "district": "성동구"}, headers=bearer(resident))
    assert r.status_code == 201
    data = r.get_json()
    assert data["status"] == "open"
    assert data["endorsement_count"] == 0
    assert isinstance(data["id"], int)
    until = datetime.fromisoformat(data["endorse_until"])
    created = datetime.fromisoformat(data["created_at"])
    assert until - created == timedelta(days=30)
    assert client.get(f"/api/v1/proposals/{data['id']}").get_json()["title"] == GOOD["title"]


def test_endorsement_window_follows_config(app, client, resident, bearer):
    app.config["PROPOSAL_ENDORSEMENT_DAYS"] = "7"  # from the environment it arrives as a string
    data = client.post("/api/v1/proposals", json=GOOD, headers=bearer(resident)).get_json()
    span = datetime.fromisoformat(data["endorse_until"]) - datetime.fromisoformat(data["created_at"])
    assert span == timedelta(days=7)


def test_unverified_user_cannot_submit(client, make_user, bearer):
    r = client.post("/api/v1/proposals", json=GOOD, headers=bearer(make_user(verified=False)))
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "not_verified"


def test_anonymous_cannot_submit(client):
    r = client.post("/api/v1/proposals", json=GOOD, headers={"Authorization": "Bearer pt_not-a-token"})
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "unauthorized"


def test_invalid_proposal_gets_field_errors(client, resident, bearer):
    r = client.post("/api/v1/proposals", json={"title": "짧음", "body": "너무 짧은 본문", "category": "sports"},
                    headers=bearer(resident))
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert set(error["fields"]) == {"title", "body", "category"}
    r = client.post("/api/v1/proposals", json={"body": BODY}, headers=bearer(resident))
    assert r.status_code == 422
    assert set(r.get_json()["error"]["fields"]) == {"title", "category"}
    r = client.post("/api/v1/proposals", json={**GOOD, "title": "x" * 201}, headers=bearer(resident))
    assert r.status_code == 422 and "title" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/proposals", data="not json", headers=bearer(resident),
                    content_type="application/json")
    assert r.status_code == 422


# -- endorsing -----------------------------------------------------------------------------

def test_endorse_once_then_200_then_withdraw(client, resident, make_user, bearer, new_proposal):
    p = new_proposal(resident)
    fan = bearer(make_user())
    url = f"/api/v1/proposals/{p.id}/endorsement"
    r = client.post(url, headers=fan)
    assert r.status_code == 201 and r.get_json()["endorsement_count"] == 1
    r = client.post(url, headers=fan)
    assert r.status_code == 200 and r.get_json()["endorsement_count"] == 1
    r = client.delete(url, headers=fan)
    assert r.status_code == 204
    assert client.get(f"/api/v1/proposals/{p.id}").get_json()["endorsement_count"] == 0
    assert client.delete(url, headers=fan).status_code == 204  # nothing to withdraw: still 0
    assert client.get(f"/api/v1/proposals/{p.id}").get_json()["endorsement_count"] == 0
    assert client.post(url, headers=fan).status_code == 201


def test_author_cannot_endorse_own_proposal(client, resident, bearer, new_proposal):
    p = new_proposal(resident)
    r = client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(resident))
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "own_proposal"


def test_unverified_cannot_endorse(client, resident, make_user, bearer, new_proposal):
    p = new_proposal(resident)
    r = client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(make_user(verified=False)))
    assert r.status_code == 403
    assert client.get(f"/api/v1/proposals/{p.id}").get_json()["endorsement_count"] == 0


def test_endorse_409_when_not_open(client, resident, make_user, bearer, new_proposal, set_state):
    fan = bearer(make_user())
    p = new_proposal(resident)
    client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=fan)
    set_state(p.id, "under_review")
    r = client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(make_user()))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_open"
    assert client.delete(f"/api/v1/proposals/{p.id}/endorsement", headers=fan).status_code == 409
    assert client.get(f"/api/v1/proposals/{p.id}").get_json()["endorsement_count"] == 1
    q = new_proposal(resident, title="기한이 지난 제안입니다")
    set_state(q.id, "open", endorse_until=past())
    r = client.post(f"/api/v1/proposals/{q.id}/endorsement", headers=fan)
    assert r.status_code == 409


def test_missing_proposal_is_404(client, resident, bearer):
    assert client.get("/api/v1/proposals/999999").status_code == 404
    r = client.post("/api/v1/proposals/999999/endorsement", headers=bearer(resident))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_threshold_moves_to_review_once_and_tells_author_and_endorsers(
        app, client, resident, make_user, bearer, new_proposal, reload):
    from portal.notify.models import Message

    app.config["PROPOSAL_ENDORSEMENT_THRESHOLD"] = 2
    p = new_proposal(resident)
    fans = [make_user() for _ in range(3)]
    assert client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(fans[0])).status_code == 201
    assert reload(p.id).status == "open"
    assert client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(fans[1])).status_code == 201
    assert reload(p.id).status == "under_review"
    r = client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(fans[2]))
    assert r.status_code == 409
    assert len(transitions_of(p.id, "under_review")) == 1
    told = set(db.session.scalars(select(Message.user_id).where(
        Message.template == "proposals.threshold_reached")))
    assert told == {resident.id, fans[0].id, fans[1].id}


# -- listing, search, similar, export ------------------------------------------------------

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


def test_endorsement_rows_match_the_count(client, resident, make_user, bearer, new_proposal):
    p = new_proposal(resident)
    for _ in range(3):
        client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(make_user()))
    rows = db.session.scalar(select(func.count()).select_from(Endorsement).where(Endorsement.proposal_id == p.id))
    assert rows == client.get(f"/api/v1/proposals/{p.id}").get_json()["endorsement_count"] == 3
