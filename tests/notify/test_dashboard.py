"""What officers see and do: every notice, retry, statistics; residents are kept out."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.notify import service
from portal.notify.models import Message
from tests.notify.conftest import inbox_notice as _inbox_notice


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
    assert resp.status_code == 200 and resp.get_json()["status"] == "sent"
    resp = client.post(f"/api/v1/notify/messages/{failed.id}/retry", headers=headers)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_retryable"
    assert client.post("/api/v1/notify/messages/999999/retry", headers=headers).status_code == 404
    from portal.audit import entries_for
    assert [e.action for e in entries_for(db.session, "notify_message", failed.id)] == ["notify.retry"]


def test_an_officer_retry_starts_the_attempts_over(app, send, make_user, http_provider):
    officer = make_user(roles=("welfare_officer",))
    http_provider.statuses = [400]
    message = send(user=make_user(phone="010-1"), channel="sms", idempotency_key="manual-1")
    assert message.status == "permanent_failure"
    retried = service.retry(db.session, officer, message.id)
    assert retried.status == "sent" and retried.attempts == 1
    assert len(http_provider.requests) == 2


@pytest.mark.parametrize("status", ["delivered", "queued"])
def test_only_failed_notices_can_be_retried(app, make_user, status):
    from portal.errors import Conflict

    officer = make_user(roles=("staff",))
    message = service.send(db.session, template="notify.channel_check", context={},
                           idempotency_key="r", user=make_user())
    db.session.execute(update(Message).where(Message.id == message.id).values(status=status))
    db.session.info.pop("notify.pending", None)
    db.session.commit()
    with pytest.raises(Conflict) as err:
        service.retry(db.session, officer, message.id)
    assert err.value.code == "not_retryable"


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
    assert failed.status == "sent"
    db.session.execute(update(Message).values(status="delivered"))
    db.session.commit()
    assert "No failures." in client.get("/notify/dashboard").get_data(as_text=True)
