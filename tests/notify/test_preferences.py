"""A resident's preferred channel and opt-outs, over the API and on the page."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.notify import service
from portal.notify.models import Preference


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
        ({"preferred_channel": "email", "opted_out": ["email"]}, "preferred_channel"),
        ({"opted_out": ["app"]}, "opted_out"),                          # the inbox stays on
        ({"preferred_channel": "fax"}, "preferred_channel"),
        ({"colour": "blue"}, "colour"),
    ]
    for body, field in cases:
        resp = client.put("/api/v1/notify/preferences", headers=headers, json=body)
        assert resp.status_code == 422, body
        assert field in resp.get_json()["error"]["fields"], body


def test_a_phone_channel_without_a_phone_is_a_conflict_with_the_profile(client, make_user, bearer):
    # A well-formed choice the profile cannot serve yet: 409 (was 422, as if the body were
    # wrong), same code and field message; with a bad field beside it, 422 for all at once.
    headers = bearer(make_user(phone=None))
    for channel in ("sms", "voice"):
        resp = client.put("/api/v1/notify/preferences", headers=headers, json={"preferred_channel": channel})
        assert resp.status_code == 409, channel
        error = resp.get_json()["error"]
        assert error["code"] == "invalid_preferences" and "preferred_channel" in error["fields"]
    resp = client.put("/api/v1/notify/preferences", headers=headers,
                      json={"preferred_channel": "sms", "opted_out": ["app"]})
    assert resp.status_code == 422 and set(resp.get_json()["error"]["fields"]) == {"preferred_channel", "opted_out"}


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
