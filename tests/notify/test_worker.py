"""Fault drills with real processes (issue 12, drills a, b, c and e): real Celery workers on a
Redis of the test's own and on PostgreSQL, a provider that keeps EVERY request it receives
(``tests.notify.rig``), and a fault that lands mid-run because the provider holds what comes
after the n-th request until the fault is in place. Each drill records its figures.

- (a) a provider slower than the stuck timeout, two workers and the sweep: 0 sent twice;
- (b) SIGKILL of a worker mid-batch (a pool process, or the whole worker): 0 lost, and a repeat
  only for a notice in flight at the kill, with the same ``Idempotency-Key``;
- (c) Redis restarted mid-run: 0 lost, 0 sent twice;
- (e) the mail server stops answering mid-batch, then comes back: every e-mail delivered, once,
  and no batch past the stuck timeout meanwhile.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from tests.conftest import requires_postgres, requires_redis
from tests.notify.rig import (
    MailSink,
    PrivateRedis,
    RecordingProvider,
    Tally,
    Worker,
    pid_of_client,
    sweeps,
    wait_until,
    worker_env,
)

pytestmark = [requires_postgres, requires_redis,
              pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")]

# every drill: a stuck timeout of 2 s, swept every second, batches of 20, no rate limit
BASE = {"NOTIFY_STUCK_SECONDS": "2", "NOTIFY_SWEEP_INTERVAL": "1", "NOTIFY_BATCH_SIZE": "20",
        "NOTIFY_RATE_LIMIT_SMS": "0", "NOTIFY_RATE_LIMIT_EMAIL": "0",
        "NOTIFY_RETRY_BASE_SECONDS": "0.5", "NOTIFY_RETRY_MAX_SECONDS": "2", "NOTIFY_MAX_ATTEMPTS": "20"}


class Drill:
    """A private Redis, a producer app on it, worker processes, and the outbox's view."""

    def __init__(self, app, make_app, tmp_path, **settings):
        self.tmp = tmp_path
        self.redis = PrivateRedis(tmp_path).start()
        self.settings = {**BASE, **settings}
        self.env = worker_env(app.config["SQLALCHEMY_DATABASE_URI"], self.redis.url, **self.settings)
        self.producer = make_app(REDIS_URL=self.redis.url, **self.settings,
                                 CELERY={"task_always_eager": False, "broker_url": self.redis.url})
        self.workers: list[Worker] = []
        self.restarts = 0
        self.started = time.monotonic()

    def worker(self, name: str, **kwargs) -> Worker:
        self.workers.append(Worker(self.env, self.tmp, name, **kwargs))
        return self.workers[-1]

    def queue(self, count: int, prefix: str, channel: str = "sms") -> set[str]:
        """``count`` notices through ``send_many`` (queued to the real broker after the commit);
        returns what the provider must see of them: each one's reference."""
        from portal.notify import sealing, service

        with self.producer.app_context():
            user_id = _resident(db.session)
            keys = [f"{prefix}-{i}" for i in range(count)]
            items = [{"template": "notify.channel_check", "context": {"reference": str(i)},
                      "idempotency_key": key, "user_id": user_id, "channel": channel}
                     for i, key in enumerate(keys)]
            assert service.send_many(db.session, items) == count
            db.session.commit()
            self.started = time.monotonic()
            return {sealing.reference(key) for key in keys}

    def statuses(self) -> dict[str, int]:
        from portal.notify.models import Message

        with self.producer.app_context():
            rows = db.session.execute(select(Message.status, func.count()).group_by(Message.status)).all()
            db.session.remove()
            return dict(rows)

    def supervise(self) -> None:
        """What systemd's Restart=always does: a worker that exited is started again (kombu can
        end a worker on a race between an ack and a lost Redis connection)."""
        for i, w in enumerate(self.workers):
            if not w.alive() and not getattr(w, "killed", False):
                self.restarts += 1
                self.workers[i] = Worker(self.env, self.tmp, f"{w.name}-again{self.restarts}")

    def wait_delivered(self, count: int, timeout: float, supervise: bool = False) -> float:
        def done():
            if supervise:
                self.supervise()
            # handed over: "sent" to the HTTP provider (delivered on its receipt), "delivered" by SMTP
            statuses = self.statuses()
            return statuses.get("sent", 0) + statuses.get("delivered", 0) == count

        try:
            wait_until(done, timeout, f"{count} delivered", step=0.2)
        except AssertionError:
            raise AssertionError(f"not all delivered: {self.statuses()}\n{self.logs()[-3000:]}") from None
        return time.monotonic() - self.started

    def logs(self) -> str:
        return "".join(w.text() for w in self.workers)

    def close(self) -> None:
        for w in self.workers:
            w.stop()
        self.redis.stop()


