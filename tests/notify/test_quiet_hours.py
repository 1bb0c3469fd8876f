"""Quiet hours (issue 16, part 4): voice calls and SMS go to a provider only between
NOTIFY_QUIET_END and NOTIFY_QUIET_START in Asia/Seoul (09:00-20:00 here, the defaults), first tries
and retries alike; a notice due in them waits for the opening, is never dropped and is not charged
an attempt for waiting; e-mail is not held.

The clock is the test's: ``utcnow`` of the modules that read it (delivery, claims, sweep, outbox)
answers :class:`Clock`'s time, and the sweep and ``deliver_batch`` are given it as ``now``. The
calls and texts go to the recording HTTP provider, which keeps every request it gets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.notify import service
from portal.notify.models import Message
from portal.notify.service import claims, delivery, outbox, quiet

sweep_module = import_module("portal.notify.service.sweep")  # the package re-exports its function

SEOUL = ZoneInfo("Asia/Seoul")
HANDED = ("sent", "delivered")  # what a notice a provider accepted is (sent: awaiting its receipt)


def kst(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A time of December 2026 in Seoul, as UTC (the database's and the code's)."""
    return datetime(2026, 12, day, hour, minute, second, tzinfo=SEOUL).astimezone(UTC)


class Clock:
    def __init__(self, monkeypatch, now: datetime):
        self.now = now
        for module in (delivery, claims, sweep_module, outbox):
            monkeypatch.setattr(module, "utcnow", lambda: self.now)

    def at(self, now: datetime) -> Clock:
        self.now = now
        return self


@pytest.fixture
def clock(app, monkeypatch):
    app.config.update(NOTIFY_QUIET_START="20:00", NOTIFY_QUIET_END="09:00", NOTIFY_STUCK_SECONDS=300)
    return Clock(monkeypatch, kst(1, 12))


def reload(message_id: int) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message_id)


def deliver(channel: str, ids: list[int], now: datetime) -> service.BatchOutcome:
    with service.fresh_session() as session:
        return service.deliver_batch(session, channel, ids, now=now)


def sweep(now: datetime) -> int:
    with service.fresh_session() as session:
        return service.sweep_and_enqueue(session, now=now)


# -- the rule, end to end --------------------------------------------------------------------


def test_an_sms_queued_at_3_am_waits_and_goes_at_9(clock, send, make_user, http_provider):
    user = make_user(phone="010-1111-2222")
    clock.at(kst(2, 3))
    message = send(user=user, channel="sms", idempotency_key="quiet-sms")  # delivered eagerly: held
    assert http_provider.count() == 0
    assert (message.status, message.attempts) == ("queued", 0)
    assert message.next_attempt_at == kst(2, 9)  # the same morning, Seoul time
    assert message.last_error is None

    # the night goes by: tasks that come again, and sweeps, hand nothing over and count nothing
    for when in (kst(2, 3, 5), kst(2, 5), kst(2, 8, 30), kst(2, 8, 59, 59)):
        clock.at(when)
        assert deliver("sms", [message.id], when).delivered == []
        assert sweep(when) == 0
    assert http_provider.count() == 0
    assert (reload(message.id).status, reload(message.id).attempts) == ("queued", 0)

    clock.at(kst(2, 9))
    assert sweep(kst(2, 9)) == 1  # the opening: queued, and delivered (eagerly)
    assert http_provider.sent_keys() == ["quiet-sms"]
    done = reload(message.id)
    assert done.status in HANDED and done.attempts == 1


def test_a_call_failing_at_19_59_50_is_retried_next_morning_at_9(clock, send, make_user, http_provider,
                                                                   monkeypatch):
    monkeypatch.setattr(delivery, "backoff", lambda attempt: 30.0)  # a 30 s backoff, no jitter
    user = make_user(phone="010-3333-4444")
    http_provider.statuses = [503]
    clock.at(kst(1, 19, 59, 50))
    message = send(user=user, channel="voice", idempotency_key="quiet-call")
    assert http_provider.count() == 1
    assert (message.status, message.attempts, message.last_error) == ("temporary_failure", 1, "http_503")
    # not at 20:00:20 (quiet), not at 03:00 (quiet, and the wrong day's opening): the next opening
    assert message.next_attempt_at == kst(2, 9)

    # the retry task that comes early (a countdown, a duplicate) and the night's sweeps: nothing
    for when in (kst(1, 20, 0, 20), kst(2, 0, 5), kst(2, 3), kst(2, 8, 59, 59)):
        clock.at(when)
        assert deliver("voice", [message.id], when).delivered == []
        assert sweep(when) == 0
    assert http_provider.count() == 1
    assert reload(message.id).attempts == 1

    clock.at(kst(2, 9))
    assert sweep(kst(2, 9)) == 1  # the retry, at the opening
    assert http_provider.sent_keys() == ["quiet-call", "quiet-call"]
    done = reload(message.id)
    assert done.status in HANDED and done.attempts == 2


