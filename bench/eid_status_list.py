"""Bench: the e-ID status list (draft-ietf-oauth-status-list) for 1,000,000 cards.

    .venv/bin/python bench/eid_status_list.py              # pure, then on PostgreSQL
    .venv/bin/python bench/eid_status_list.py --no-db      # pure only (no database needed)

For 0.1 %, 1 % and 10 % of the cards revoked or suspended (at random positions, half each):

1. pure     ``portal.eid.statuslist.sign``: pack 2 bits a card, zlib level 9, base64url, one
            Ed25519 signature (what a gate-kit or the API sends); the token's size in bytes;
2. service  ``service.status_list`` as the API calls it: one read of the non-valid cards from
            PostgreSQL (its own database portal_bench_status_list, 1,000,000 cards; the index
            "one live card a user" is dropped there so that they can share one user), the
            bytearray, zlib and the signature: the first call after the cards changed (zlib
            runs), then the median of a few calls while they do not (the process keeps the
            last compressed list; only the read and the signature run).

Prints one line a share. Nothing is asserted (the tests bound the size: tests/eid/test_status_list.py).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from portal.eid import statuslist  # noqa: E402
from portal.eid.models import STATUS_LIST_SIZE  # noqa: E402

CARDS = 1_000_000
SHARES = (0.001, 0.01, 0.1)
DB_NAME = "portal_bench_status_list"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
SECRET = "bench-secret-key-not-for-production"
URI = "https://portal.example.kr/api/v1/eid/status-list"


def changed(share: float, rng: random.Random) -> dict[int, int]:
    return {i: rng.choice((statuslist.INVALID, statuslist.SUSPENDED))
            for i in rng.sample(range(STATUS_LIST_SIZE), int(CARDS * share))}


def bench_pure(rounds: int) -> None:
    key = Ed25519PrivateKey.generate()
    rng = random.Random(15)
    for share in SHARES:
        statuses = changed(share, rng)
        times, token = [], ""
        for _ in range(rounds):
            start = time.perf_counter()
            token = statuslist.sign(STATUS_LIST_SIZE, statuses, key=key, kid="k1", uri=URI,
                                    iat=1_700_000_000, exp=1_700_086_400, ttl=300)
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        decoded = statuslist.decode(token, {"k1": key.public_key()})
        read = time.perf_counter() - start
        assert all(decoded.get(i) == s for i, s in list(statuses.items())[:1000])
        print(f"pure     {share:6.1%} of {CARDS:,} cards: {len(token):>9,} bytes "
              f"({len(token) / 1000:.1f} KB), build+sign {statistics.median(times) * 1000:6.1f} ms "
              f"(median of {rounds}), a gate's decode {read * 1000:.1f} ms")


def bench_service(rounds: int) -> None:
    from bench.common import fresh_database

    url = fresh_database(DB_NAME)
    os.environ.update({"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SECRET_KEY": SECRET})
    from sqlalchemy import text

    from portal import create_app
    from portal.accounts import service as accounts
    from portal.eid import service
    from portal.extensions import db

    app = create_app({"CELERY": {"task_always_eager": True, "broker_url": "memory://"}})
    with app.app_context():
        db.create_all()
        user = accounts.create_user(db.session, "r@bench.kr", None, roles=("resident",),
                                    verified=True, password_hash="x")
        db.session.commit()
        service.ensure_signing_key(db.session)
        start = time.perf_counter()
        db.session.execute(text("DROP INDEX uq_eid_card_live_user"))
        # 1,000,000 cards at distinct random positions, all active and valid for a year.
        db.session.execute(text("""
            INSERT INTO eid_card (public_id, user_id, number, status, issued_at, expires_at,
                                  status_changed_at, status_idx)
            SELECT 'bench-' || n, :user_id, lpad(n::text, 16, '0'), 'active', now(),
                   now() + interval '365 days', now(), idx
            FROM (SELECT row_number() OVER () AS n, idx
                  FROM (SELECT idx FROM generate_series(0, :size - 1) AS idx
                        ORDER BY random() LIMIT :cards) AS p) AS q
        """), {"user_id": user.id, "size": STATUS_LIST_SIZE, "cards": CARDS})
        db.session.commit()
        db.session.execute(text("ANALYZE eid_card"))
        db.session.commit()
        print(f"service  {CARDS:,} cards inserted in {time.perf_counter() - start:.1f} s")
        service.status_list(db.session)  # the signer decrypted once, as in a running process
        db.session.commit()
        for share in SHARES:
            db.session.execute(text("UPDATE eid_card SET status = 'active' "
                                    "WHERE status <> 'active'"))
            db.session.execute(text("""
                UPDATE eid_card SET status = CASE WHEN random() < 0.5 THEN 'revoked'
                                                  ELSE 'suspended' END
                WHERE id IN (SELECT id FROM eid_card ORDER BY random() LIMIT :n)
            """), {"n": int(CARDS * share)})
            db.session.commit()
            db.session.execute(text("ANALYZE eid_card"))  # as autovacuum would, after a change
            db.session.commit()
            times, token = [], ""
            for _ in range(rounds + 1):
                start = time.perf_counter()
                token, _etag = service.status_list(db.session)
                times.append(time.perf_counter() - start)
                db.session.commit()
            print(f"service  {share:6.1%} of {CARDS:,} cards: {len(token):>9,} bytes, "
                  f"read+build+sign {times[0] * 1000:6.1f} ms after a change (zlib), "
                  f"{statistics.median(times[1:]) * 1000:6.1f} ms while unchanged "
                  f"(median of {rounds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-db", action="store_true", help="the pure figures only")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bench_pure(args.rounds)
    if not args.no_db:
        bench_service(args.rounds)


if __name__ == "__main__":
    main()
