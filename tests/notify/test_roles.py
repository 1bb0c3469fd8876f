"""Who sees what of the notification queue, per role: welfare officers and admin see whom a notice
was for (who qualifies for which programme); other staff see counts and failures only and may
retry by id; residents see their own inbox; anonymous people nothing."""

from __future__ import annotations

import pytest

from portal.notify.schemas import MessagePageOut, MessageSummaryOut, StatsOut
from tests.notify.conftest import inbox_notice

PROGRAMME = "elderly-alone-care"
ROLES = ("anonymous", "resident", "staff", "welfare_officer", "admin")


def welfare_notice(send, user, channel):
    """A notice as the welfare scan writes it: its key and context name the programme."""
    return send(user=user, channel=channel, template="welfare.eligible",
                idempotency_key=f"welfare:{PROGRAMME}:{user.id}",
                context={"programme_code": PROGRAMME, "name": {"ko": "홀몸 어르신 돌봄"},
                         "how_to_apply": {"ko": "주민센터 방문"}, "callback_phone": "02-120"})


@pytest.fixture
def queue(make_user, send, http_provider):
    """Two residents told about a welfare programme (one by the inbox, one by a failing SMS)
    and a tourism notice; what each role may or may not find in an answer."""
    grandma = make_user(email="grandma-roles@example.kr", phone="010-5555-0101")
    grandpa = make_user(email="grandpa-roles@example.kr", phone="010-5555-0202")
    http_provider.statuses = [400]
    failed = welfare_notice(send, grandpa, "sms")
    delivered = welfare_notice(send, grandma, "app")
    tourism = send(email="guest-roles@example.com", channel="email", template="notify.channel_check",
                   idempotency_key="tourism:booking:RB-77")
    assert failed.status == "permanent_failure" and delivered.status == "delivered"
    secrets = [PROGRAMME, "welfare:", "welfare.eligible", "grandma-roles", "grandpa-roles", "guest-roles",
               "010-5555", "RB-77", "홀몸"]
    return {"grandma": grandma, "grandpa": grandpa, "failed": failed, "delivered": delivered,
            "tourism": tourism, "secrets": secrets}


def headers_for(role, make_user, bearer, queue):
    if role == "anonymous":
        return {}
    if role == "resident":
        return bearer(queue["grandma"])
    return bearer(make_user(roles=(role,)))


@pytest.mark.parametrize("role", ROLES)
def test_the_message_list_and_stats_by_role(client, make_user, bearer, queue, role):
    headers = headers_for(role, make_user, bearer, queue)
    listing = client.get("/api/v1/notify/messages", headers=headers)
    stats = client.get("/api/v1/notify/stats", headers=headers)
    if role in ("anonymous", "resident"):
        expected = 401 if role == "anonymous" else 403
        assert listing.status_code == stats.status_code == expected
        for resp in (listing, stats):
            assert not any(s in resp.get_data(as_text=True) for s in queue["secrets"])
        return
    assert listing.status_code == stats.status_code == 200
    page = MessagePageOut.model_validate_json(listing.data)
    numbers = StatsOut.model_validate_json(stats.data)
    assert {m.id for m in page.items} == {queue["failed"].id, queue["delivered"].id, queue["tourism"].id}
    assert {m.family for m in page.items} == {"welfare", "notify"}
    assert numbers.depth["permanent_failure"]["sms"] == 1 and numbers.totals["delivered"] == 1
    assert [(f.family, f.reason) for f in numbers.failures if f.channel == "sms"] == [("welfare", "http_400")]
    if role == "staff":
        text = listing.get_data(as_text=True) + stats.get_data(as_text=True)
        assert not [s for s in queue["secrets"] if s in text]
        for item in listing.get_json()["items"] + stats.get_json()["recent_failures"]:
            assert set(item) == set(MessageSummaryOut.model_fields)  # no user_id, key, template
    else:
        keys = {m.idempotency_key: m.user_id for m in page.items}
        assert keys[f"welfare:{PROGRAMME}:{queue['grandpa'].id}"] == queue["grandpa"].id
        assert "welfare.eligible" in {m["template"] for m in stats.get_json()["recent_failures"]}
    # an answer for anyone never holds an address or a context
    text = listing.get_data(as_text=True) + stats.get_data(as_text=True)
    assert not any(s in text for s in ("grandma-roles", "010-5555", "홀몸", "02-120"))


@pytest.mark.parametrize("role", ROLES)
def test_the_dashboard_page_by_role(client, make_user, login, queue, role):
    if role == "resident":
        login(client, queue["grandma"])
    elif role != "anonymous":
        login(client, make_user(roles=(role,), locale="en"))
    resp = client.get("/notify/dashboard?lang=en")
    if role == "anonymous":
        assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]
        return
    if role == "resident":
        assert resp.status_code == 403
        return
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "The provider answered HTTP 400" in html
    assert f"/notify/messages/{queue['failed'].id}/retry" in html  # anyone running the queue retries
    if role == "staff":
        assert not [s for s in queue["secrets"] if s in html]
        assert "Welfare" in html  # the family, in words
    else:
        # what the notice is, in words: never its template's code (issue 13, finding 9)
        assert "Welfare programme you may qualify for" in html and "welfare.eligible" not in html


def test_staff_retry_a_failed_notice_by_id_and_see_no_more_of_it(client, make_user, bearer, queue, http_provider):
    resp = client.post(f"/api/v1/notify/messages/{queue['failed'].id}/retry",
                       headers=bearer(make_user(roles=("staff",))))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "sent" and set(body) == set(MessageSummaryOut.model_fields)
    assert not [s for s in queue["secrets"] if s in resp.get_data(as_text=True)]


@pytest.mark.parametrize("role", ROLES)
def test_the_inbox_is_the_residents_own(client, make_user, bearer, login, send, queue, role):
    headers = headers_for(role, make_user, bearer, queue)
    resp = client.get("/api/v1/notify/inbox", headers=headers)
    if role == "anonymous":
        assert resp.status_code == 401
        assert client.get("/notify/").status_code == 302
        return
    ids = [item["id"] for item in resp.get_json()["items"]]
    if role == "resident":  # grandma: her welfare notice; never grandpa's
        assert ids == [queue["delivered"].id]
        login(client, queue["grandma"])
        html = client.get("/notify/").get_data(as_text=True)
        assert "홀몸 어르신 돌봄" in html
    else:  # an officer's inbox is their own too: nobody else's notices in it
        assert ids == []
    other = inbox_notice(send, make_user(), "someone-else")
    if role != "anonymous":
        assert client.post(f"/api/v1/notify/inbox/{other.id}/read", headers=headers).status_code == 404
