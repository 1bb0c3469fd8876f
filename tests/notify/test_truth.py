"""Issue 13, "say only what happened": a page says a message was sent only once the provider
took it; the inbox shows what became of each notice, and its links are links; no raw code on the
officers' pages; in development, mails are caught and readable at /dev/mail."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.notify import service
from portal.notify.models import Message
from tests.notify.conftest import free_port


def _text(html: str) -> str:
    """What a person reads: the page without its tags, white space folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _server_down(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)


# -- delivery_state: the one answer other services ask ------------------------------------------

def test_delivery_state_says_sent_only_once_the_mail_server_took_it(app, send, smtp_server):
    smtp_server.refuse.add("gone@example.com")
    sent = send(email="ok@example.com", channel="email", idempotency_key="state-sent")
    refused = send(email="gone@example.com", channel="email", idempotency_key="state-refused")
    assert service.delivery_state(db.session, "state-sent") == "sent"
    assert service.delivery_state(db.session, "state-refused") == "failed"
    assert service.delivery_state(db.session, "no-such-notice") is None
    assert service.delivery_states(db.session, ["state-sent", "state-refused", "x"]) == {
        "state-sent": "sent", "state-refused": "failed"}
    smtp_server.down()
    down = send(email="ok@example.com", channel="email", idempotency_key="state-down")
    assert down.status == "temporary_failure"
    assert service.delivery_state(db.session, "state-down") == "retrying"
    # written but not handed over yet (its task lost, or waiting for a worker): on its way
    db.session.execute(update(Message).where(Message.id == down.id).values(status="queued"))
    db.session.commit()
    assert service.delivery_state(db.session, "state-down") == "queued"
    assert {sent.status, refused.status} == {"delivered", "permanent_failure"}


@pytest.mark.parametrize(("lang", "sent", "on_its_way"), [
    ("en", "The email was sent.", "The email could not be sent yet. We will try again."),
    ("ko", "메일을 보냈습니다.", "아직 메일을 보내지 못했습니다. 다시 시도합니다."),
    ("zh", "邮件已发出。", "邮件尚未能发出，我们会再试。"),
])
def test_the_words_for_each_state_in_each_language(app, lang, sent, on_its_way):
    from flask_babel import force_locale

    from portal.notify.labels import delivery_sentence

    with app.test_request_context(), force_locale(lang):
        assert delivery_sentence("sent", "email") == sent
        assert delivery_sentence("retrying", "email") == on_its_way
        assert delivery_sentence(None, "email") == ""


# -- finding 6: registration never claims a mail went out that did not -------------------------

def _register(client, email, lang="en"):
    return client.form(f"/account/register?lang={lang}", {"name": "김하늘", "email": email,
                                                          "password": "long-enough-pw"})


@pytest.mark.parametrize(("lang", "claim", "truth"), [
    ("en", "We sent a message to", "We could not send the message to new@example.kr yet. We will keep trying"),
    ("ko", "메일을 보냈습니다", "아직 new@example.kr(으)로 메일을 보내지 못했습니다. 계속 다시 시도하며"),
    ("zh", "已向new@example.kr发送邮件", "尚未能向new@example.kr发送邮件。我们会继续尝试"),
])
def test_registration_with_the_mail_server_down_says_not_sent_yet(app, client, lang, claim, truth):
    _server_down(app)
    resp = _register(client, "new@example.kr", lang)
    assert resp.status_code == 200
    page = _text(resp.get_data(as_text=True))
    assert truth in page
    assert claim not in page
    assert "We are sending" not in page


def test_registration_says_sent_once_the_server_took_it(app, client, smtp_server):
    resp = _register(client, "new@example.kr")
    page = _text(resp.get_data(as_text=True))
    assert "We sent a message to new@example.kr." in page
    assert [m["To"] for m in smtp_server.messages] == ["new@example.kr"]


def test_a_known_address_gets_the_same_words(app, client, make_user, smtp_server):
    """The page says what became of the mail, never which mail it was."""
    make_user(email="known@example.kr")
    known = _text(_register(client, "known@example.kr").get_data(as_text=True))
    new = _text(_register(client, "other@example.kr").get_data(as_text=True))
    assert known.replace("known@", "X@") == new.replace("other@", "X@")


