"""Notices delivered per second through a real Celery worker, real Redis and the `log` provider,
on PostgreSQL.

    .venv/bin/python bench/notify_throughput.py [--n 50000] [--concurrency 2] [--batch 200]
                                                [--provider log|http] [--web-workers 4] [--posters 8]

What it does:
1. creates a fresh database `portal_bench_notify` (dropped first if it exists) on the server of
   DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres) and its tables;
2. starts a private redis-server on a free port (or uses --redis-url);
3. starts ONE `celery -A portal.tasks worker` process (prefork, --concurrency children), SMS to the
   log provider, no SMS rate limit;
4. queues N SMS notices to 1,000 residents with `notify.send_many` (one transaction), and waits
   until every row is `delivered`;
5. prints the time to write and queue, the time to deliver, notices/s, and checks the provider
   file holds each notice's reference (the keyed hash of its idempotency key) exactly once.

``--provider log`` is the default (steps above). ``--provider http`` (issue 16, Figures) runs the
HTTP provider contract with receipts instead:
- a fake provider in the bench process (:mod:`bench.fake_provider`: a threaded HTTP server)
  accepts each text with 202 and posts its receipt (``delivered``) back to the portal at the same
  rate from ``--posters`` threads, signed with ``SMS_PROVIDER_SECRET``; an event answered 409
  (hand-over not recorded yet) or 404 is posted again a moment later;
- the portal's events endpoint is served by gunicorn with the README's web settings
  (``gunicorn --workers 4 'portal:create_app()'``, sync workers; ``--web-workers``);
- the worker is the same single Celery worker; a notice counts only once ``delivered`` in the
  database, which only a receipt does (until then it is ``sent``);
- it checks in the database that every notice is delivered, each once (one stored receipt
  per notice), that the provider got each reference once, and that no event was lost (events
  answered 204 = receipts stored = notices), and prints event posts handled per second.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCH_DB = "portal_bench_notify"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_database(server_url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from portal.config import database_url

    admin_url = make_url(database_url(server_url, ""))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                     {"n": BENCH_DB})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}"'))
        conn.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
    admin.dispose()
    return admin_url.set(database=BENCH_DB).render_as_string(hide_password=False)


def receipt_check(session, n: int) -> dict:
    """What the database says of the run: notices per status, receipts stored per notice."""
    from sqlalchemy import func, select

    from portal.notify.models import Message, ProviderEvent

    statuses = dict(session.execute(select(Message.status, func.count()).group_by(Message.status)).all())
    per_notice = select(ProviderEvent.message_id, func.count().label("k")).where(
        ProviderEvent.event == "delivered").group_by(ProviderEvent.message_id).subquery()
    stored = session.scalar(select(func.count()).select_from(ProviderEvent)
                            .where(ProviderEvent.event == "delivered"))
    with_receipt = session.scalar(select(func.count()).select_from(per_notice))
    max_per_notice = session.scalar(select(func.max(per_notice.c.k))) or 0
    delivered_without = session.scalar(
        select(func.count()).select_from(Message).where(
            Message.status == "delivered", ~Message.id.in_(select(per_notice.c.message_id))))
    references = dict(session.execute(select(Message.reference, Message.id)).all())
    return {"statuses": statuses, "stored": stored, "with_receipt": with_receipt,
            "max_per_notice": max_per_notice, "delivered_without": delivered_without,
            "references": references, "n": n}


def report_http(args, provider, receipts: dict, t0, t_written, t_queued, t_done, worker_span) -> int:
    n = args.n
    time.sleep(0.5)  # the last 204s are counted by the poster threads right after the commit
    refs = receipts["references"]
    events_ok = sum(provider.events.values())
    load = os.getloadavg()
    print(f"notices: {n}  worker: 1 process, prefork concurrency {args.concurrency}, batch {args.batch}, "
          f"HTTP provider (fake, in the bench process, {args.posters} receipt posters), events served by "
          f"gunicorn --workers {args.web_workers} (sync), PostgreSQL + Redis")
    print(f"send_many (write {n} outbox rows): {t_written - t0:.2f} s")
    print(f"commit + publish {-(-n // args.batch)} batch tasks: {t_queued - t_written:.2f} s")
    print(f"delivered by receipt, first to last notice (portal clock): {worker_span:.2f} s "
          f"-> {n / worker_span:,.0f} notices/s")
    print(f"committed to all delivered (wall clock, 0.2 s polling): {t_done - t_written:.2f} s "
          f"-> {n / (t_done - t_written):,.0f} notices/s")
    print(f"end to end (send_many start to all delivered): {t_done - t0:.2f} s "
          f"-> {n / (t_done - t0):,.0f} notices/s")
    span = (provider.last_post - provider.first_post) if provider.posts > 1 else 0.0
    print(f"event posts: {provider.posts} handled ({dict(sorted(provider.statuses.items()))} by answer) "
          f"in {span:.2f} s -> {provider.posts / span if span else 0:,.0f} posts/s; "
          f"204s: {events_ok} -> {events_ok / span if span else 0:,.0f} receipts/s")
    print(f"provider: {sum(provider.requests.values())} requests, {len(provider.requests)} distinct "
          f"Idempotency-Keys, max per key {max(provider.requests.values(), default=0)}")
    print(f"database: statuses {receipts['statuses']}; receipts stored {receipts['stored']} for "
          f"{receipts['with_receipt']} notices, max per notice {receipts['max_per_notice']}, "
          f"delivered without a receipt {receipts['delivered_without']}")
    print(f"load average (1, 5, 15 min) at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"on {os.cpu_count()} CPUs")
    problems = []
    if receipts["statuses"] != {"delivered": n}:
        problems.append("not every notice is delivered")
    if receipts["stored"] != n or receipts["with_receipt"] != n or receipts["max_per_notice"] != 1:
        problems.append("not exactly one stored receipt per notice")
    if receipts["delivered_without"]:
        problems.append("a notice delivered without a receipt")
    if set(provider.references) != set(refs) or max(provider.references.values(), default=0) != 1:
        problems.append("the provider did not get each reference exactly once")
    if events_ok != n or set(provider.events) != set(refs) or max(provider.events.values(), default=0) != 1:
        problems.append("events lost or answered 204 twice")
    print("check: " + ("every notice delivered once, by its receipt; no notice twice; no event lost"
                       if not problems else "FAILED: " + "; ".join(problems)))
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50_000, help="notices to deliver")
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool size (one worker process)")
    parser.add_argument("--batch", type=int, default=200, help="NOTIFY_BATCH_SIZE: notices per task")
    parser.add_argument("--redis-url", default=None, help="use this Redis instead of a private one")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--provider", choices=("log", "http"), default="log",
                        help="log: the log provider (default); http: the HTTP provider contract with receipts")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers serving the events (http)")
    parser.add_argument("--posters", type=int, default=8, help="fake provider threads posting receipts (http)")
    args = parser.parse_args()

    server = os.environ.get("DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    db_url = make_database(server)
    tmp = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    log_file = tmp / "provider.log"

    redis_proc = None
    redis_url = args.redis_url
    if redis_url is None:
        port = free_port()
        redis_proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        redis_url = f"redis://127.0.0.1:{port}/0"

    settings = {"NOTIFY_LOG_FILE": str(log_file), "SMS_PROVIDER": "log", "NOTIFY_RATE_LIMIT_SMS": "0",
                "NOTIFY_BATCH_SIZE": str(args.batch),
                "NOTIFY_QUIET_START": "off"}  # texts at any hour: the figure is throughput
    provider = None
    web_port = free_port()
    if args.provider == "http":
        from bench.fake_provider import FakeProvider

        provider = FakeProvider(f"http://127.0.0.1:{web_port}", secret="bench-provider-secret",  # noqa: S106
                                posters=args.posters)
        settings.update(provider.settings("SMS"))
    env = {**os.environ, **settings, "DATABASE_URL": db_url, "REDIS_URL": redis_url,
           "NOTIFY_SWEEP_INTERVAL": "60", "PYTHONPATH": str(ROOT)}
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    os.environ.update({**settings, "DATABASE_URL": db_url, "REDIS_URL": redis_url})

    from sqlalchemy import func, insert, select

    from portal import create_app
    from portal.accounts.models import User
    from portal.extensions import db
    from portal.notify import service
    from portal.notify.models import Message

    app = create_app({"SECRET_KEY": "bench"})
    worker = web = None
    try:
        with app.app_context():
            db.create_all()
            db.session.execute(insert(User), [
                {"email": f"bench-{i}@example.kr", "name": f"bench {i}", "phone": f"010-{i:04d}-0000",
                 "locale": ("ko", "en", "zh")[i % 3]} for i in range(1000)])
            db.session.commit()
            user_ids = list(db.session.scalars(select(User.id)))

        if provider is not None:
            provider.start()
            gunicorn = str(Path(sys.executable).with_name("gunicorn"))
            web_log = tmp / "web.log"
            web = subprocess.Popen(
                [gunicorn, "--workers", str(args.web_workers), "--bind", f"127.0.0.1:{web_port}",
                 "portal:create_app()"],
                cwd=ROOT, env={**env, "SECRET_KEY": "bench-web"}, stdout=open(web_log, "wb"),
                stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.time() + 60
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", web_port), timeout=1):
                        break
                except OSError:
                    if web.poll() is not None or time.time() > deadline:
                        print(web_log.read_text(errors="replace")[-3000:])
                        return 1
                    time.sleep(0.1)

        celery = str(Path(sys.executable).with_name("celery"))
        worker_log = tmp / "worker.log"
        worker = subprocess.Popen(
            [celery, "-A", "portal.tasks", "worker", "-c", str(args.concurrency), "-l", "info",
             "--without-gossip", "--without-mingle", "-n", "bench@%h"],
            cwd=ROOT, env=env, stdout=open(worker_log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while b" ready." not in worker_log.read_bytes():
            if worker.poll() is not None or time.time() > deadline:
                print(worker_log.read_text(errors="replace")[-3000:])
                return 1
            time.sleep(0.1)

        items = [{"template": "notify.channel_check", "context": {"reference": str(i)},
                  "idempotency_key": f"bench-{i}", "user_id": user_ids[i % len(user_ids)], "channel": "sms"}
                 for i in range(args.n)]
        with app.app_context():
            t0 = time.perf_counter()
            new = service.send_many(db.session, items)
            t_written = time.perf_counter()
            db.session.commit()  # the tasks are published in this commit's after-commit hook
            t_queued = time.perf_counter()
            assert new == args.n
            delivered = 0
            while delivered < args.n:
                if time.perf_counter() - t0 > args.timeout:
                    print(f"timeout: {delivered} of {args.n} delivered")
                    return 1
                time.sleep(0.2)
                delivered = db.session.scalar(
                    select(func.count()).select_from(Message).where(Message.status == "delivered"))
                db.session.commit()
            t_done = time.perf_counter()
            first_delivery = db.session.scalar(select(func.min(Message.delivered_at)))
            last_delivery = db.session.scalar(select(func.max(Message.delivered_at)))
            if provider is not None:
                receipts = receipt_check(db.session, args.n)

        if provider is not None:
            return report_http(args, provider, receipts, t0, t_written, t_queued, t_done,
                               (last_delivery - first_delivery).total_seconds())
        keys = Counter()
        with open(log_file, encoding="utf-8") as fh:
            for line in fh:
                keys[line.split('"reference": "', 1)[1].split('"', 1)[0]] += 1
        worker_span = (last_delivery - first_delivery).total_seconds()
        print(f"notices: {args.n}  worker: 1 process, prefork concurrency {args.concurrency}, "
              f"batch {args.batch}, log provider, PostgreSQL + Redis")
        print(f"send_many (write {args.n} outbox rows): {t_written - t0:.2f} s")
        print(f"commit + publish {-(-args.n // args.batch)} batch tasks: {t_queued - t_written:.2f} s")
        print(f"delivered, first to last notice (worker clock): {worker_span:.2f} s "
              f"-> {args.n / worker_span:,.0f} notices/s")
        print(f"committed to all delivered (wall clock, 0.2 s polling): {t_done - t_written:.2f} s "
              f"-> {args.n / (t_done - t_written):,.0f} notices/s")
        print(f"end to end (send_many start to all delivered): {t_done - t0:.2f} s "
              f"-> {args.n / (t_done - t0):,.0f} notices/s")
        print(f"provider file: {sum(keys.values())} lines, {len(keys)} distinct keys, "
              f"max per key {max(keys.values()) if keys else 0}")
        return 0
    finally:
        for proc in (worker, web):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        if provider is not None:
            provider.stop()
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
