"""Officers' follow-ups (issue 16, part 3): a welfare notice called through the recording HTTP
provider; its events come back signed through ``POST /api/v1/notify/providers/voice/events``;
officers work the queue through ``/api/v1/welfare/follow-ups``. PostgreSQL or SQLite alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.audit import AuditEntry
from portal.extensions import db
from portal.notify.models import Message
from tests.conftest import requires_postgres
from tests.notify.conftest import http_provider  # noqa: F401 - the recording provider
from tests.notify.test_receipts import SECRETS, event, post_event
from tests.welfare.conftest import TODAY
from welfare.models import FollowUp, Notice, WelfareProfile
from welfare.schemas import FollowUpListOut, FollowUpOut
from welfare.service import due_at

PHONE = "010-5555-0101"


@pytest.fixture
def voice_notice(app, client, http_provider, officer, make_user, make_profile, make_programme, bearer):  # noqa: F811
    """voice_notice(phone=PHONE) -> the outbox message of a welfare notice the scan sent as a call
    (the provider accepted it: 'sent')."""
    app.config.update(VOICE_PROVIDER_SECRET=SECRETS["voice"], SMS_PROVIDER_SECRET=SECRETS["sms"],
                      NOTIFY_QUIET_START="off", NOTIFY_QUIET_END="off")
    make_programme(channels=["voice"])

    def make(phone: str | None = PHONE, email: str = "grandma@test.kr") -> Message:
        resident = make_user(email=email, phone=phone)
        make_profile(resident)
        assert client.post("/api/v1/welfare/scans", json={"date": TODAY.isoformat()},
                           headers=bearer(officer)).status_code == 201
        db.session.expire_all()
        message = db.session.scalars(select(Message).where(Message.user_id == resident.id,
                                                           Message.channel == "voice")).one()
        assert message.status == "sent"
        return message

    return make


def follow_ups() -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(f.kind, f.status) for f in db.session.scalars(select(FollowUp).order_by(FollowUp.id))]


def press(client, message, digits, *, at=None):
    resp = post_event(client, "voice", event(message, "keypress", digits=digits, at=at))
    assert resp.status_code == 204, resp.data


# -- triggers ----------------------------------------------------------------------------------

def test_keypress_1_opens_a_callback_and_3_a_health_check_each_once(client, voice_notice):
    message = voice_notice()
    press(client, message, "1")
    assert follow_ups() == [("callback", "open")]
    press(client, message, "1", at=datetime.now(UTC) + timedelta(seconds=5))  # pressed again
    assert follow_ups() == [("callback", "open")]
    press(client, message, "3")
    assert follow_ups() == [("callback", "open"), ("health_check", "open")]
    follow_up = db.session.scalars(select(FollowUp).where(FollowUp.kind == "health_check")).one()
    notice = db.session.scalars(select(Notice)).one()
    assert (follow_up.notice_id, follow_up.user_id, follow_up.programme_id, follow_up.outcome,
            follow_up.assignee_id) == (notice.id, notice.user_id, notice.programme_id, None, None)
    assert follow_up.due_at == due_at(follow_up.created_at)
    opened = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "welfare.follow_up.opened")).all()
    assert len(opened) == 2


@pytest.mark.parametrize("digits", ["2", "7"])
def test_other_keys_open_nothing(client, voice_notice, digits):
    press(client, voice_notice(), digits)
    assert follow_ups() == []


def test_keypress_9_stops_notices_about_benefits(client, voice_notice):
    message = voice_notice()
    press(client, message, "9")
    assert follow_ups() == []
    db.session.expire_all()
    profile = db.session.scalars(select(WelfareProfile).where(WelfareProfile.user_id == message.user_id)).one()
    assert profile.notices_opt_out is True
    assert db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.target_type == "welfare_profile")).all() == ["welfare.notices.opted_out"]


def test_a_notice_of_another_service_opens_nothing(app, client, http_provider, make_user):  # noqa: F811
    from portal.notify import service as notify

    app.config.update(VOICE_PROVIDER_SECRET=SECRETS["voice"], NOTIFY_QUIET_START="off", NOTIFY_QUIET_END="off")
    user = make_user(phone=PHONE)
    message = notify.send(db.session, template="notify.channel_check", context={"reference": "T"},
                          idempotency_key="other:1", user=user, channel="voice")
    db.session.commit()
    db.session.expire_all()
    press(client, db.session.get(Message, message.id), "1")
    assert follow_ups() == []


# -- due dates ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("opened", "due"), [
    ("2026-12-01T10:00:00+09:00", "2026-12-03T10:00:00+09:00"),  # Tuesday -> Thursday
    ("2026-12-03T15:30:00+09:00", "2026-12-07T15:30:00+09:00"),  # Thursday -> Monday
    ("2026-12-04T09:00:00+09:00", "2026-12-08T09:00:00+09:00"),  # Friday -> Tuesday
    ("2026-12-05T11:00:00+09:00", "2026-12-08T11:00:00+09:00"),  # Saturday -> Tuesday
    ("2026-12-04T23:30:00+00:00", "2026-12-07T23:30:00+00:00"),  # Saturday 08:30 in Seoul: Tuesday 08:30
])
def test_due_two_working_days_later_in_seoul(opened, due):
    assert due_at(datetime.fromisoformat(opened)) == datetime.fromisoformat(due)


# -- the officers' API ---------------------------------------------------------------------------

def _open_queue(client, voice_notice):
    """Three residents' follow-ups: a callback, a health check, and a callback made overdue."""
    made = []
    for n in range(3):
        message = voice_notice(email=f"resident{n}@test.kr")
        press(client, message, "3" if n == 1 else "1")
        made.append(message)
    rows = db.session.scalars(select(FollowUp).order_by(FollowUp.id)).all()
    # the last one opened a week ago: overdue now
    rows[2].due_at = datetime.now(UTC) - timedelta(days=3)
    rows[1].due_at = rows[0].due_at + timedelta(hours=1)
    db.session.commit()
    return [r.id for r in rows]


