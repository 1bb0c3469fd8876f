"""A GET never writes: every page and API GET of the notification queue, for every role, runs
no INSERT, UPDATE or DELETE (the officers' message list used to write an audit row); and every
answer says ``Cache-Control: no-store``."""

from __future__ import annotations

import pytest

from tests.notify.conftest import ROLES, get_urls, inbox_notice, sign_in_as, statements_that_write


@pytest.mark.parametrize("role", ROLES)
def test_no_get_of_notify_writes(app, client, make_user, login, send, http_provider, role):
    resident = make_user(phone="010-1")
    http_provider.statuses = [400]
    failed = send(user=resident, channel="sms", idempotency_key="reads-failed")
    inbox_notice(send, resident, "reads-inbox")
    sign_in_as(client, role, make_user, login, resident)
    urls = get_urls(app, ("notify", "notify_api"), {"message_id": failed.id},
                    {"notify_api.messages": "?status=permanent_failure&channel=sms"})
    assert "/api/v1/notify/messages?status=permanent_failure&channel=sms" in urls and "/notify/dashboard" in urls
    with statements_that_write() as writes:
        answers = {url: client.get(url) for url in urls}
    assert writes == [], writes
    for url, resp in answers.items():
        assert resp.status_code in (200, 302, 401, 403), (url, resp.status_code)
        assert "no-store" in resp.headers.get("Cache-Control", ""), url
    if role in ("staff", "welfare_officer", "admin"):
        assert answers["/api/v1/notify/messages?status=permanent_failure&channel=sms"].status_code == 200
