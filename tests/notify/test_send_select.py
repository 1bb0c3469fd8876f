"""send_select: outbox rows written straight from a SELECT, with send_many's rules."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.errors import Invalid
from portal.extensions import db
from portal.notify import service
from portal.notify.models import Message, Preference
from portal.types import JSONType

TEMPLATE = "notify.channel_check"
CONTEXT = {"reference": "S-1", "name": {"ko": "사업", "en": "Programme"}}
# (preferred channel, opted out): every way a preference can steer the channel, including a
# row that prefers a channel it also switched off (the form refuses it; the table does not)
PREFERENCES = [None, ("voice", []), ("sms", ["voice"]), (None, ["voice", "sms"]), ("email", []),
               ("sms", ["sms"]), (None, [])]
REQUESTED = [None, "app", "email", "sms", "voice"]


def source(user_ids, prefix, channel=None, context=CONTEXT, with_channel=True):
    """The SELECT a producer would hand over: one row per user, key = prefix + user id."""
    columns = [User.id.label("user_id"),
               (sa.literal(prefix) + sa.cast(User.id, sa.String)).label("idempotency_key"),
               sa.literal(context, JSONType).label("context")]
    if with_channel:
        columns.append(sa.literal(channel, sa.String).label("channel"))
    return sa.select(*columns).where(User.id.in_(user_ids))


def rows(prefix):
    """{user_id: the fields a producer decides} of the rows whose key starts with prefix."""
    return {m.user_id: (m.channel, m.locale, m.template, m.context, m.status, m.attempts, m.email, m.phone)
            for m in db.session.scalars(sa.select(Message).where(Message.idempotency_key.like(prefix + "%")))}


@pytest.fixture
def residents(make_user):
    """One resident per (locale, preference) combination; half of them have a phone."""
    ids = []
    for n, (locale, pref) in enumerate(itertools.product(("ko", "en", "zh"), PREFERENCES)):
        user = make_user(locale=locale, phone="010-2222-3333" if n % 2 else None)
        if pref is not None:
            db.session.add(Preference(user_id=user.id, preferred_channel=pref[0], opted_out=pref[1]))
        ids.append(user.id)
    db.session.commit()
    return ids


@pytest.mark.parametrize("locale", [None, "zh"])
def test_send_select_writes_the_same_rows_as_send_many(app, residents, locale):
    for n, requested in enumerate(REQUESTED):
        items = [{"user_id": uid, "template": TEMPLATE, "context": CONTEXT, "channel": requested,
                  "locale": locale, "idempotency_key": f"many:{n}:{uid}"} for uid in residents]
        assert service.send_many(db.session, items) == len(residents)
        assert service.send_select(db.session, source(residents, f"select:{n}:", requested),
                                   template=TEMPLATE, locale=locale) == len(residents)
        db.session.flush()
        many, selected = rows(f"many:{n}:"), rows(f"select:{n}:")
        assert len(many) == len(residents)
        assert selected == many, requested
    db.session.rollback()  # compared before delivery: nothing was sent


def test_preferences_and_opt_outs_are_honoured(app, make_user):
    plain = make_user(locale="en")
    prefers_voice = make_user(locale="zh")
    voice_off = make_user()
    all_off = make_user()
    for user, pref, opted in ((prefers_voice, "voice", []), (voice_off, "sms", ["voice"]),
                              (all_off, None, ["voice", "sms", "email"])):
        db.session.add(Preference(user_id=user.id, preferred_channel=pref, opted_out=opted))
    db.session.commit()
    ids = [plain.id, prefers_voice.id, voice_off.id, all_off.id]
    service.send_select(db.session, source(ids, "asked-voice:", "voice"), template=TEMPLATE)
    service.send_select(db.session, source(ids, "own-choice:", with_channel=False), template=TEMPLATE)
    db.session.flush()
    asked = {uid: r[:2] for uid, r in rows("asked-voice:").items()}
    assert asked == {plain.id: ("voice", "en"), prefers_voice.id: ("voice", "zh"),
                     voice_off.id: ("sms", "ko"), all_off.id: ("app", "ko")}
    own = {uid: r[0] for uid, r in rows("own-choice:").items()}
    assert own == {plain.id: "app", prefers_voice.id: "voice", voice_off.id: "sms", all_off.id: "app"}
    db.session.rollback()


def test_existing_keys_are_skipped(app, make_user):
    users = [make_user() for _ in range(3)]
    ids = [u.id for u in users]
    service.send_many(db.session, [{"user_id": ids[0], "template": TEMPLATE, "context": {},
                                    "idempotency_key": f"once:{ids[0]}"}])
    db.session.commit()
    assert service.send_select(db.session, source(ids, "once:"), template=TEMPLATE) == 2
    db.session.commit()
    assert service.send_select(db.session, source(ids, "once:"), template=TEMPLATE) == 0
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 3


def test_null_context_is_an_empty_object(app, make_user):
    user = make_user()
    service.send_select(db.session, source([user.id], "empty:", context=None), template=TEMPLATE)
    db.session.flush()
    assert rows("empty:")[user.id][3] == {}
    db.session.rollback()


def test_rows_are_queued_only_after_commit_and_delivered_once(app, make_user, http_provider):
    users = [make_user(phone=f"010-4444-000{i}") for i in range(3)]
    ids = [u.id for u in users]
    assert service.send_select(db.session, source(ids, "after-commit:", "sms"), template=TEMPLATE) == 3
    db.session.flush()
    assert http_provider.requests == []
    db.session.commit()
    assert sorted(http_provider.sent_keys()) == sorted(f"after-commit:{uid}" for uid in ids)
    statuses = db.session.scalars(sa.select(Message.status)).all()
    assert statuses == ["sent"] * 3
    # again, rolled back: nothing is written, nothing is sent
    service.send_select(db.session, source(ids, "rolled-back:", "sms"), template=TEMPLATE)
    db.session.rollback()
    db.session.commit()
    assert len(http_provider.requests) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 3


@pytest.mark.parametrize("kwargs, field", [
    ({"template": "no.such_template"}, "template"),
    ({"template": "../../etc/passwd"}, "template"),
    ({"template": TEMPLATE, "locale": "fr"}, "locale"),
])
def test_bad_template_or_locale_is_refused(app, make_user, kwargs, field):
    user = make_user()
    with pytest.raises(Invalid) as err:
        service.send_select(db.session, source([user.id], "bad:"), **kwargs)
    assert field in err.value.fields
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


def test_a_source_without_keys_is_a_programming_error(app, make_user):
    user = make_user()
    with pytest.raises(ValueError):
        service.send_select(db.session, sa.select(User.id.label("user_id")).where(User.id == user.id),
                            template=TEMPLATE)
