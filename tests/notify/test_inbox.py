"""The resident's inbox: only their delivered notices, newest first, in pages; read marks."""

from __future__ import annotations

from portal.extensions import db
from tests.notify.conftest import inbox_notice as _inbox_notice


def test_inbox_lists_only_my_delivered_notices_newest_first(client, make_user, bearer, send):
    me, other = make_user(locale="en"), make_user()
    first = _inbox_notice(send, me, "mine-1", context={"reference": "A"})
    second = _inbox_notice(send, me, "mine-2", context={"reference": "B"})
    _inbox_notice(send, other, "theirs-1")
    resp = client.get("/api/v1/notify/inbox", headers=bearer(me))
    assert resp.status_code == 200
    body = resp.get_json()
    assert [item["id"] for item in body["items"]] == [second.id, first.id]
    assert body["items"][0]["subject"] == "Test message from the city portal"
    assert "Reference: B" in body["items"][0]["body"]
    assert body["items"][0]["read"] is False and body["next_cursor"] is None


def test_inbox_pages_with_a_cursor(client, make_user, bearer, send):
    me = make_user()
    ids = [_inbox_notice(send, me, f"page-{i}").id for i in range(5)]
    headers = bearer(me)
    page1 = client.get("/api/v1/notify/inbox?limit=3", headers=headers).get_json()
    page2 = client.get(f"/api/v1/notify/inbox?limit=3&cursor={page1['next_cursor']}", headers=headers).get_json()
    assert [i["id"] for i in page1["items"] + page2["items"]] == ids[::-1]
    assert page2["next_cursor"] is None
    assert client.get("/api/v1/notify/inbox?cursor=garbage", headers=headers).status_code == 422


def test_marking_read_works_on_mine_and_is_404_on_someone_elses(client, make_user, bearer, send):
    me, other = make_user(), make_user()
    mine, theirs = _inbox_notice(send, me, "r-mine"), _inbox_notice(send, other, "r-theirs")
    headers = bearer(me)
    resp = client.post(f"/api/v1/notify/inbox/{mine.id}/read", headers=headers)
    assert resp.status_code == 200 and resp.get_json()["read"] is True
    first_read = resp.get_json()["read_at"]
    assert client.post(f"/api/v1/notify/inbox/{mine.id}/read", headers=headers).get_json()["read_at"] == first_read
    resp = client.post(f"/api/v1/notify/inbox/{theirs.id}/read", headers=headers)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "message_not_found"
    db.session.refresh(theirs)
    assert theirs.read_at is None


def test_inbox_page_shows_my_notices_in_their_language(client, make_user, login, send):
    me = make_user(locale="zh")
    message = _inbox_notice(send, me, "page-1", context={"reference": "P-1"})
    _inbox_notice(send, make_user(), "page-other", context={"reference": "SECRET"})
    login(client, me)
    html = client.get("/notify/").get_data(as_text=True)
    assert "市民门户测试消息" in html and "参考编号：P-1" in html and "SECRET" not in html
    assert "1 条未读通知" in html
    # the CSP allows no inline style: the body keeps its lines by a class of the stylesheet
    assert 'class="body pre-line"' in html and "style=" not in html
    assert ".pre-line { white-space: pre-line; }" in client.get("/static/portal.css").get_data(as_text=True)
    resp = client.form(f"/notify/inbox/{message.id}/read")
    assert resp.status_code == 302
    db.session.refresh(message)
    assert message.read_at is not None
    assert "没有未读通知。" in client.get("/notify/").get_data(as_text=True)


def test_inbox_page_needs_sign_in(client):
    resp = client.get("/notify/")
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]


def test_reading_the_inbox_marks_nothing_read(client, make_user, bearer, login, send):
    """Listing is a read: only POST .../read marks a notice read."""
    me = make_user()
    message = _inbox_notice(send, me, "unread-1")
    for _ in range(2):
        assert client.get("/api/v1/notify/inbox", headers=bearer(me)).get_json()["items"][0]["read"] is False
    login(client, me)
    assert client.get("/notify/").status_code == 200
    db.session.refresh(message)
    assert message.read_at is None