def test_officers_list_open_follow_ups_overdue_first_by_page(client, voice_notice, officer, bearer):
    ids = _open_queue(client, voice_notice)
    resp = client.get("/api/v1/welfare/follow-ups?status=open&limit=2", headers=bearer(officer))
    assert resp.status_code == 200
    page = resp.get_json()
    assert [i["id"] for i in page["items"]] == [ids[2], ids[0]]
    assert set(page["items"][0]) == {"id", "kind", "programme", "due_at", "status", "assignee"}
    FollowUpListOut.model_validate(page)  # the documented answer (no other key)
    assert page["items"][0] | {"due_at": None} == {"id": ids[2], "kind": "callback", "programme": "elderly",
                                                  "due_at": None, "status": "open", "assignee": None}
    assert page["next_cursor"]
    rest = client.get(f"/api/v1/welfare/follow-ups?status=open&limit=2&cursor={page['next_cursor']}",
                      headers=bearer(officer)).get_json()
    assert [i["id"] for i in rest["items"]] == [ids[1]]
    assert rest["items"][0]["kind"] == "health_check"
    assert rest["next_cursor"] is None


def test_an_officer_assigns_and_closes_a_follow_up_audited(client, voice_notice, officer, bearer, make_user):
    ids = _open_queue(client, voice_notice)
    colleague = make_user(email="colleague@test.kr", roles=("welfare_officer",))
    url = f"/api/v1/welfare/follow-ups/{ids[1]}"
    resp = client.patch(url, json={"status": "open", "outcome": None, "assignee": colleague.id},
                        headers=bearer(officer))
    assert resp.status_code == 200, resp.data
    assert (resp.get_json()["assignee"], resp.get_json()["status"]) == (colleague.id, "open")
    FollowUpOut.model_validate(resp.get_json())
    resp = client.patch(url, json={"status": "done", "outcome": "reached"}, headers=bearer(colleague))
    assert resp.status_code == 200
    assert (resp.get_json()["assignee"], resp.get_json()["status"]) == (colleague.id, "done")  # kept
    db.session.expire_all()
    row = db.session.get(FollowUp, ids[1])
    assert (row.status, row.outcome, row.closed_at is not None) == ("done", "reached", True)
    listed = client.get("/api/v1/welfare/follow-ups?status=open", headers=bearer(officer)).get_json()
    assert ids[1] not in [i["id"] for i in listed["items"]]
    done = client.get("/api/v1/welfare/follow-ups?status=done", headers=bearer(officer)).get_json()
    assert [i["id"] for i in done["items"]] == [ids[1]]
    audit = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "welfare.follow_up.updated", AuditEntry.target_id == str(ids[1]))
        .order_by(AuditEntry.id)).all()
    assert [(a.actor_id, a.details["after"]) for a in audit] == [
        (officer.id, {"status": "open", "outcome": None, "assignee": colleague.id}),
        (colleague.id, {"status": "done", "outcome": "reached", "assignee": colleague.id})]


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "done", "outcome": None}, "outcome"),
    ({"status": "open", "outcome": "applied"}, "outcome"),
    ({"status": "done", "outcome": "reached", "assignee": "resident"}, "assignee"),
])
def test_inconsistent_changes_are_422_and_change_nothing(client, voice_notice, officer, bearer, make_user, body,
                                                         field):
    ids = _open_queue(client, voice_notice)
    if body.get("assignee") == "resident":
        body = {**body, "assignee": make_user(email="someone@test.kr").id}
    resp = client.patch(f"/api/v1/welfare/follow-ups/{ids[0]}", json=body, headers=bearer(officer))
    assert resp.status_code == 422
    assert field in resp.get_json()["error"]["fields"]
    db.session.expire_all()
    row = db.session.get(FollowUp, ids[0])
    assert (row.status, row.outcome, row.assignee_id) == ("open", None, None)