def _resident(session) -> int:
    from portal.accounts.models import User
    from portal.accounts.service import create_user

    user = session.scalar(select(User).where(User.email == "worker-test@example.kr"))
    if user is None:
        user = create_user(session, "worker-test@example.kr", None, password_hash="x", phone="010-0000-0000")
        session.commit()
    return user.id


@pytest.fixture
def provider():
    recording = RecordingProvider().start()
    yield recording
    recording.stop()


@pytest.fixture
def drill(app, make_app, tmp_path):
    made: list[Drill] = []

    def start(**settings) -> Drill:
        made.append(Drill(app, make_app, tmp_path, **settings))
        return made[-1]

    yield start
    for d in made:
        d.close()


def _no_key_in_logs(drill: Drill, prefix: str) -> None:
    """Workers' logs name no notice by its idempotency key."""
    assert "Task notify.deliver_batch" in drill.logs()
    assert not re.search(rf"{prefix}-\d", drill.logs())


# -- (a) a provider slower than the stuck timeout ---------------------------------------------

@pytest.mark.timeout(90)
def test_drill_a_a_provider_slower_than_the_stuck_timeout_gets_nothing_twice(drill, provider, figures):
    """Every 8th request takes 3 s, past the stuck timeout of 2 s, so every batch outlasts its
    claim: the sweep takes its tail back and the other worker sends it, while the send in flight
    keeps its claim. Two workers, each with its beat (the sweep every second)."""
    provider.delay = lambda request: 3.0 if request.number % 8 == 0 else 0.0
    d = drill(**provider.settings())
    workers = [d.worker("one"), d.worker("two")]
    for w in workers:
        w.wait_ready()
    count = 120
    expected = d.queue(count, "slow")
    elapsed = d.wait_delivered(count, timeout=50)
    tally = Tally(provider.keys(), expected)
    slow = sum(1 for r in provider.received if r.number % 8 == 0)
    taken_back = sweeps(d.logs())
    figures(f"drill (a) slow provider (3 s for {slow} requests, stuck timeout 2 s, 2 workers + sweep): "
            f"{count} notices, {len(tally.twice)} sent twice, {len(tally.lost)} lost, "
            f"{taken_back} taken back by the sweep, {provider.count()} requests, {elapsed:.1f} s")
    assert taken_back > 0, "the drill must outlast claims (the sweep took nothing back)"
    assert tally.twice == {} and tally.lost == set() and tally.strangers == set()
    _no_key_in_logs(d, "slow")


# -- (b) SIGKILL mid-batch ---------------------------------------------------------------------

@pytest.mark.timeout(90)
@pytest.mark.parametrize("victim", ["pool process", "whole worker"])
def test_drill_b_sigkill_mid_batch_loses_nothing_and_repeats_only_what_was_in_flight(
        drill, provider, figures, victim):
    """The provider holds every request after the 50th; once the worker's pool processes are
    each waiting on one, SIGKILL: the pool process whose request is held (found by its socket),
    or the whole worker (main process, pool and beat, as when its machine dies). Only a notice
    whose request was in flight at the kill may reach the provider again, with the same key."""
    d = drill(**provider.settings())
    first = d.worker("first").wait_ready()
    count, before = 200, 50
    provider.gate(after=before)
    expected = d.queue(count, "kill")
    wait_until(lambda: len(provider.held()) == 2, 30, "both pool processes held at the provider")
    held = provider.held()
    if victim == "pool process":
        pid = pid_of_client(held[0].client_port)
        assert pid is not None and pid != first.proc.pid
        os.kill(pid, signal.SIGKILL)
        in_flight = {held[0].key}
    else:
        first.killed = True
        first.kill()
        in_flight = {r.key for r in held}
        d.worker("second")
    provider.open()
    elapsed = d.wait_delivered(count, timeout=45)
    tally = Tally(provider.keys(), expected)
    figures(f"drill (b) SIGKILL of a {victim} mid-batch: {count} notices, {before} sent before the kill, "
            f"{len(in_flight)} in flight at the kill, {len(tally.lost)} lost, {len(tally.twice)} sent twice "
            f"({'all' if set(tally.twice) <= in_flight else 'NOT all'} of them in flight at the kill, "
            f"same Idempotency-Key), {elapsed:.1f} s")
    assert tally.lost == set() and tally.strangers == set()
    assert set(tally.twice) <= in_flight and set(tally.twice.values()) <= {2}
    _no_key_in_logs(d, "kill")


