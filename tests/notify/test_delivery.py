"""Delivery: retries with backoff, the cap, the claim, rate limits, what a worker finds changed."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.notify import service
from portal.notify.models import Message, Preference
from portal.types import utcnow
from tests.conftest import requires_postgres, requires_redis


def _reload(message_id: int) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message_id)


def test_temporary_failures_back_off_then_fail_for_good_at_the_cap(app, send, make_user, http_provider):
    app.config.update(NOTIFY_MAX_ATTEMPTS=4, NOTIFY_RETRY_BASE_SECONDS=60, NOTIFY_RETRY_MAX_SECONDS=3600)
    http_provider.statuses = [503] * 10
    message = send(user=make_user(phone="010-1"), channel="sms", idempotency_key="flaky-1")
    waits = []
    for attempt in range(1, 4):
        assert message.status == "temporary_failure" and message.attempts == attempt
        wait = (message.next_attempt_at - message.failed_at).total_seconds()
        # exponential: base * 2^(attempt-1), with jitter in [half, full]
        assert 60 * 2 ** (attempt - 1) / 2 <= wait <= 60 * 2 ** (attempt - 1) + 1
        waits.append(wait)
        # not due yet: a premature task claims nothing and sends nothing
        sent = len(http_provider.requests)
        with service.fresh_session() as session:
            assert service.deliver_batch(session, "sms", [message.id]).delivered == []
        assert len(http_provider.requests) == sent
        with service.fresh_session() as session:
            service.deliver_batch(session, "sms", [message.id], now=message.next_attempt_at)
        message = _reload(message.id)
    assert message.status == "permanent_failure" and message.attempts == 4
    assert message.last_error == "http_503" and message.next_attempt_at is None
    assert len(http_provider.requests) == 4
    # a permanent failure is never picked up again
    with service.fresh_session() as session:
        service.deliver_batch(session, "sms", [message.id], now=utcnow() + timedelta(days=1))
    assert len(http_provider.requests) == 4


def test_backoff_is_capped_and_jittered(app):
    app.config.update(NOTIFY_RETRY_BASE_SECONDS=30, NOTIFY_RETRY_MAX_SECONDS=600)
    late = [service.backoff(12) for _ in range(50)]
    assert all(300 <= w <= 600 for w in late)
    assert len(set(late)) > 1


@requires_postgres
def test_two_workers_delivering_the_same_batch_send_each_notice_once(app, make_user, http_provider):
    user = make_user(phone="010-1")
    items = [{"template": "notify.channel_check", "context": {}, "idempotency_key": f"race-{i}",
              "user_id": user.id, "channel": "sms"} for i in range(60)]
    service.send_many(db.session, items)
    db.session.info.pop("notify.pending", None)  # the two "workers" below do the delivering
    db.session.commit()
    ids = list(db.session.scalars(select(Message.id)))
    barrier = threading.Barrier(2)
    delivered: list[list[int]] = []

    def worker():
        with app.app_context(), service.fresh_session() as session:
            barrier.wait()
            delivered.append(service.deliver_batch(session, "sms", ids).delivered)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(delivered[0] + delivered[1]) == sorted(ids)  # each id delivered by one worker
    # the provider keeps every request it got: each notice reached it once
    keys = http_provider.sent_keys()
    assert len(keys) == 60 and len(set(keys)) == 60


def test_a_notice_taken_over_mid_batch_is_not_sent_by_its_old_claimer(app, make_user, http_provider):
    """Worker A claims three notices; the provider takes 2.5 s over the first. Past the stuck
    timeout (1 s) the sweep takes back what A has not started (the two others), and worker B
    sends them. A's send in flight keeps its claim alive meanwhile (the sweep must not hand it
    to B while the provider still has it), and A, once the provider answered, sends neither of
    the notices it lost: the provider gets each notice once."""
    app.config.update(NOTIFY_STUCK_SECONDS=1)
    user = make_user(phone="010-1")
    service.send_many(db.session, [{"template": "notify.channel_check", "context": {},
                                    "idempotency_key": f"fence-{i}", "user_id": user.id, "channel": "sms"}
                                   for i in range(3)])
    db.session.info.pop("notify.pending", None)
    db.session.commit()
    ids = sorted(db.session.scalars(select(Message.id)))
    http_provider.delay = lambda request: 2.5 if request.number == 1 else 0.0
    outcome_a: list = []

    def worker_a():
        with app.app_context(), service.fresh_session() as session:
            outcome_a.append(service.deliver_batch(session, "sms", ids))

    a = threading.Thread(target=worker_a)
    a.start()
    time.sleep(1.6)  # A's first send is in flight; the batch's claim is 1.6 s old
    with service.fresh_session() as session:
        taken_back = service.sweep(session)
        session.commit()
    assert sorted(i for i, _ in taken_back) == ids[1:]  # not the one in flight
    with service.fresh_session() as session:
        outcome_b = service.deliver_batch(session, "sms", ids)
    assert outcome_b.delivered == ids[1:]
    a.join(timeout=10)
    assert outcome_a[0].delivered == ids[:1]
    assert sorted(http_provider.sent_keys()) == ["fence-0", "fence-1", "fence-2"]
    assert {_reload(i).status for i in ids} == {"sent"}
    assert [_reload(i).attempts for i in ids] == [1, 1, 1]  # taken back before its turn: no attempt


@requires_redis
def test_a_channel_rate_limit_defers_what_is_over_it(app, make_user, notify_log, redis_url):
    app.config.update(NOTIFY_RATE_LIMIT_SMS=3)
    user = make_user(phone="010-1")
    items = [{"template": "notify.channel_check", "context": {}, "idempotency_key": f"rl-{i}",
              "user_id": user.id, "channel": "sms"} for i in range(5)]
    service.send_many(db.session, items)
    db.session.info.pop("notify.pending", None)
    db.session.commit()
    ids = sorted(db.session.scalars(select(Message.id)))
    with service.fresh_session() as session:
        import time
        time.sleep(1 - time.time() % 1)  # start at the beginning of a one-second window
        outcome = service.deliver_batch(session, "sms", ids, limit=True)
    assert len(outcome.delivered) == 3 and outcome.deferred == ids[3:]
    assert 0 < outcome.defer_for <= 1
    assert [_reload(i).status for i in ids[3:]] == ["queued", "queued"]
    assert len(notify_log.keys()) == 3


def test_unknown_ids_and_duplicates_in_a_batch_are_harmless(app, send, make_user, notify_log):
    message = send(user=make_user(phone="010-1"), channel="sms", idempotency_key="dup-1")
    with service.fresh_session() as session:
        outcome = service.deliver_batch(session, "sms", [message.id, message.id, 10 ** 9])
    assert outcome.delivered == [] and notify_log.keys() == ["dup-1"]


def test_opting_out_after_queueing_is_a_permanent_failure_not_retried(app, make_user, notify_log):
    user = make_user(phone="010-3333-4444")
    message = service.send(db.session, template="notify.channel_check", context={},
                           idempotency_key="late-optout", user=user, channel="sms")
    # the resident switches SMS off before the worker gets to the notice
    db.session.add(Preference(user_id=user.id, preferred_channel=None, opted_out=["sms"]))
    db.session.commit()
    db.session.refresh(message)
    assert message.status == "permanent_failure" and message.last_error == "opted_out"
    assert message.attempts == 1 and message.next_attempt_at is None
    assert notify_log.records() == []
