"""Issue 16's walk for an older resident, against the recording HTTP provider, on the test's clock
(quiet hours 20:00-09:00 in Seoul): the scan calls her in Korean at 19:59 on Tuesday 1 December
2026, nobody answers, the retry waits for the next morning's opening, she answers, presses 3, the
health-check referral is in the officers' queue (due two working days later) and an officer
closes it. Every event comes back signed through the provider events endpoint; the officer works
through the API."""

from __future__ import annotations

from importlib import import_module

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.notify.models import Message
from portal.notify.service import claims, delivery, outbox, receipts
from tests.notify.conftest import http_provider  # noqa: F401 - the recording provider
from tests.notify.test_quiet_hours import deliver, kst, sweep
from tests.notify.test_receipts import SECRETS, event, post_event
from tests.welfare.conftest import TODAY
from welfare.models import FollowUp

sweep_module = import_module("portal.notify.service.sweep")


@pytest.fixture
def clock(app, monkeypatch):
    app.config.update(NOTIFY_QUIET_START="20:00", NOTIFY_QUIET_END="09:00", NOTIFY_STUCK_SECONDS=300,
                      VOICE_PROVIDER_SECRET=SECRETS["voice"], SMS_PROVIDER_SECRET=SECRETS["sms"])
    monkeypatch.setattr(delivery, "backoff", lambda attempt: 30.0)  # no jitter
    monkeypatch.setattr(receipts, "backoff", lambda attempt: 30.0)
    state = {"now": kst(1, 12)}
    for module in (delivery, claims, sweep_module, outbox, receipts):
        monkeypatch.setattr(module, "utcnow", lambda: state["now"])
    return state


def test_an_older_resident_asks_for_a_health_check_and_an_officer_closes_it(
        clock, client, http_provider, officer, bearer, make_user, make_profile, make_programme):  # noqa: F811
    make_programme(channels=["voice"])
    grandma = make_user(email="grandma@test.kr", phone="010-7777-0001", locale="ko")
    make_profile(grandma)  # born 1950, alone, 30 % of the median income

    clock["now"] = kst(1, 19, 59)
    assert client.post("/api/v1/welfare/scans", json={"date": TODAY.isoformat()},
                       headers=bearer(officer)).status_code == 201
    call = db.session.scalars(select(Message).where(Message.user_id == grandma.id)).one()
    assert (call.channel, call.locale, call.status) == ("voice", "ko", "sent")
    assert [(r.body["channel"], r.body["locale"]) for r in http_provider.received] == [("voice", "ko")]

    # 19:59:40: nobody answers; the retry's 30 s would end in quiet hours: tomorrow at 9
    clock["now"] = kst(1, 19, 59, 40)
    assert post_event(client, "voice", event(call, "no_answer", at=clock["now"])).status_code == 204
    db.session.expire_all()
    call = db.session.get(Message, call.id)
    assert (call.status, call.next_attempt_at) == ("temporary_failure", kst(2, 9))
    for when in (kst(1, 20, 1), kst(2, 3), kst(2, 8, 59)):
        clock["now"] = when
        assert deliver("voice", [call.id], when).delivered == []
        sweep(when)
    assert len(http_provider.received) == 1

    clock["now"] = kst(2, 9)
    assert sweep(kst(2, 9)) == 1
    assert [r.body["channel"] for r in http_provider.received] == ["voice", "voice"]
    db.session.expire_all()
    call = db.session.get(Message, call.id)
    assert (call.status, call.attempts) == ("sent", 2)

    clock["now"] = kst(2, 9, 1)
    assert post_event(client, "voice", event(call, "answered", at=kst(2, 9, 0, 30))).status_code == 204
    assert post_event(client, "voice", event(call, "keypress", digits="3", at=kst(2, 9, 1))).status_code == 204

    queue = client.get("/api/v1/welfare/follow-ups?status=open", headers=bearer(officer)).get_json()
    assert [(i["kind"], i["programme"], i["status"], i["assignee"]) for i in queue["items"]] == \
        [("health_check", "elderly", "open", None)]
    item = queue["items"][0]
    # opened Wednesday 09:01 in Seoul: due Friday 09:01
    assert item["due_at"] in (kst(4, 9, 1).isoformat(), kst(4, 9, 1).isoformat().replace("+00:00", "Z"))

    resp = client.patch(f"/api/v1/welfare/follow-ups/{item['id']}",
                        json={"status": "done", "outcome": "reached", "assignee": officer.id}, headers=bearer(officer))
    assert resp.status_code == 200
    assert client.get("/api/v1/welfare/follow-ups?status=open", headers=bearer(officer)).get_json()["items"] == []
    db.session.expire_all()
    row = db.session.get(FollowUp, item["id"])
    assert (row.status, row.outcome, row.assignee_id) == ("done", "reached", officer.id)