def test_an_email_queued_at_3_am_goes_at_once(clock, send, make_user, smtp_server):
    clock.at(kst(2, 3))
    message = send(user=make_user(email="night@example.kr"), channel="email", idempotency_key="quiet-mail")
    assert message.status == "delivered" and message.next_attempt_at is None
    assert smtp_server.count() == 1


def test_due_at_08_59_59_waits_and_at_09_00_00_goes(clock, send, make_user, http_provider):
    user = make_user(phone="010-5555-6666")
    clock.at(kst(2, 8, 59, 59))
    message = send(user=user, channel="sms", idempotency_key="quiet-edge")
    assert http_provider.count() == 0
    assert (reload(message.id).next_attempt_at, reload(message.id).attempts) == (kst(2, 9), 0)
    assert sweep(kst(2, 8, 59, 59)) == 0

    clock.at(kst(2, 9))
    # held a second before the opening: the sweep finds it by the opening it waits for (the
    # stuck timeout has not passed since it was queued)
    assert sweep(kst(2, 9)) == 1
    assert http_provider.sent_keys() == ["quiet-edge"]
    assert sweep(kst(2, 9, 1)) == 0  # once


def test_a_worker_at_09_00_00_sends_what_it_holds(clock, send, make_user, http_provider):
    user = make_user(phone="010-7777-8888")
    clock.at(kst(2, 8, 59, 59))
    message = send(user=user, channel="sms", idempotency_key="quiet-worker")
    assert deliver("sms", [message.id], kst(2, 8, 59, 59)).delivered == []
    clock.at(kst(2, 9))
    assert deliver("sms", [message.id], kst(2, 9)).delivered == [message.id]
    assert http_provider.sent_keys() == ["quiet-worker"] and reload(message.id).attempts == 1


def test_many_waiting_notices_go_at_the_opening_each_once(clock, app, make_user, http_provider):
    user = make_user(phone="010-9999-0000")
    clock.at(kst(1, 22))
    items = [{"template": "notify.channel_check", "context": {"reference": str(i)}, "user_id": user.id,
              "idempotency_key": f"quiet-many-{i}", "channel": "sms"} for i in range(30)]
    assert service.send_many(db.session, items) == 30
    db.session.commit()
    assert http_provider.count() == 0
    waiting = db.session.scalars(select(Message.next_attempt_at).distinct()).all()
    assert waiting == [kst(2, 9)]  # tomorrow morning: across midnight
    assert sweep(kst(2, 0, 30)) == 0
    clock.at(kst(2, 9, 0, 30))
    assert sweep(kst(2, 9, 0, 30)) == 30
    assert sorted(http_provider.keys().values()) == [1] * 30


def test_a_channel_not_held_goes_in_quiet_hours_beside_a_held_one(clock, send, make_user, http_provider):
    user = make_user(phone="010-1212-3434")
    clock.at(kst(2, 23))
    call = send(user=user, channel="voice", idempotency_key="quiet-voice")
    inbox = send(user=user, channel="app", idempotency_key="quiet-inbox")
    assert reload(inbox.id).status == "delivered"
    assert reload(call.id).status == "queued" and http_provider.count() == 0


def test_quiet_hours_switched_off_hold_nothing(clock, app, send, make_user, http_provider):
    app.config.update(NOTIFY_QUIET_START="off")
    clock.at(kst(2, 3))
    message = send(user=make_user(phone="010-4545-6767"), channel="sms", idempotency_key="quiet-off")
    assert message.status in HANDED and http_provider.count() == 1


# -- the times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("local", "opening"), [
    ((1, 19, 59, 59), None),
    ((1, 20, 0, 0), (2, 9)),
    ((1, 23, 59, 59), (2, 9)),
    ((2, 0, 0, 0), (2, 9)),
    ((2, 3, 0, 0), (2, 9)),
    ((2, 8, 59, 59), (2, 9)),
    ((2, 9, 0, 0), None),
    ((2, 12, 0, 0), None),
    ((31, 22, 0, 0), "2027-01-01"),  # across the end of the year
])
def test_the_next_opening_in_seoul(app, local, opening):
    app.config.update(NOTIFY_QUIET_START="20:00", NOTIFY_QUIET_END="09:00")
    at = kst(*local)
    found = quiet.opening_after(at)
    if opening is None:
        assert found is None and not quiet.is_quiet(at)
        assert quiet.not_before("sms", at) == at
        return
    expected = (datetime(2027, 1, 1, 9, tzinfo=SEOUL).astimezone(UTC) if opening == "2027-01-01"
                else kst(*opening))
    assert found == expected and quiet.is_quiet(at)
    assert quiet.not_before("voice", at) == expected
    assert quiet.not_before("email", at) == at and quiet.not_before("app", at) == at