def test_registration_when_the_address_had_its_share_of_mails(app, client):
    app.config["ACCOUNT_MAIL_RATE_LIMIT"] = "1 per hour"
    _server_down(app)
    _register(client, "busy@example.kr")
    page = _text(_register(client, "busy@example.kr").get_data(as_text=True))
    assert "No new message was sent to busy@example.kr" in page
    assert "could not send the message" not in page


# -- the inbox: each notice's delivery, links as links ------------------------------------------

def test_the_inbox_shows_what_became_of_each_notice_per_channel(app, client, make_user, login, send,
                                                                 smtp_server):
    me = make_user(email="me@example.kr", locale="en")
    in_app = send(user=me, channel="app", idempotency_key="in-app", context={"reference": "APP-1"})
    mailed = send(user=me, channel="email", idempotency_key="mailed", context={"reference": "MAIL-1"})
    smtp_server.refuse.add("me@example.kr")
    refused = send(user=me, channel="email", idempotency_key="refused", context={"reference": "MAIL-2"})
    smtp_server.down()
    later = send(user=me, channel="email", idempotency_key="later", context={"reference": "MAIL-3"})
    assert (in_app.status, mailed.status, refused.status, later.status) == (
        "delivered", "delivered", "permanent_failure", "temporary_failure")
    login(client, me)
    html = client.get("/notify/?lang=en").get_data(as_text=True)

    def card(message):
        match = re.search(rf'<article[^>]*id="message-{message.id}".*?</article>', html, re.S)
        assert match, f"notice {message.id} is not in the inbox"
        return _text(match.group(0))

    assert "Portal inbox: Sent" in card(in_app) and "APP-1" in card(in_app)
    assert "Email: Sent" in card(mailed)
    assert "Email: Could not be sent" in card(refused) and "MAIL-2" in card(refused)
    assert "Email: Not sent yet: we will try again" in card(later) and "MAIL-3" in card(later)
    zh = _text(client.get("/notify/?lang=zh").get_data(as_text=True))
    assert "未能发送" in zh and "尚未发出：将重试" in zh


def test_links_in_inbox_notices_are_links_to_the_portal_only(app, client, make_user, login, send):
    me = make_user(locale="en")
    send(user=me, channel="app", idempotency_key="status-3", template="proposals.status_changed",
         context={"title": "More benches", "to_label": "Accepted", "proposal_id": 3})
    send(user=me, channel="app", idempotency_key="evil", template="notify.channel_check",
         context={"reference": 'https://evil.example/x javascript:alert(1) //evil.example/y '
                               'https://portal.test/tourism/ <b>bold</b>'})
    login(client, me)
    html = client.get("/notify/?lang=en").get_data(as_text=True)
    assert '<a href="/proposals/3">/proposals/3</a>' in html
    assert '<a href="https://portal.test/tourism/">https://portal.test/tourism/</a>' in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert not [h for h in hrefs if "evil" in h or h.startswith("javascript")]
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


# -- raw codes never shown ----------------------------------------------------------------------

def _failed(send, key, template, **kwargs):
    message = send(idempotency_key=key, template=template, context={}, **kwargs)
    db.session.execute(update(Message).where(Message.id == message.id)
                       .values(status="permanent_failure", last_error="smtp_550"))
    db.session.commit()
    return message


@pytest.mark.parametrize(("lang", "label"), [("en", "Booking confirmed"), ("ko", "예약 확정"),
                                             ("zh", "预订已确认")])
def test_the_dashboard_names_notices_in_words(app, client, make_user, login, send, lang, label):
    _failed(send, "t-1", "tourism.confirmed", email="guest@example.com", channel="email")
    login(client, make_user(roles=("welfare_officer",)))
    page = _text(client.get(f"/notify/dashboard?lang={lang}").get_data(as_text=True))
    assert label in page
    assert "tourism.confirmed" not in page


def test_the_welfare_officer_page_names_channels_in_words(app, client, make_user, login):
    from welfare.models import Programme

    db.session.add(Programme(code="silver-call", name={"ko": "안부 전화", "en": "Check-in calls"},
                             channels=["voice", "app"]))
    db.session.commit()
    login(client, make_user(roles=("welfare_officer",)))
    page = _text(client.get("/welfare/officer/?lang=en").get_data(as_text=True))
    assert "Voice call, Portal inbox" in page and "voice, app" not in page
    page = _text(client.get("/welfare/officer/?lang=ko").get_data(as_text=True))
    assert "음성 안내 전화, 포털 알림함" in page


