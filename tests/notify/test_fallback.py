"""A notice whose channel has no address for the resident (issue 16, part 3): it goes to the next
channel its sender allows that has one, and to the portal inbox at worst; never a silent
permanent failure."""

from __future__ import annotations

from portal.extensions import db
from portal.notify.models import Message, Preference


def _reload(message: Message) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message.id)


def test_a_call_to_a_resident_with_no_phone_goes_by_email(send, make_user, notify_log, smtp_server):
    user = make_user(email="nophone@example.kr", phone=None)
    message = _reload(send(user=user, channel="voice", idempotency_key="fb-1",
                           context={"reference": "T-1", "fallback": ["voice", "email", "app"]}))
    assert (message.channel, message.status, message.attempts) == ("email", "delivered", 1)
    assert notify_log.records() == []  # no call was placed
    [mail] = smtp_server.messages
    assert mail["To"] == "nophone@example.kr"


def test_the_inbox_at_worst(send, make_user, notify_log):
    user = make_user(phone=None)
    message = _reload(send(user=user, channel="voice", idempotency_key="fb-2",
                           context={"reference": "T-1", "fallback": ["voice", "sms"]}))
    assert (message.channel, message.status) == ("app", "delivered")
    # with no fallback named at all, the inbox still holds it
    message = _reload(send(user=user, channel="sms", idempotency_key="fb-3", context={"reference": "T-1"}))
    assert (message.channel, message.status) == ("app", "delivered")


def test_a_channel_the_resident_switched_off_is_skipped(send, make_user):
    user = make_user(email="off@example.kr", phone=None)
    db.session.add(Preference(user_id=user.id, preferred_channel=None, opted_out=["email"]))
    db.session.commit()
    message = _reload(send(user=user, channel="voice", idempotency_key="fb-4",
                           context={"reference": "T-1", "fallback": ["email", "app"]}))
    assert (message.channel, message.status) == ("app", "delivered")


def test_without_a_resident_there_is_no_inbox_to_fall_back_to(send):
    # a guest's notice (an address, no account): an SMS with no phone has nowhere else to go
    message = _reload(send(email="guest@example.com", channel="sms", idempotency_key="fb-5",
                           context={"reference": "T-1", "fallback": ["sms", "app"]}))
    assert (message.channel, message.status, message.last_error) == ("sms", "permanent_failure", "no_address")
