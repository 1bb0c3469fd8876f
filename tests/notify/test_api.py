"""The JSON API and the pages: who may see and do what."""

from __future__ import annotations

from sqlalchemy import select, update

from portal.extensions import db
from portal.notify import service
from portal.notify.models import Message, Preference


def _inbox_notice(send, user, key, **kwargs):
    return send(user=user, idempotency_key=key, channel="app", **kwargs)


# -- the resident's inbox -----------------------------------------------------------------------

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


def test_anonymous_gets_401_everywhere(client, make_user, send):
    """Unsigned GETs, and writes with a token that is not valid (cookie writes without a CSRF
    token stop at the CSRF check first)."""
    message = _inbox_notice(send, make_user(), "anon")
    bad_token = {"Authorization": "Bearer pt_not-a-real-token"}
    for method, url in [("get", "/api/v1/notify/inbox"), ("post", f"/api/v1/notify/inbox/{message.id}/read"),
                        ("get", "/api/v1/notify/preferences"), ("put", "/api/v1/notify/preferences"),
                        ("get", "/api/v1/notify/messages"), ("post", f"/api/v1/notify/messages/{message.id}/retry"),
                        ("get", "/api/v1/notify/stats")]:
        resp = getattr(client, method)(url, json={}, headers=bad_token if method != "get" else {})
        assert resp.status_code == 401, url
        assert resp.get_json()["error"]["code"] == "unauthorized"


# -- preferences --------------------------------------------------------------------------------

def test_preferences_round_trip(client, make_user, bearer):
    user = make_user(phone="010-1234-5678")
    headers = bearer(user)
    assert client.get("/api/v1/notify/preferences", headers=headers).get_json() == {
        "preferred_channel": None, "opted_out": []}
    resp = client.put("/api/v1/notify/preferences", headers=headers,
                      json={"preferred_channel": "voice", "opted_out": ["sms", "email"]})
    assert resp.status_code == 200
    assert resp.get_json() == {"preferred_channel": "voice", "opted_out": ["email", "sms"]}
    resp = client.put("/api/v1/notify/preferences", headers=headers, json={"preferred_channel": None, "opted_out": []})
    assert resp.get_json() == {"preferred_channel": None, "opted_out": []}
    assert db.session.scalar(select(Preference.preferred_channel).where(Preference.user_id == user.id)) is None


def test_preferences_refuse_what_cannot_work(client, make_user, bearer):
    headers = bearer(make_user(phone=None))
    cases = [
        ({"preferred_channel": "sms"}, "preferred_channel"),            # no phone number
        ({"preferred_channel": "email", "opted_out": ["email"]}, "preferred_channel"),
        ({"opted_out": ["app"]}, "opted_out"),                          # the inbox stays on
        ({"preferred_channel": "fax"}, "preferred_channel"),
        ({"colour": "blue"}, "colour"),
    ]
    for body, field in cases:
        resp = client.put("/api/v1/notify/preferences", headers=headers, json=body)
        assert resp.status_code == 422, body
        assert field in resp.get_json()["error"]["fields"], body


# -- officers -----------------------------------------------------------------------------------

def test_residents_cannot_use_the_officer_api(client, make_user, bearer, send):
    resident = make_user()
    message = _inbox_notice(send, resident, "mine")
    headers = bearer(resident)
    assert client.get("/api/v1/notify/messages", headers=headers).status_code == 403
    assert client.get("/api/v1/notify/stats", headers=headers).status_code == 403
    resp = client.post(f"/api/v1/notify/messages/{message.id}/retry", headers=headers)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"


def test_officers_list_messages_by_status_and_channel(client, make_user, bearer, send, http_provider):
    officer = make_user(roles=("welfare_officer",))
    resident = make_user(phone="010-1")
    http_provider.statuses = [400]
    failed = send(user=resident, channel="sms", idempotency_key="o-failed")
    ok = send(user=resident, channel="app", idempotency_key="o-ok")
    headers = bearer(officer)
    body = client.get("/api/v1/notify/messages?status=permanent_failure", headers=headers).get_json()
    assert [m["id"] for m in body["items"]] == [failed.id]
    item = body["items"][0]
    assert item["last_error"] == "http_400" and item["channel"] == "sms" and item["attempts"] == 1
    assert "context" not in item and "phone" not in item  # no personal data in the list
    body = client.get("/api/v1/notify/messages?channel=app", headers=headers).get_json()
    assert [m["id"] for m in body["items"]] == [ok.id]
    body = client.get("/api/v1/notify/messages?limit=1", headers=headers).get_json()
    assert len(body["items"]) == 1 and body["next_cursor"]
    resp = client.get("/api/v1/notify/messages?status=lost", headers=headers)
    assert resp.status_code == 422 and "status" in resp.get_json()["error"]["fields"]


