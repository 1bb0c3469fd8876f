"""The outbox: idempotency, after-commit queueing, channel choice, languages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.errors import Invalid
from portal.extensions import db
from portal.notify import service
from portal.notify.models import Message, Preference
from tests.conftest import requires_postgres


def count_messages() -> int:
    return db.session.scalar(select(func.count()).select_from(Message))


def test_same_idempotency_key_gives_one_row_and_one_delivery(send, make_user, http_provider):
    user = make_user(phone="010-1111-2222")
    first = send(user=user, channel="sms", idempotency_key="proposal:7:threshold:1")
    again = send(user=user, channel="sms", idempotency_key="proposal:7:threshold:1",
                 context={"reference": "something else"})
    assert again.id == first.id
    assert count_messages() == 1
    assert first.status == "sent"
    assert http_provider.sent_keys() == ["proposal:7:threshold:1"]


def test_send_many_inserts_only_new_keys_and_delivers_each_once(app, make_user, http_provider):
    users = [make_user(phone=f"010-0000-000{i}") for i in range(4)]
    items = [{"template": "notify.channel_check", "context": {}, "idempotency_key": f"scan:{u.id}",
              "user_id": u.id, "channel": "voice"} for u in users]
    assert service.send_many(db.session, items[:2]) == 2
    db.session.commit()
    assert service.send_many(db.session, items) == 2  # the first two exist already
    db.session.commit()
    assert count_messages() == 4
    assert sorted(http_provider.sent_keys()) == sorted(f"scan:{u.id}" for u in users)
    statuses = db.session.scalars(select(Message.status)).all()
    assert statuses == ["sent"] * 4


def test_nothing_is_sent_when_the_producer_rolls_back(make_user, notify_log):
    user = make_user(phone="010-1111-2222")
    service.send(db.session, template="notify.channel_check", context={}, idempotency_key="rolled-back",
                 user=user, channel="sms")
    db.session.rollback()
    assert count_messages() == 0
    assert notify_log.records() == []


def test_nothing_is_queued_before_the_producer_commits(make_user, notify_log):
    user = make_user(phone="010-1111-2222")
    message = service.send(db.session, template="notify.channel_check", context={},
                           idempotency_key="pending", user=user, channel="sms")
    db.session.flush()
    assert message.status == "queued"
    assert notify_log.records() == []
    db.session.commit()
    assert notify_log.keys() == ["pending"]


def test_channel_none_uses_the_residents_preferred_channel(send, make_user, notify_log):
    user = make_user(phone="010-3333-4444")
    db.session.add(Preference(user_id=user.id, preferred_channel="voice", opted_out=[]))
    db.session.commit()
    message = send(user=user, idempotency_key="pref-1")
    assert message.channel == "voice" and message.status == "delivered"
    [record] = notify_log.records()
    assert record["channel"] == "voice"
    assert record["to"] == "***4444"  # the log provider masks the number


def test_without_a_preference_a_resident_gets_the_inbox(send, make_user):
    message = send(user=make_user(), idempotency_key="inbox-1")
    assert message.channel == "app" and message.status == "delivered"


def test_a_channel_the_resident_switched_off_is_not_used(send, make_user, notify_log):
    user = make_user(phone="010-3333-4444")
    db.session.add(Preference(user_id=user.id, preferred_channel="sms", opted_out=["voice"]))
    db.session.commit()
    message = send(user=user, channel="voice", idempotency_key="optout-1")
    assert message.channel == "sms"
    db.session.execute(
        Preference.__table__.update().values(preferred_channel=None, opted_out=["voice", "sms"]))
    db.session.commit()
    message = send(user=user, channel="voice", idempotency_key="optout-2")
    assert message.channel == "app" and message.status == "delivered"
    assert notify_log.keys() == ["optout-1"]


def test_an_explicit_locale_beats_the_users(send, make_user, notify_log):
    user = make_user(phone="010-5555-6666", locale="ko")
    message = send(user=user, channel="sms", idempotency_key="explicit-zh", locale="zh")
    assert message.locale == "zh"
    assert notify_log.records()[0]["subject"] == "市民门户测试消息"


@pytest.mark.parametrize("kwargs, field", [
    ({"template": "no.such_template"}, "template"),
    ({"template": "../../etc/passwd"}, "template"),
    ({"context": {"when": object()}}, "context"),
    ({"idempotency_key": ""}, "idempotency_key"),
    ({"channel": "fax"}, "channel"),
    ({"locale": "fr"}, "locale"),
])
def test_bad_notices_are_refused_with_the_field(make_user, kwargs, field):
    args = {"template": "notify.channel_check", "context": {}, "idempotency_key": "k",
            "user": make_user(), **kwargs}
    with pytest.raises(Invalid) as err:
        service.send(db.session, **args)
    assert field in err.value.fields


@pytest.mark.parametrize("kwargs, field", [
    ({"context": {"guest": {"name": "Kim\x00"}}}, "context.guest.name"),
    ({"context": {"names": ["ok", "\ud800"]}}, "context.names.1"),
    ({"context": {"\x00": "key"}}, "context"),
    ({"idempotency_key": "tourism:\x00"}, "idempotency_key"),
    ({"email": "a\udc80@example.kr", "user": None, "channel": "email"}, "email"),
    ({"phone": "010\x00", "user": None, "channel": "sms"}, "phone"),
])
def test_text_that_cannot_be_stored_is_refused_with_the_field(make_user, kwargs, field):
    """NUL bytes and lone surrogates are an Invalid (422) naming the field, never a database
    error (a 500 whose log would carry the statement's other values)."""
    args = {"template": "notify.channel_check", "context": {}, "idempotency_key": "k",
            "user": make_user(), **kwargs}
    with pytest.raises(Invalid) as err:
        service.send(db.session, **args)
    assert set(err.value.fields) == {field}
    with pytest.raises(Invalid) as err:
        service.send_many(db.session, [{**{k: v for k, v in args.items() if k != "user"},
                                        "user_id": args["user"].id if args["user"] else None}])
    assert set(err.value.fields) == {f"items.0.{field}"}
    assert count_messages() == 0


def test_a_bare_address_needs_a_channel_it_can_use(make_user):
    with pytest.raises(Invalid) as err:
        service.send(db.session, template="notify.channel_check", context={}, idempotency_key="k",
                     email="guest@example.com", channel="app")
    assert "channel" in err.value.fields
    with pytest.raises(Invalid) as err:
        service.send(db.session, template="notify.channel_check", context={}, idempotency_key="k")
    assert "recipient" in err.value.fields


def test_send_many_names_the_bad_item(make_user):
    user = make_user()
    items = [{"template": "notify.channel_check", "context": {}, "idempotency_key": "a", "user_id": user.id},
             {"template": "notify.channel_check", "context": {}, "idempotency_key": "b", "user_id": 10 ** 9}]
    with pytest.raises(Invalid) as err:
        service.send_many(db.session, items)
    assert "items.1.user" in err.value.fields
    assert count_messages() == 0


@requires_postgres
def test_concurrent_sends_with_one_key_make_one_row(app, make_user, http_provider):
    import threading

    user_id = make_user(phone="010-1").id
    barrier = threading.Barrier(4)
    ids, errors = [], []

    def producer():
        from portal.accounts.models import User
        try:
            with app.app_context(), service.fresh_session() as session:
                user = session.get(User, user_id)
                barrier.wait()
                message = service.send(session, template="notify.channel_check", context={},
                                       idempotency_key="same-event", user=user, channel="sms")
                ids.append(message.id)
                session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=producer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == [] and len(set(ids)) == 1 and len(ids) == 4
    assert count_messages() == 1
    assert http_provider.sent_keys() == ["same-event"]