def test_an_unknown_follow_up_is_404(client, officer, bearer):
    resp = client.patch("/api/v1/welfare/follow-ups/999999", json={"status": "done", "outcome": "reached"},
                        headers=bearer(officer))
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (404, "no_follow_up")


@pytest.mark.parametrize("roles", [("resident",), ("staff",)])
def test_other_roles_get_403(client, voice_notice, make_user, bearer, roles):
    ids = _open_queue(client, voice_notice)
    other = make_user(email="other@test.kr", roles=roles)
    assert client.get("/api/v1/welfare/follow-ups?status=open", headers=bearer(other)).status_code == 403
    resp = client.patch(f"/api/v1/welfare/follow-ups/{ids[0]}", json={"status": "done", "outcome": "reached"},
                        headers=bearer(other))
    assert resp.status_code == 403
    db.session.expire_all()
    assert db.session.get(FollowUp, ids[0]).status == "open"
    assert client.get("/api/v1/welfare/follow-ups").status_code == 401


# -- could not reach -----------------------------------------------------------------------------

def _unanswered(client, message, names):
    """Each call of ``names`` goes unanswered; the retry after each is handed over when due (the
    provider takes it: 'sent' again)."""
    from portal.notify import service as notify

    for n, name in enumerate(names):
        db.session.expire_all()
        message = db.session.get(Message, message.id)
        assert message.status == "sent"
        assert post_event(client, "voice", event(message, name, at=datetime.now(UTC) + timedelta(seconds=n)))\
            .status_code == 204
        db.session.expire_all()
        message = db.session.get(Message, message.id)
        if message.status == "temporary_failure":
            with notify.fresh_session() as session:
                notify.deliver_batch(session, "voice", [message.id], now=message.next_attempt_at)
    db.session.expire_all()
    return db.session.get(Message, message.id)


def test_three_unanswered_calls_open_could_not_reach_and_send_an_sms(client, voice_notice, http_provider):  # noqa: F811
    message = voice_notice()
    _unanswered(client, message, ["no_answer", "busy"])
    assert follow_ups() == []
    assert [r.body["channel"] for r in http_provider.received] == ["voice"] * 3
    _unanswered(client, message, ["failed"])
    assert follow_ups() == [("unreachable", "open")]
    fallback = db.session.scalars(select(Message).where(Message.idempotency_key == message.idempotency_key
                                                        + ":unreachable")).one()
    assert (fallback.channel, fallback.user_id, fallback.template) == ("sms", message.user_id, "welfare.eligible")
    assert fallback.status == "sent"  # the provider took the text
    texts = [r for r in http_provider.received if r.body["channel"] == "sms"]
    assert [(r.body["to"], r.key) for r in texts] == [(PHONE, fallback.reference)]
    # told by text, the resident's phone does not ring again (NOTIFY_MAX_ATTEMPTS is 5)
    db.session.expire_all()
    call = db.session.get(Message, message.id)
    assert (call.status, call.last_error, call.next_attempt_at) == ("permanent_failure", "could_not_reach", None)
    from portal.notify import service as notify

    with notify.fresh_session() as session:
        notify.deliver_batch(session, "voice", [message.id], now=datetime.now(UTC) + timedelta(days=1))
        notify.sweep_and_enqueue(session, now=datetime.now(UTC) + timedelta(days=1))
    assert [r.body["channel"] for r in http_provider.received].count("voice") == 3
    assert len([r for r in http_provider.received if r.body["channel"] == "sms"]) == 1


