"""Channels against real servers: SMTP (aiosmtpd), an HTTP provider, the log provider."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update

from portal.extensions import db
from portal.notify import service
from portal.notify.channels import message_id_header
from portal.notify.models import Message
from portal.notify.sealing import reference
from portal.types import utcnow


def test_email_goes_through_smtp_in_the_recipients_language(send, make_user, smtp_server):
    user = make_user(email="minji@example.kr", locale="ko")
    message = send(user=user, channel="email", idempotency_key="mail-1", context={"reference": "M-9"})
    assert message.status == "delivered"
    [mail] = smtp_server.messages
    assert mail["To"] == "minji@example.kr"
    assert mail["Subject"] == "시청 포털 시험 메시지"
    assert "참조 번호: M-9" in mail.get_content()
    # the Message-ID comes from the reference: a resend is recognisable as the same mail
    assert mail["Message-ID"] == message_id_header(reference("mail-1"), "noreply@city.example.kr")
    assert "mail-1" not in mail["Message-ID"]


def test_a_bare_email_address_without_an_account(send, smtp_server):
    message = send(email="tourist@example.com", channel="email", locale="en", idempotency_key="guest-1")
    assert message.status == "delivered" and message.user_id is None
    assert smtp_server.messages[0]["To"] == "tourist@example.com"
    assert smtp_server.messages[0]["Subject"] == "Test message from the city portal"


def test_a_refused_mailbox_is_a_permanent_failure(send, smtp_server):
    smtp_server.refuse.add("gone@example.com")
    message = send(email="gone@example.com", channel="email", idempotency_key="gone-1")
    assert message.status == "permanent_failure"
    assert message.last_error == "smtp_550"
    assert message.next_attempt_at is None
    assert smtp_server.messages == []


def test_an_unreachable_mail_server_is_retried_later(app, send, make_user):
    from tests.notify.conftest import free_port

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    before = utcnow()
    message = send(email="someone@example.com", channel="email", idempotency_key="down-1")
    assert message.status == "temporary_failure"
    assert message.last_error == "smtp_unavailable"
    assert message.next_attempt_at > before


def test_http_provider_gets_the_key_and_the_reference(send, make_user, http_provider):
    """The provider's Idempotency-Key is the notice's reference, never the idempotency key."""
    user = make_user(phone="010-2222-3333", locale="zh")
    message = send(user=user, channel="sms", idempotency_key="welfare:care:1")
    assert message.status == "delivered"
    [request] = http_provider.requests
    assert request["headers"]["Idempotency-Key"] == request["json"]["reference"] == reference("welfare:care:1")
    assert "welfare" not in json.dumps(request)
    assert request["headers"]["Authorization"] == "Bearer sms-test-key"
    assert request["json"]["to"] == "010-2222-3333"
    assert request["json"]["text"].startswith("您好。这是城市门户发送的测试消息。")


def test_http_voice_provider_receives_the_call_script(send, make_user, http_provider):
    send(user=make_user(phone="010-2222-3333", locale="en"), channel="voice", idempotency_key="call-1")
    [request] = http_provider.requests
    assert request["headers"]["Authorization"] == "Bearer voice-test-key"
    assert request["json"]["text"].startswith("Hello. This is the city portal.\nThis is a test call.")


def test_http_5xx_is_retried_and_4xx_is_permanent(send, make_user, http_provider):
    user = make_user(phone="010-2222-3333")
    http_provider.statuses = [503, 400]
    busy = send(user=user, channel="sms", idempotency_key="busy-1")
    assert busy.status == "temporary_failure" and busy.last_error == "http_503"
    bad = send(user=user, channel="sms", idempotency_key="bad-1")
    assert bad.status == "permanent_failure" and bad.last_error == "http_400"


def test_http_409_means_the_provider_already_has_the_notice(send, make_user, http_provider):
    http_provider.statuses = [409]
    message = send(user=make_user(phone="010-2222-3333"), channel="sms", idempotency_key="seen-1")
    assert message.status == "delivered"
    assert http_provider.requests[0]["headers"]["Idempotency-Key"] == reference("seen-1")


def test_a_missing_phone_number_is_a_permanent_failure(send, make_user, http_provider):
    message = send(user=make_user(phone=None), channel="sms", idempotency_key="nophone-1")
    assert message.status == "permanent_failure" and message.last_error == "no_address"
    assert http_provider.requests == []


def test_a_phone_number_removed_before_delivery_is_a_permanent_failure(make_user, http_provider):
    from portal.accounts.models import User

    user = make_user(phone="010-2222-3333")
    message = service.send(db.session, template="notify.channel_check", context={},
                           idempotency_key="nophone-2", user=user, channel="sms")
    db.session.execute(update(User).where(User.id == user.id).values(phone=None))
    db.session.commit()
    db.session.refresh(message)
    assert message.channel == "sms"
    assert message.status == "permanent_failure" and message.last_error == "no_address"
    assert http_provider.requests == []


def test_log_provider_writes_each_key_once_even_when_sent_again(app, send, make_user, notify_log):
    """A worker that died after handing a notice over but before recording it: the notice is
    sent again (attempt 2) and the provider, keyed on the idempotency key, drops the copy."""
    message = send(user=make_user(phone="010-9999-0000"), channel="sms", idempotency_key="twice-1")
    assert notify_log.keys() == ["twice-1"]
    # simulate: the row went back to the queue as if the delivery had never been recorded
    db.session.execute(update(Message).where(Message.id == message.id)
                       .values(status="queued", delivered_at=None))
    db.session.commit()
    with service.fresh_session() as session:
        outcome = service.deliver_batch(session, "sms", [message.id])
    assert outcome.delivered == [message.id]
    db.session.refresh(message)
    assert message.status == "delivered" and message.attempts == 2
    assert notify_log.keys() == ["twice-1"]


def test_log_provider_sees_lines_other_processes_wrote(app, send, make_user, notify_log):
    """Another worker process wrote the key first: this one must not write it again."""
    message = service.send(db.session, template="notify.channel_check", context={},
                           idempotency_key="other-proc", user=make_user(phone="010-1"), channel="sms")
    db.session.execute(update(Message).where(Message.id == message.id)
                       .values(status="temporary_failure", next_attempt_at=utcnow() + timedelta(hours=1)))
    db.session.commit()  # delivery deferred: nothing written yet
    assert notify_log.records() == []
    notify_log.path.write_text(json.dumps({"reference": reference("other-proc"), "channel": "sms"}) + "\n")
    with service.fresh_session() as session:
        service.deliver_batch(session, "sms", [message.id], now=utcnow() + timedelta(hours=2))
    assert notify_log.keys() == ["other-proc"]
