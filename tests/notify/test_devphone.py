"""The sandbox telephone (issue 16, part 5): with VOICE_PROVIDER=sandbox a welfare call is kept
for /dev/phone (the notice is 'sent'); the page's buttons post the provider's signed events to
the real events endpoint, so Answer delivers the notice, 3 opens the health-check follow-up and
No answer schedules the retry. Development only: elsewhere the page does not exist."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.notify import devphone
from portal.notify.channels import LogProvider, PermanentFailure, get_channel
from portal.notify.models import Message, ProviderEvent
from tests.welfare.conftest import TODAY, make_profile, make_programme, officer  # noqa: F401 - fixtures
from welfare.models import FollowUp


@pytest.fixture
def phone_app(app, make_app, tmp_path):  # app first: the new app's Celery runs the tasks
    """An app with the sandbox telephone on (as in development) for voice and SMS."""
    app = make_app(NOTIFY_PHONE_SANDBOX=True, VOICE_PROVIDER="sandbox", SMS_PROVIDER="sandbox",
                   NOTIFY_QUIET_START="off", NOTIFY_QUIET_END="off")
    app.instance_path = str(tmp_path)
    return app


@pytest.fixture
def call(phone_app, officer, make_user, make_profile, make_programme, bearer):  # noqa: F811 - imported fixtures
    """call(locale="ko") -> the reference of a welfare call the scan made to a resident of 76."""

    def make(locale: str = "ko") -> str:
        make_programme(channels=["voice"])
        resident = make_user(email="grandma@test.kr", phone="010-5555-0101", locale=locale,
                             birth_date=date(1950, 1, 1))
        make_profile(resident)
        headers = bearer(officer)
        with phone_app.app_context():
            client = phone_app.test_client()
            resp = client.post("/api/v1/welfare/scans", json={"date": TODAY.isoformat()}, headers=headers)
            assert resp.status_code == 201, resp.data
        return message().reference

    return make


def message() -> Message:
    db.session.expire_all()
    return db.session.scalars(select(Message).where(Message.channel == "voice")).one()


def press(client, ref: str, button: str):
    return client.form(f"/dev/phone/{ref}", {"button": button})


def test_the_sandbox_is_a_provider_that_reports_back_with_a_development_secret(phone_app):
    with phone_app.app_context():
        assert isinstance(get_channel("voice"), devphone.SandboxPhone)
        assert isinstance(get_channel("sms"), devphone.SandboxPhone)
        assert phone_app.config["VOICE_PROVIDER_SECRET"] == devphone.DEV_SECRET


def test_a_call_is_sent_listed_and_answered_then_3_opens_a_health_check(phone_app, call):
    ref = call("ko")
    assert message().status == "sent"
    with phone_app.app_context():
        client = phone_app.test_client()
        listing = client.get("/dev/phone/?lang=en").get_data(as_text=True)
        assert f'href="/dev/phone/{ref}"' in listing
        assert "***0101" in listing and "010-5555-0101" not in listing
        page = client.get(f"/dev/phone/{ref}?lang=en").get_data(as_text=True)
        assert "<speak" not in page and "prosody" not in page
        assert re.search(r'data-step="greeting">[^<]*\w', page)
        assert 'value="answered"' in page and 'value="3"' not in page  # digits once answered
        assert press(client, ref, "answered").status_code == 302
        assert message().status == "delivered"
        page = client.get(f"/dev/phone/{ref}?lang=en").get_data(as_text=True)
        assert all(f'value="{d}"' in page for d in ("1", "2", "3", "9", "hangup")), page[page.find("<main"):]
        assert press(client, ref, "2").headers["Location"].endswith("repeat=1")
        assert press(client, ref, "3").status_code == 302
        assert press(client, ref, "hangup").status_code == 302  # ends the call; posts nothing
        assert devphone.one(ref)["state"] == "ended"
        assert press(client, ref, "1").status_code == 400
    db.session.expire_all()
    assert [f.kind for f in db.session.scalars(select(FollowUp))] == ["health_check"]
    assert sorted((e.event, e.digits) for e in db.session.scalars(select(ProviderEvent))) == \
        [("answered", ""), ("keypress", "2"), ("keypress", "3")]


def test_no_answer_schedules_the_retry_which_rings_again(phone_app, call):
    ref = call("en")
    with phone_app.app_context():
        client = phone_app.test_client()
        assert press(client, ref, "no_answer").status_code == 302
        notice = message()
        # the retry is scheduled (the eager worker may already have handed it over again: then
        # the sandbox rings again, as a real provider would)
        assert notice.attempts == 1 and notice.status == "temporary_failure" and notice.next_attempt_at, \
            (notice.status, notice.attempts)
        assert devphone.one(ref)["state"] == "ended"


def test_a_text_is_kept_and_its_receipt_delivers_it(phone_app, send, make_user):
    notice = send(user=make_user(phone="010-2222-3333"), channel="sms", idempotency_key="sandbox-sms-1")
    assert notice.status == "sent"
    with phone_app.app_context():
        client = phone_app.test_client()
        page = client.get(f"/dev/phone/{notice.reference}?lang=en").get_data(as_text=True)
        assert "Text to ***3333" in page and 'value="answered"' not in page
        assert press(client, notice.reference, "delivered").status_code == 302
    db.session.expire_all()
    assert db.session.get(Message, notice.id).status == "delivered"


def test_the_page_needs_a_csrf_token_and_refuses_buttons_out_of_turn(phone_app, call):
    ref = call("en")
    with phone_app.app_context():
        client = phone_app.test_client()
        assert client.post(f"/dev/phone/{ref}", data={"button": "answered"}).status_code == 400
        assert press(client, ref, "3").status_code == 400  # not answered yet
        assert message().status == "sent"


@pytest.mark.parametrize("env", ["production", "staging"])
def test_outside_development_there_is_no_page_and_no_sandbox(make_app, env):
    other = make_app(PORTAL_ENV=env, VOICE_PROVIDER="sandbox")
    assert other.test_client().get("/dev/phone/").status_code == 404
    with other.app_context():
        assert "VOICE_PROVIDER_SECRET" not in other.config
        with pytest.raises(PermanentFailure):
            get_channel("voice")


def test_unset_it_is_the_default_of_make_run_only(make_app):
    run = make_app(PORTAL_ENV="development", TESTING=False)
    with run.app_context():
        assert isinstance(get_channel("voice"), devphone.SandboxPhone)
        assert run.config["VOICE_PROVIDER_SECRET"] == devphone.DEV_SECRET
    prod = make_app(PORTAL_ENV="production", TESTING=False, NOTIFY_PHONE_SANDBOX=True)
    with prod.app_context():
        assert isinstance(get_channel("voice"), LogProvider)  # enabled, but not chosen
        assert prod.test_client().get("/dev/phone/").status_code == 200
