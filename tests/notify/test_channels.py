"""Channels against real servers: SMTP (aiosmtpd), an HTTP provider, the log provider."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select, update

from portal.extensions import db
from portal.notify import service
from portal.notify.channels import message_id_header
from portal.notify.models import Message
from portal.notify.sealing import reference
from portal.types import utcnow
from tests.notify.rig import wait_until


def test_email_goes_through_smtp_in_the_recipients_language(send, make_user, smtp_server):
    user = make_user(email="minji@example.kr", locale="ko")
    message = send(user=user, channel="email", idempotency_key="mail-1", context={"reference": "M-9"})
    assert message.status == "delivered"
    [mail] = smtp_server.messages
    assert mail["To"] == "minji@example.kr"
    assert mail["Subject"] == "시민 포털 테스트 메시지"
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


def _emails(count: int, prefix: str) -> list[int]:
    """``count`` e-mail notices to bare addresses, written and committed without a task: the
    test delivers them."""
    service.send_many(db.session, [{"template": "notify.channel_check", "context": {}, "locale": "en",
                                    "idempotency_key": f"{prefix}-{i}", "email": f"{prefix}{i}@example.com",
                                    "channel": "email"} for i in range(count)])
    db.session.info.pop("notify.pending", None)
    db.session.commit()
    return sorted(db.session.scalars(select(Message.id).where(Message.idempotency_key.like(f"{prefix}-%"))))


def test_a_mail_server_that_stops_answering_mid_batch_costs_the_batch_one_timeout(app, smtp_server):
    """The server takes three mails, then hangs (TCP accepted, no word). The batch gives up
    on its remaining mails after one timeout (not one per mail: with 200 mails and 10 s
    timeouts that was past the stuck timeout), and they are sent, once each, when it is back."""
    app.config.update(MAIL_TIMEOUT=0.5)
    ids = _emails(10, "hang")
    smtp_server.gate(after=3)  # the 4th mail is held, unanswered
    started = time.monotonic()
    worker = threading.Thread(target=_deliver, args=(app, "email", ids))
    worker.start()
    wait_until(lambda: smtp_server.arrived == 4, 10, "the 4th mail")
    smtp_server.not_answering()  # the held mail's connection drops; a new one gets no greeting
    worker.join(timeout=20)
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, f"the batch took {elapsed:.1f} s"
    assert smtp_server.silent_connections <= 1
    db.session.expire_all()
    statuses = [db.session.get(Message, i).status for i in ids]
    assert statuses == ["delivered"] * 3 + ["temporary_failure"] * 7
    assert {db.session.get(Message, i).last_error for i in ids[3:]} == {"smtp_unavailable"}
    smtp_server.up()
    _deliver(app, "email", ids, now=utcnow() + timedelta(hours=1))
    db.session.expire_all()
    assert {db.session.get(Message, i).status for i in ids} == {"delivered"}
    sender = "noreply@city.example.kr"
    assert smtp_server.message_ids() == Counter(
        message_id_header(reference(f"hang-{i}"), sender) for i in range(10))


def test_a_mail_server_that_never_answers_costs_a_batch_one_connection(app, smtp_server):
    app.config.update(MAIL_TIMEOUT=0.5)
    ids = _emails(10, "silent")
    smtp_server.not_answering()
    started = time.monotonic()
    _deliver(app, "email", ids)
    assert time.monotonic() - started < 1.5
    assert smtp_server.silent_connections == 1
    db.session.expire_all()
    rows = [db.session.get(Message, i) for i in ids]
    assert {(m.status, m.last_error, m.attempts) for m in rows} == {("temporary_failure", "smtp_unavailable", 1)}
    assert len({m.next_attempt_at for m in rows}) == 1  # retried together


def _texts(user, count: int, prefix: str) -> list[int]:
    service.send_many(db.session, [{"template": "notify.channel_check", "context": {}, "user_id": user.id,
                                    "idempotency_key": f"{prefix}-{i}", "channel": "sms"} for i in range(count)])
    db.session.info.pop("notify.pending", None)
    db.session.commit()
    return sorted(db.session.scalars(select(Message.id).where(Message.idempotency_key.like(f"{prefix}-%"))))


def test_an_unreachable_http_provider_costs_a_batch_one_connection(app, make_user):
    from tests.notify.rig import free_port

    app.config.update(SMS_PROVIDER="http", SMS_PROVIDER_URL=f"http://127.0.0.1:{free_port()}/v1")
    ids = _texts(make_user(phone="010-1"), 5, "refused")
    outcome = _deliver(app, "sms", ids)
    assert outcome.delivered == [] and sorted(i for _, batch in outcome.retry for i in batch) == ids
    db.session.expire_all()
    rows = [db.session.get(Message, i) for i in ids]
    assert {(m.status, m.last_error, m.attempts) for m in rows} == {("temporary_failure", "provider_unreachable", 1)}
    assert len({m.next_attempt_at for m in rows}) == 1


def test_a_provider_slow_to_answer_one_notice_does_not_hold_back_the_others(app, make_user, http_provider):
    """No answer in time is not a provider down: that notice is tried again later (with the
    same Idempotency-Key, which the provider may already have), the others go on."""
    app.config.update(SMS_PROVIDER_TIMEOUT=0.3)
    http_provider.delay = lambda request: 1.0 if request.number == 1 else 0.0
    ids = _texts(make_user(phone="010-1"), 4, "slow")
    outcome = _deliver(app, "sms", ids)
    assert outcome.delivered == ids[1:]
    db.session.expire_all()
    first = db.session.get(Message, ids[0])
    assert (first.status, first.last_error) == ("temporary_failure", "provider_unreachable")
    _deliver(app, "sms", ids, now=utcnow() + timedelta(hours=1))
    keys = http_provider.sent_keys()
    assert sorted(keys) == ["slow-0", "slow-0", "slow-1", "slow-2", "slow-3"]  # the repeat: same key


def _deliver(app, channel, ids, **kwargs):
    with app.app_context(), service.fresh_session() as session:
        return service.deliver_batch(session, channel, ids, **kwargs)


def test_http_provider_gets_the_key_and_the_reference(send, make_user, http_provider):
    """The provider's Idempotency-Key is the notice's reference, never the idempotency key."""
    user = make_user(phone="010-2222-3333", locale="zh")
    message = send(user=user, channel="sms", idempotency_key="welfare:care:1")
    assert message.status == "sent"  # accepted: delivered only on its receipt (test_receipts)
    [request] = http_provider.requests
    assert request["headers"]["Idempotency-Key"] == request["json"]["reference"] == reference("welfare:care:1")
    assert "welfare" not in json.dumps(request)
    assert request["headers"]["Authorization"] == "Bearer sms-test-key"
    assert request["json"]["to"] == "010-2222-3333"
    assert request["json"]["text"].startswith("您好。这是市民门户发送的测试消息。")


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
    assert message.status == "sent"
    assert http_provider.requests[0]["headers"]["Idempotency-Key"] == reference("seen-1")


def test_a_missing_phone_number_falls_back_to_the_inbox(send, make_user, http_provider):
    message = send(user=make_user(phone=None), channel="sms", idempotency_key="nophone-1")
    db.session.refresh(message)
    assert (message.channel, message.status) == ("app", "delivered")  # never a silent failure
    assert http_provider.requests == []


def test_a_missing_phone_number_of_a_guest_is_a_permanent_failure(send, http_provider):
    message = send(email="guest@example.com", channel="sms", idempotency_key="nophone-3")
    assert message.status == "permanent_failure" and message.last_error == "no_address"
    assert http_provider.requests == []


def test_a_phone_number_removed_before_delivery_falls_back_to_the_inbox(make_user, http_provider):
    from portal.accounts.models import User

    user = make_user(phone="010-2222-3333")
    message = service.send(db.session, template="notify.channel_check", context={},
                           idempotency_key="nophone-2", user=user, channel="sms")
    db.session.execute(update(User).where(User.id == user.id).values(phone=None))
    db.session.commit()
    db.session.refresh(message)
    assert (message.channel, message.status) == ("app", "delivered")
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
