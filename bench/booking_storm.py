"""Bench: a booking storm on one slot, against gunicorn on PostgreSQL.

    .venv/bin/python bench/booking_storm.py                       # 500 attempts on capacity 100
    .venv/bin/python bench/booking_storm.py --attempts 200 --capacity 40 --concurrency 32

Its own database (portal_bench_tourism, dropped and created), gunicorn with several workers and
threads on 127.0.0.1, then `attempts` concurrent POST /api/v1/tourism/bookings of one seat each
(a bounded pool of client threads, all released at once). Prints the seats held (must equal the
capacity), the 409 sold_out answers, server errors (must be 0), other answers and the seconds, and
checks the database agrees (slot.taken == held bookings == capacity). Exit status 1 if not.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.common import fresh_database, gunicorn  # noqa: E402

DB_NAME = "portal_bench_tourism"
SECRET = "bench-secret-key-not-for-production"


def prepare(db_url: str, capacity: int) -> int:
    """Schema and one listing with one slot of `capacity`; returns the slot id."""
    from portal import create_app
    from portal.extensions import db
    from portal.types import utcnow
    from tourism.models import Listing, Slot

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
                      "SECRET_KEY": SECRET, "REDIS_URL": None})
    with app.app_context():
        db.create_all()
        listing = Listing(kind="event", area="Expo", name={"ko": "빅오쇼", "en": "Big-O Show", "zh": "Big-O表演"},
                          description={}, address={}, policy={}, search_text="big-o show",
                          free_cancel_hours=24, late_refund_percent=0, active=True)
        db.session.add(listing)
        db.session.flush()
        slot = Slot(listing_id=listing.id, starts_at=utcnow() + timedelta(days=3), capacity=capacity,
                    price=10000, taken=0)
        db.session.add(slot)
        db.session.commit()
        slot_id = slot.id
        db.engine.dispose()
    return slot_id


def verify(db_url: str, slot_id: int) -> tuple[int, int]:
    """(slot.taken, held bookings) as the database sees them."""
    from sqlalchemy import create_engine

    from tourism.models import Booking, Slot

    engine = create_engine(db_url)
    with engine.connect() as conn:
        taken = conn.execute(select(Slot.taken).where(Slot.id == slot_id)).scalar_one()
        held = conn.execute(select(func.count()).select_from(Booking)
                            .where(Booking.slot_id == slot_id, Booking.status == "held")).scalar_one()
    engine.dispose()
    return taken, held


def storm(url: str, slot_id: int, attempts: int, concurrency: int) -> tuple[Counter, Counter, float]:
    statuses: Counter = Counter()
    codes: Counter = Counter()
    lock = threading.Lock()
    start_gate = threading.Event()
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return local.s

    def attempt(i: int) -> None:
        start_gate.wait()
        body = {"slot_id": slot_id, "quantity": 1, "locale": "en",
                "guest": {"name": f"Guest {i}", "email": f"guest{i}@example.com"}}
        try:
            resp = session().post(url + "/api/v1/tourism/bookings", json=body, timeout=60)
            status = resp.status_code
            code = (resp.json().get("error") or {}).get("code") if status >= 400 else "held"
        except requests.RequestException as exc:
            status, code = 0, type(exc).__name__
        with lock:
            statuses[status] += 1
            codes[code] += 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(attempt, i) for i in range(attempts)]
        began = time.perf_counter()
        start_gate.set()
        for f in futures:
            f.result()
        seconds = time.perf_counter() - began
    return statuses, codes, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=500)
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=64, help="client threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    args = parser.parse_args()

    db_url = fresh_database(DB_NAME)
    slot_id = prepare(db_url, args.capacity)
    # One client address books for everybody here: the per-address and per-email hold limits
    # (Trust I) are raised for the bench, as the issue allows; nothing else is relaxed.
    env = {"DATABASE_URL": db_url, "SECRET_KEY": SECRET, "REDIS_URL": "", "PORTAL_ENV": "bench",
           "BOOKING_MAX_HELD_SEATS_PER_CLIENT": "1000000", "BOOKING_MAX_HELD_SEATS_PER_EMAIL": "1000000"}
    with gunicorn(env=env, workers=args.workers, threads=args.threads, worker_class="gthread") as url:
        requests.get(url + "/api/v1/tourism/listings", timeout=30)  # warm every import path once
        statuses, codes, seconds = storm(url, slot_id, args.attempts, args.concurrency)
    taken, held_rows = verify(db_url, slot_id)

    held = statuses.get(201, 0)
    sold_out = codes.get("sold_out", 0)
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    other = args.attempts - held - statuses.get(409, 0) - server_errors
    print(f"booking storm: {args.attempts} attempts of 1 seat on capacity {args.capacity}, "
          f"{args.concurrency} client threads, gunicorn {args.workers} workers x {args.threads} threads, "
          f"PostgreSQL database {DB_NAME}")
    print(f"held seats (201)     {held}")
    print(f"sold out (409)       {sold_out}")
    print(f"server errors (5xx)  {server_errors}")
    print(f"other answers        {other}  {dict(statuses)}")
    print(f"seconds              {seconds:.2f}  ({args.attempts / seconds:.0f} attempts/s)")
    print(f"database: slot.taken = {taken}, held bookings = {held_rows}")
    ok = held == args.capacity == taken == held_rows and server_errors == 0 and other == 0
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