# -- (c) Redis restarted mid-run ---------------------------------------------------------------

@pytest.mark.timeout(90)
def test_drill_c_restarting_redis_mid_run_loses_nothing_and_doubles_nothing(drill, provider, figures):
    """The provider holds what comes after the 60th request; Redis stops (what it held, the
    queued tasks, dies with it: no persistence), the held sends finish while it is down, and it
    comes back a second later. The sweep re-queues what the broker lost."""
    d = drill(**provider.settings())
    d.worker("steady").wait_ready()
    count, before = 300, 60
    provider.gate(after=before)
    expected = d.queue(count, "redis")
    wait_until(lambda: provider.held(), 30, "a request held at the provider")
    d.redis.stop()
    provider.open()
    time.sleep(1)
    d.redis.start()
    elapsed = d.wait_delivered(count, timeout=50, supervise=True)
    tally = Tally(provider.keys(), expected)
    figures(f"drill (c) Redis restarted mid-run: {count} notices, {before} sent before it stopped, "
            f"{len(tally.lost)} lost, {len(tally.twice)} sent twice, {sweeps(d.logs())} re-queued by the sweep, "
            f"{d.restarts} worker restarts, {elapsed:.1f} s")
    assert tally.lost == set() and tally.twice == {} and tally.strangers == set()


# -- (e) the mail server down, then up --------------------------------------------------------

@pytest.mark.timeout(90)
def test_drill_e_the_mail_server_down_then_up_every_email_once(drill, figures):
    """The mail server takes 25 mails and then stops answering (TCP accepted, no greeting) for
    4 s, in the middle of a batch; then it is back. Every e-mail arrives once (counted by
    Message-ID), and no batch ran past the stuck timeout (3 s) while the server was silent: a
    batch gives up on its other mails after one timeout (0.5 s) instead of waiting one out
    per mail."""
    from portal.notify.channels import message_id_header

    sink = MailSink().up()
    try:
        d = drill(**sink.settings(), MAIL_TIMEOUT="0.5", NOTIFY_STUCK_SECONDS="3")
        d.worker("mail").wait_ready()
        count, before, outage = 80, 25, 4.0
        sink.gate(after=before)
        expected = d.queue(count, "mail", channel="email")
        wait_until(lambda: sink.arrived > before, 30, "a mail held by the server")
        sink.not_answering()
        time.sleep(outage)
        silent = sink.silent_connections
        sink.up()
        elapsed = d.wait_delivered(count, timeout=40)
        sender = "noreply@city.example.kr"
        tally = Tally(sink.message_ids(), {message_id_header(ref, sender) for ref in expected})
        batches = [float(s) for s in re.findall(r"deliver_batch\[[^\]]+\] succeeded in ([\d.]+)s", d.logs())]
        figures(f"drill (e) mail server silent for {outage:.0f} s mid-batch, then up: {count} e-mails, "
                f"{before} before, {len(tally.lost)} lost, {len(tally.twice)} sent twice, {silent} connections "
                f"to the silent server, longest batch {max(batches):.1f} s (stuck timeout 3 s, "
                f"MAIL_TIMEOUT 0.5 s), {elapsed:.1f} s")
        assert tally.lost == set() and tally.twice == {} and tally.strangers == set()
        assert silent > 0, "the outage must be met by the worker"
        assert max(batches) < 3
    finally:
        sink.down()