def test_seoul_time_not_utc(app):
    app.config.update(NOTIFY_QUIET_START="20:00", NOTIFY_QUIET_END="09:00")
    # 12:00 UTC is 21:00 in Seoul: quiet; 01:00 UTC is 10:00 in Seoul: open
    assert quiet.is_quiet(datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert not quiet.is_quiet(datetime(2026, 12, 1, 1, tzinfo=UTC))
    assert quiet.opening_after(datetime(2026, 12, 1, 12, tzinfo=UTC)) == datetime(2026, 12, 2, 0, tzinfo=UTC)


def test_the_latest_opening(app):
    app.config.update(NOTIFY_QUIET_START="20:00", NOTIFY_QUIET_END="09:00")
    assert quiet.last_opening(kst(2, 9)) == kst(2, 9)
    assert quiet.last_opening(kst(2, 8, 59, 59)) == kst(1, 9)
    assert quiet.last_opening(kst(2, 23)) == kst(2, 9)


def test_quiet_hours_within_one_day(app):
    """START before END: quiet during the day (here 12:00-13:00), open across midnight."""
    app.config.update(NOTIFY_QUIET_START="12:00", NOTIFY_QUIET_END="13:00")
    assert not quiet.is_quiet(kst(2, 3)) and not quiet.is_quiet(kst(2, 11, 59, 59))
    assert quiet.opening_after(kst(2, 12)) == kst(2, 13)
    assert quiet.opening_after(kst(2, 12, 59, 59)) == kst(2, 13)
    assert quiet.opening_after(kst(2, 13)) is None


@pytest.mark.parametrize(("start", "end", "window"), [
    ("21:30", "07:15", ("21:30", "07:15")),
    ("9:00", "20:00", ("20:00", "09:00")),  # START not HH:MM: its default, then equal to END
    ("20:00", "25:00", ("20:00", "09:00")),  # not a time of day: the default
    ("20:00", "nine", ("20:00", "09:00")),
    ("10:00", "10:00", ("20:00", "09:00")),  # equal: refused, the defaults
    ("off", "09:00", None),
    ("22:00", "OFF", None),
])
def test_the_settings_are_checked(app, start, end, window):
    app.config.update(NOTIFY_QUIET_START=start, NOTIFY_QUIET_END=end)
    found = quiet.window()
    if window is None:
        assert found is None
        return
    assert tuple(t.strftime("%H:%M") for t in found) == window


def test_a_retry_put_off_to_the_opening_is_left_to_the_sweep(clock, app, make_user, http_provider, monkeypatch):
    """A worker schedules a retry task for an ordinary backoff, not for one the quiet hours put
    off by hours (a countdown longer than the broker's visibility timeout comes back early, once
    an hour): the sweep queues that one at the opening (above)."""
    from portal.notify import tasks

    monkeypatch.setattr(delivery, "backoff", lambda attempt: 30.0)
    scheduled: list[tuple] = []
    monkeypatch.setattr(tasks.deliver_batch, "apply_async",
                        lambda args, countdown=None, **kw: scheduled.append((args, countdown)))
    user = make_user(phone="010-2468-1357")
    ids = []
    for key in ("quiet-noon", "quiet-evening"):
        ids.append(service.send(db.session, template="notify.channel_check", context={}, user=user,
                                channel="voice", idempotency_key=key).id)
    db.session.commit()  # queued: the eager tasks ran, with their own clock (discarded below)
    db.session.execute(Message.__table__.update().values(status="queued", attempts=0, next_attempt_at=None))
    db.session.commit()
    http_provider.statuses = [503, 503]
    scheduled.clear()
    clock.at(kst(2, 12))
    tasks.deliver_batch("voice", [ids[0]])  # a worker's call: not eager
    clock.at(kst(2, 19, 59, 50))
    tasks.deliver_batch("voice", [ids[1]])
    assert reload(ids[1]).next_attempt_at == kst(3, 9)
    assert scheduled == [(("voice", [ids[0]]), 30.0)]


def test_a_batch_claimed_before_20_00_sends_nothing_after_it(clock, app, make_user, http_provider):
    """A worker claimed its batch at 19:59:59; the first call goes, and by the second one's
    turn it is 20:00: that one waits for the morning, with no attempt counted."""
    user = make_user(phone="010-1357-2468")
    clock.at(kst(1, 12))
    ids = [service.send(db.session, template="notify.channel_check", context={}, user=user, channel="voice",
                        idempotency_key=f"quiet-batch-{i}").id for i in range(2)]
    db.session.info.pop("notify.pending", None)  # no eager delivery: the batch below is the one
    db.session.commit()

    def evening_comes(received):
        clock.at(kst(1, 20))  # while the provider has the first call
        return 0.0

    http_provider.delay = evening_comes
    clock.at(kst(1, 19, 59, 59))
    outcome = deliver("voice", ids, kst(1, 19, 59, 59))
    assert outcome.delivered == [ids[0]] and http_provider.count() == 1
    later = reload(ids[1])
    assert (later.status, later.attempts, later.claim, later.next_attempt_at) == ("queued", 0, None, kst(2, 9))
    assert sweep(kst(2, 3)) == 0
    clock.at(kst(2, 9))
    assert sweep(kst(2, 9)) == 1
    assert http_provider.count() == 2 and reload(ids[1]).attempts == 1