def test_could_not_reach_without_sms_lands_in_the_portal_inbox(client, voice_notice):
    from portal.notify.models import Preference

    message = voice_notice()
    db.session.add(Preference(user_id=message.user_id, preferred_channel="voice", opted_out=["sms"]))
    db.session.commit()
    _unanswered(client, message, ["no_answer", "no_answer", "no_answer"])
    assert follow_ups() == [("unreachable", "open")]
    fallback = db.session.scalars(select(Message).where(Message.idempotency_key.like("%:unreachable"))).one()
    assert (fallback.channel, fallback.status) == ("app", "delivered")


def test_fewer_attempts_than_three_reach_could_not_reach_sooner(app, client, voice_notice):
    app.config["NOTIFY_MAX_ATTEMPTS"] = 2
    message = voice_notice()
    message = _unanswered(client, message, ["no_answer", "no_answer"])
    assert message.status == "permanent_failure"
    assert follow_ups() == [("unreachable", "open")]


# -- the officers' page --------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "overdue", "kind"), [
    ("en", "Overdue", "Cognitive health check referral"), ("ko", "기한 지남", "인지 건강 검진 연계"),
    ("zh", "已逾期", "认知健康检查转介")])
def test_the_page_lists_open_follow_ups_overdue_first_in_each_language(client, voice_notice, officer, login,
                                                                      lang, overdue, kind):
    ids = _open_queue(client, voice_notice)
    login(client, officer)
    html = client.get(f"/welfare/officer/follow-ups?lang={lang}").get_data(as_text=True)
    forms = [html.index(f"/welfare/officer/follow-ups/{i}") for i in ids]
    assert forms[2] < forms[0] < forms[1]  # the overdue one first, then by due date
    assert html.count(overdue) >= 1 and kind in html
    assert html.count('name="csrf_token"') >= 2 * len(ids)


def test_the_page_assigns_and_closes_with_csrf(client, voice_notice, officer, login):
    ids = _open_queue(client, voice_notice)
    login(client, officer)
    url = f"/welfare/officer/follow-ups/{ids[0]}"
    assert client.post(url, data={"action": "close", "outcome": "applied"}).status_code == 400  # no CSRF token
    db.session.expire_all()
    assert db.session.get(FollowUp, ids[0]).status == "open"
    assert client.form(url, {"action": "assign", "assignee": str(officer.id)}).status_code == 303
    db.session.expire_all()
    assert db.session.get(FollowUp, ids[0]).assignee_id == officer.id
    assert client.form(url, {"action": "close", "outcome": "applied"}).status_code == 303
    db.session.expire_all()
    row = db.session.get(FollowUp, ids[0])
    assert (row.status, row.outcome, row.assignee_id) == ("done", "applied", officer.id)
    html = client.get("/welfare/officer/follow-ups?lang=en").get_data(as_text=True)
    assert f"/welfare/officer/follow-ups/{ids[0]}" not in html
    assert client.form(url, {"action": "close", "outcome": "nonsense"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(FollowUp, ids[0]).outcome == "applied"


def test_the_page_is_for_officers_only(client, voice_notice, make_user, login):
    ids = _open_queue(client, voice_notice)
    login(client, make_user(email="plain@test.kr"))
    assert client.get("/welfare/officer/follow-ups").status_code == 403
    assert client.form(f"/welfare/officer/follow-ups/{ids[0]}", {"action": "close", "outcome": "applied"})\
        .status_code == 403
    db.session.expire_all()
    assert db.session.get(FollowUp, ids[0]).status == "open"


@requires_postgres  # row locks
def test_the_third_unanswered_call_is_counted_when_two_are_reported_at_once(app, client, voice_notice):
    """Two unanswered calls reported at the same moment, after one already recorded: both stored
    before either counts (a barrier in the hooks); the notice's row lock makes the second count
    see the first, so "could not reach" opens once."""
    import threading

    from portal.notify.service import fresh_session, receipts
    message = voice_notice()
    message = _unanswered(client, message, ["no_answer"])
    barrier = threading.Barrier(2, timeout=10)
    errors = []

    def wait(*_args):
        barrier.wait()

    def report(n):
        try:
            with app.app_context(), fresh_session() as session:
                receipts.record_event(session, "voice", message.reference, "busy",
                                      datetime.now(UTC) + timedelta(minutes=n))
                session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    receipts.ON_EVENT.insert(0, wait)
    try:
        threads = [threading.Thread(target=report, args=(n,)) for n in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        receipts.ON_EVENT.remove(wait)
    assert errors == []
    assert follow_ups() == [("unreachable", "open")]