def test_the_retry_button_is_on_screen_at_390_px(app, browser_page, make_user, send):
    for n in range(3):
        _failed(send, f"narrow-{n}", "welfare.eligible", email=f"r{n}@example.com", channel="email")
    officer = make_user(email="officer@example.kr", roles=("welfare_officer",), locale="ko")
    page = browser_page("ko-KR")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.base_url + "/account/login")
    page.fill("input[name=email]", officer.email)
    page.fill("input[name=password]", "pw-12345678")
    page.locator("main form button[type=submit]").first.click()
    page.goto(page.base_url + "/notify/dashboard")
    buttons = page.get_by_role("button", name="다시 보내기")
    assert buttons.count() == 3
    for i in range(3):
        box = buttons.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box


# -- the development mail catcher ---------------------------------------------------------------

def test_mail_is_caught_in_development_unless_a_mail_server_is_given(make_app):
    from portal.notify import settings

    for config, expected in [
        ({"PORTAL_ENV": "development", "TESTING": False}, "catch"),
        ({"PORTAL_ENV": "development", "TESTING": False, "MAIL_SERVER": "mail.example"}, "smtp"),
        ({"PORTAL_ENV": "production", "TESTING": False}, "smtp"),
        ({"PORTAL_ENV": "production", "TESTING": False, "MAIL_PROVIDER": "catch"}, "catch"),
    ]:
        with make_app(**config).app_context():
            assert settings.mail_provider() == expected, config


def test_a_newcomer_reads_the_confirmation_mail_at_dev_mail_and_follows_it(make_app, tmp_path):
    from portal.accounts.models import User

    dev = make_app(PORTAL_ENV="development", MAIL_PROVIDER="catch", MAIL_CATCH_DIR=str(tmp_path))
    client = dev.test_client()
    resp = _register(client, "newcomer@example.kr")
    page = _text(resp.get_data(as_text=True))
    assert "We sent a message to newcomer@example.kr." in page  # caught counts as sent
    assert 'href="/dev/mail/"' in resp.get_data(as_text=True)
    listing = client.get("/dev/mail/?lang=en").get_data(as_text=True)
    assert "newcomer@example.kr" in listing and "Confirm your email address" in _text(listing)
    [ref] = re.findall(r'href="/dev/mail/([0-9a-f]+)"', listing)
    mail = client.get(f"/dev/mail/{ref}").get_data(as_text=True)
    [link] = re.findall(r'<a href="(https://portal\.test/account/confirm\?t=[^"]+)"', mail)
    opened = client.get(link.replace("https://portal.test", ""))
    assert opened.status_code == 302
    assert client.form("/account/confirm").status_code == 302
    with dev.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "newcomer@example.kr"))
        assert user.email_confirmed
        [message] = db.session.scalars(db.select(Message).where(Message.email == "newcomer@example.kr"))
        assert message.status == "delivered"


def test_a_password_reset_mail_is_caught_too(make_app, make_user, tmp_path):
    make_user(email="forgetful@example.kr")
    dev = make_app(PORTAL_ENV="development", MAIL_PROVIDER="catch", MAIL_CATCH_DIR=str(tmp_path))
    client = dev.test_client()
    client.form("/account/password-reset?lang=en", {"email": "forgetful@example.kr"})
    listing = client.get("/dev/mail/").get_data(as_text=True)
    [ref] = re.findall(r'href="/dev/mail/([0-9a-f]+)"', listing)
    mail = client.get(f"/dev/mail/{ref}").get_data(as_text=True)
    assert re.search(r'<a href="https://portal\.test/account/password-reset/new\?t=[^"]+">', mail)
    assert client.get("/dev/mail/0123abc").status_code == 404
    assert client.get("/dev/mail/..%2f..%2fetc").status_code == 404


@pytest.mark.parametrize("env", ["production", "staging"])
def test_dev_mail_does_not_exist_outside_development(make_app, tmp_path, env):
    other = make_app(PORTAL_ENV=env, MAIL_PROVIDER="catch", MAIL_CATCH_DIR=str(tmp_path))
    client = other.test_client()
    assert client.get("/dev/mail/").status_code == 404
    assert "dev_mail" not in " ".join(r.endpoint for r in other.url_map.iter_rules())
