"""A real Celery worker and a real Redis broker on PostgreSQL: kill the worker mid-batch, restart
Redis mid-run; every notice must end delivered, exactly once as the provider (the log provider's
file) sees it.  Each test starts a private redis-server and its own worker processes."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from tests.conftest import requires_postgres, requires_redis
from tests.notify.conftest import LogFile, free_port

pytestmark = [requires_postgres, requires_redis,
              pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")]

CELERY = str(Path(sys.executable).with_name("celery"))
ROOT = Path(__file__).resolve().parents[2]


class PrivateRedis:
    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Worker:
    """`celery -A portal.tasks worker -B` in its own process group, so SIGKILL takes it all."""

    def __init__(self, env: dict, tmp: Path, name: str):
        self.log = tmp / f"{name}.log"
        self.proc = subprocess.Popen(
            [CELERY, "-A", "portal.tasks", "worker", "-B", "-s", str(tmp / f"{name}-beat"),
             "-c", "2", "-l", "info", "-n", f"{name}@%h", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,
            start_new_session=True)

    def wait_ready(self, timeout=40):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if b" ready." in self.log.read_bytes():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("worker did not start:\n" + self.log.read_text(errors="replace")[-3000:])

    def supervise(self, env, tmp, name):
        """What systemd's Restart=always does: a worker that exited is started again. (kombu
        5.7 can crash the worker on a race between an ack and a lost Redis connection,
        "Unrecoverable error: AttributeError ... 'hostname'"; the outbox and the sweep are what
        keep the notices, so a restarted worker must finish the job without doubles.)"""
        if self.proc.poll() is not None:
            return Worker(env, tmp, name)
        return self

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def rig(app, make_app, tmp_path):
    """A private Redis, a log-provider file, a producer app on the real broker, worker spawner."""
    redis_server = PrivateRedis(tmp_path).start()
    log = LogFile(tmp_path / "provider.log")
    settings = {
        "NOTIFY_LOG_FILE": str(log.path), "SMS_PROVIDER": "log", "NOTIFY_STUCK_SECONDS": "2",
        "NOTIFY_BATCH_SIZE": "20", "NOTIFY_RATE_LIMIT_SMS": "150",
    }
    env = {**os.environ, **settings, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": redis_server.url, "NOTIFY_SWEEP_INTERVAL": "1", "PYTHONPATH": str(ROOT)}
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    producer = make_app(REDIS_URL=redis_server.url, **settings,
                        CELERY={"task_always_eager": False, "broker_url": redis_server.url})
    workers: list[Worker] = []

    class Rig:
        redis = redis_server

        def worker(self, name):
            workers.append(Worker(env, tmp_path, name))
            return workers[-1]

        def queue(self, count, prefix):
            from portal.notify import service
            with producer.app_context():
                user_id = _resident(db.session)
                items = [{"template": "notify.channel_check", "context": {"reference": str(i)},
                          "idempotency_key": f"{prefix}-{i}", "user_id": user_id, "channel": "sms"}
                         for i in range(count)]
                assert service.send_many(db.session, items) == count
                db.session.commit()  # queued to the real broker after this commit

        def logs(self) -> str:
            return "".join(w.log.read_text(errors="replace") for w in workers)

        def counts(self):
            from portal.notify.models import Message
            with producer.app_context():
                rows = db.session.execute(select(Message.status, func.count()).group_by(Message.status)).all()
                db.session.remove()
                return dict(rows)

        def wait_all_delivered(self, count, timeout, supervise=False):
            deadline = time.time() + timeout
            while time.time() < deadline:
                if supervise:
                    for i, w in enumerate(list(workers)):
                        restarted = w.supervise(env, tmp_path, f"restarted-{i}-{time.time_ns()}")
                        if restarted is not w:
                            workers[i] = restarted
                if self.counts().get("delivered", 0) == count:
                    return
                time.sleep(0.3)
            raise AssertionError(f"not all delivered: {self.counts()}")

    try:
        yield Rig(), log
    finally:
        for w in workers:
            w.stop()
        redis_server.stop()


def _resident(session) -> int:
    from portal.accounts.models import User
    from portal.accounts.service import create_user
    user = session.scalar(select(User).where(User.email == "worker-test@example.kr"))
    if user is None:
        user = create_user(session, "worker-test@example.kr", None, password_hash="x", phone="010-0000-0000")
        session.commit()
    return user.id


@pytest.mark.timeout(90)
def test_killing_the_worker_mid_batch_loses_nothing_and_doubles_nothing(rig):
    rig, log = rig
    first = rig.worker("first").wait_ready()
    rig.queue(300, "kill")
    deadline = time.time() + 20
    while len(log.records()) < 60 and time.time() < deadline:  # part-way through the batches
        time.sleep(0.05)
    first.kill()
    sent_before_kill = len(log.records())
    print("delivered before the kill:", sent_before_kill, rig.counts())
    assert 0 < sent_before_kill < 300, "the kill should land mid-run"
    rig.worker("second").wait_ready()
    rig.wait_all_delivered(300, timeout=45)
    keys = Counter(log.references())
    assert len(keys) == 300 and set(keys.values()) == {1}
    # the workers' own logs name no notice by its idempotency key (nor does the provider's file)
    assert "Task notify.deliver_batch" in rig.logs()
    assert not re.search(r"kill-\d", rig.logs() + log.path.read_text())


@pytest.mark.timeout(90)
def test_restarting_redis_mid_run_loses_nothing_and_doubles_nothing(rig):
    rig, log = rig
    rig.worker("steady").wait_ready()
    rig.queue(300, "redis")
    deadline = time.time() + 20
    while len(log.records()) < 60 and time.time() < deadline:
        time.sleep(0.05)
    rig.redis.stop()  # the queued tasks are gone with it (no persistence)
    sent_during = len(log.records())
    print("delivered before redis went away:", sent_during, rig.counts())
    assert sent_during < 300, "the restart should land mid-run"
    time.sleep(1)
    rig.redis.start()
    rig.wait_all_delivered(300, timeout=60, supervise=True)
    keys = Counter(log.references())
    assert len(keys) == 300 and set(keys.values()) == {1}