def test_officer_retry_over_the_api(client, make_user, bearer, send, http_provider):
    officer = make_user(roles=("staff",))
    http_provider.statuses = [400]
    failed = send(user=make_user(phone="010-1"), channel="sms", idempotency_key="api-retry")
    headers = bearer(officer)
    resp = client.post(f"/api/v1/notify/messages/{failed.id}/retry", headers=headers)
    assert resp.status_code == 200 and resp.get_json()["status"] == "delivered"
    resp = client.post(f"/api/v1/notify/messages/{failed.id}/retry", headers=headers)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_retryable"
    assert client.post("/api/v1/notify/messages/999999/retry", headers=headers).status_code == 404
    from portal.audit import entries_for
    assert [e.action for e in entries_for(db.session, "notify_message", failed.id)] == ["notify.retry"]


def test_stats_count_by_status_and_channel(client, make_user, bearer, send, http_provider):
    officer = make_user(roles=("welfare_officer",))
    resident = make_user(phone="010-1")
    http_provider.statuses = [400, 503]
    send(user=resident, channel="sms", idempotency_key="s-1")
    send(user=resident, channel="sms", idempotency_key="s-2")
    send(user=resident, channel="app", idempotency_key="s-3")
    send(user=resident, channel="app", idempotency_key="s-4")
    body = client.get("/api/v1/notify/stats", headers=bearer(officer)).get_json()
    assert body["depth"]["delivered"]["app"] == 2
    assert body["depth"]["permanent_failure"]["sms"] == 1
    assert body["depth"]["temporary_failure"]["sms"] == 1
    assert body["delivery_rate"] == 2 / 3
    reasons = {(f["status"], f["reason"]): f["count"] for f in body["failures"]}
    assert reasons == {("permanent_failure", "http_400"): 1, ("temporary_failure", "http_503"): 1}


def test_openapi_documents_every_notify_route(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ["/api/v1/notify/inbox", "/api/v1/notify/inbox/{message_id}/read", "/api/v1/notify/preferences",
                 "/api/v1/notify/messages", "/api/v1/notify/messages/{message_id}/retry", "/api/v1/notify/stats"]:
        assert path in paths


# -- pages --------------------------------------------------------------------------------------

def test_inbox_page_shows_my_notices_in_their_language(client, make_user, login, send):
    me = make_user(locale="zh")
    message = _inbox_notice(send, me, "page-1", context={"reference": "P-1"})
    _inbox_notice(send, make_user(), "page-other", context={"reference": "SECRET"})
    login(client, me)
    html = client.get("/notify/").get_data(as_text=True)
    assert "城市门户测试消息" in html and "参考编号：P-1" in html and "SECRET" not in html
    assert "1 条未读通知" in html
    resp = client.form(f"/notify/inbox/{message.id}/read")
    assert resp.status_code == 302
    db.session.refresh(message)
    assert message.read_at is not None
    assert "没有未读通知。" in client.get("/notify/").get_data(as_text=True)


def test_inbox_page_needs_sign_in(client):
    resp = client.get("/notify/")
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]


def test_preferences_page_saves_with_csrf_and_refuses_without(client, make_user, login):
    user = make_user(phone="010-1234-5678", locale="ko")
    login(client, user)
    assert "알림을 어떻게 받으시겠어요?" in client.get("/notify/preferences").get_data(as_text=True)
    resp = client.post("/notify/preferences", data={"preferred_channel": "sms"})
    assert resp.status_code == 400  # no CSRF token
    resp = client.form("/notify/preferences", {"preferred_channel": "sms", "opted_out": ["voice"]})
    assert resp.status_code == 302
    assert service.get_preferences(db.session, user) == {"preferred_channel": "sms", "opted_out": ["voice"]}
    resp = client.form("/notify/preferences", {"preferred_channel": "voice", "opted_out": ["voice"]})
    assert resp.status_code == 422
    assert "수신을 거부한 방법을 선호 방법으로 정할 수 없습니다." in resp.get_data(as_text=True)


def test_dashboard_is_for_officers_and_retries_a_failure(client, make_user, login, send, http_provider):
    resident = make_user(phone="010-1")
    http_provider.statuses = [400]
    failed = send(user=resident, channel="sms", idempotency_key="dash-1")
    login(client, resident)
    assert client.get("/notify/dashboard").status_code == 403
    officer = make_user(roles=("welfare_officer",), locale="en")
    login(client, officer)
    html = client.get("/notify/dashboard").get_data(as_text=True)
    assert "Notice delivery" in html and "The provider answered HTTP 400" in html
    assert f"/notify/messages/{failed.id}/retry" in html
    resp = client.form(f"/notify/messages/{failed.id}/retry")
    assert resp.status_code == 302
    db.session.refresh(failed)
    assert failed.status == "delivered"
    db.session.execute(update(Message).values(status="delivered"))
    db.session.commit()
    assert "No failures." in client.get("/notify/dashboard").get_data(as_text=True)
