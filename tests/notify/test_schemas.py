"""Real API answers match their response models (``portal.notify.schemas.*Out``): a key added to
a builder but not to its model, or a model field the builder no longer sends, fails here."""

from __future__ import annotations

from portal.notify.schemas import (
    InboxItemOut,
    InboxPageOut,
    MessageOut,
    MessagePageOut,
    MessageSummaryOut,
    PreferencesOut,
    StatsOut,
)
from tests.notify.conftest import inbox_notice


def test_resident_answers_match_their_models(client, make_user, bearer, send):
    me = make_user(phone="010-1234-5678", locale="en")
    message = inbox_notice(send, me, "schema-inbox", context={"reference": "S-1"})
    headers = bearer(me)

    page = client.get("/api/v1/notify/inbox", headers=headers)
    assert InboxPageOut.model_validate_json(page.data).items[0].id == message.id
    read = client.post(f"/api/v1/notify/inbox/{message.id}/read", headers=headers)
    assert InboxItemOut.model_validate_json(read.data).read is True

    assert PreferencesOut.model_validate_json(client.get("/api/v1/notify/preferences", headers=headers).data)
    saved = client.put("/api/v1/notify/preferences", headers=headers,
                       json={"preferred_channel": "sms", "opted_out": ["voice"]})
    assert PreferencesOut.model_validate_json(saved.data).opted_out == ["voice"]


def test_officer_answers_match_their_models(client, make_user, bearer, send, http_provider):
    officer = make_user(roles=("welfare_officer",))
    resident = make_user(phone="010-1")
    http_provider.statuses = [400, 503]
    failed = send(user=resident, channel="sms", idempotency_key="schema-failed")
    send(user=resident, channel="sms", idempotency_key="schema-retrying")
    send(user=resident, channel="app", idempotency_key="schema-ok")
    headers = bearer(officer)

    page = MessagePageOut.model_validate_json(client.get("/api/v1/notify/messages", headers=headers).data)
    assert len(page.items) == 3 and page.items[0].next_attempt_at is None
    stats = StatsOut.model_validate_json(client.get("/api/v1/notify/stats", headers=headers).data)
    assert {f.reason for f in stats.failures} == {"http_400", "http_503"}
    assert len(stats.recent_failures) == 2
    retried = client.post(f"/api/v1/notify/messages/{failed.id}/retry", headers=headers)
    assert MessageOut.model_validate_json(retried.data).status == "sent"


def test_staff_answers_match_the_summary_model(client, make_user, bearer, send, http_provider):
    staff = make_user(roles=("staff",))
    http_provider.statuses = [400]
    failed = send(user=make_user(phone="010-1"), channel="sms", idempotency_key="schema-staff")
    headers = bearer(staff)
    page = client.get("/api/v1/notify/messages", headers=headers).get_json()
    assert [MessageSummaryOut.model_validate(item).id for item in page["items"]] == [failed.id]
    stats = client.get("/api/v1/notify/stats", headers=headers).get_json()
    assert MessageSummaryOut.model_validate(stats["recent_failures"][0]).family == "notify"
    assert StatsOut.model_validate(stats).failures[0].family == "notify"
    retried = client.post(f"/api/v1/notify/messages/{failed.id}/retry", headers=headers)
    assert MessageSummaryOut.model_validate_json(retried.data).status == "sent"
