"""Bench: the welfare eligibility scan over N synthetic residents x 20 programmes on PostgreSQL.

    .venv/bin/python bench/welfare_scan.py                   # 1,000,000 residents (the target)
    .venv/bin/python bench/welfare_scan.py --profiles 100000 # a quicker run

Builds its own database (portal_bench_welfare, dropped and created again), loads the users and
their welfare profiles set-based in PostgreSQL (INSERT ... SELECT FROM generate_series), then
times `welfare.service.scan`: a first scan in which every eligible resident is new (notices
and outbox rows are written), and a second scan that must find nothing new. Messages are
queued to an in-process broker (memory://) so that no worker delivers them during the timing.
Prints seconds, rows written and peak memory (ru_maxrss) of this process.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from bench.common import fresh_database  # noqa: E402

TODAY = date(2026, 11, 23)
DISTRICTS = ["seongdong", "jung", "gangnam", "mapo", "jongno", "songpa", "nowon", "eunpyeong"]  # portal.places codes


def programmes() -> list[dict]:
    """Twenty programmes, from narrow (a few thousand per million) to broad (a few percent)."""
    rules = [
        {"all": [{"age": {"min": 65}}, {"lives_alone": True}, {"median_income_pct": {"max": 50}},
                 {"district": {"in": ["seongdong"]}}]},
        {"all": [{"has_children_under": 7}, {"median_income_pct": {"max": 80}}]},
        {"disability_grade": {"max": 3}},
        {"all": [{"age": {"min": 80}}, {"median_income_pct": {"max": 70}}]},
        {"all": [{"household_size": {"min": 4}}, {"median_income_pct": {"max": 40}}]},
        {"all": [{"age": {"min": 70}}, {"district": {"in": ["jung", "jongno"]}}, {"lives_alone": True}]},
        {"all": [{"age": {"min": 19, "max": 34}}, {"median_income_pct": {"max": 30}}, {"lives_alone": True}]},
        {"all": [{"disability_grade": True}, {"age": {"min": 65}}]},
        {"all": [{"has_children_under": 2}, {"district": {"in": ["mapo", "eunpyeong"]}}]},
        {"all": [{"median_income_pct": {"max": 10}}, {"household_size": {"min": 2}}]},
        {"any": [{"all": [{"age": {"min": 75}}, {"lives_alone": True}]}, {"disability_grade": {"max": 1}}]},
        {"all": [{"age": {"min": 60, "max": 64}}, {"median_income_pct": {"max": 25}}]},
        {"all": [{"not": {"lives_alone": True}}, {"has_children_under": 13},
                 {"household_size": {"min": 5}}]},
        {"all": [{"district": {"in": ["nowon"]}}, {"median_income_pct": {"max": 20}}]},
        {"all": [{"age": {"min": 85}}]},
        {"all": [{"disability_grade": {"min": 4}}, {"median_income_pct": {"max": 50}}]},
        {"all": [{"age": {"max": 24}}, {"not": {"district": {"in": ["gangnam", "songpa"]}}},
                 {"median_income_pct": {"max": 15}}]},
        {"all": [{"has_children_under": 18}, {"lives_alone": False}, {"median_income_pct": {"max": 5}}]},
        {"all": [{"age": {"min": 65}}, {"household_size": {"min": 3}}, {"median_income_pct": {"max": 30}}]},
        {"all": [{"district": {"in": ["eunpyeong", "jongno"]}}, {"age": {"min": 90}}]},
    ]
    out = []
    for i, rule in enumerate(rules, 1):
        out.append({"code": f"bench-{i:02d}", "name": {"ko": f"벤치 사업 {i}", "en": f"Bench programme {i}",
                                                         "zh": f"基准项目 {i}"},
                    "how_to_apply": {"ko": "주민센터 방문", "en": "Visit the community centre",
                                     "zh": "前往居民中心"},
                    "channels": ["voice", "app"] if i % 3 == 1 else [], "callback_phone": "02-120",
                    "rules": rule})
    return out


LOAD_USERS = """
INSERT INTO "user" (email, name, locale, active, verified_at, created_at)
SELECT 'r' || g || '@bench.kr', 'R' || g, (ARRAY['ko','en','zh'])[1 + g % 3], true,
       CASE WHEN g % 20 <> 0 THEN now() END, now()
FROM generate_series(1, :n) AS g
"""

# household_size skews small; a lone household lives alone 80% of the time; 5% unknown income;
# 8% have a registered disability; 30% have children; 2% opted out of notices.
LOAD_PROFILES = """
INSERT INTO welfare_profile (user_id, birth_date, median_income_pct, household_size, lives_alone,
                             disability_grade, youngest_child_birth_date, district, notices_opt_out,
                             source, updated_at)
SELECT id, birth, income, hs, hs = 1 AND random() < 0.8,
       CASE WHEN random() < 0.08 THEN 1 + floor(random() * 6)::int END,
       CASE WHEN hs > 1 AND random() < 0.5 THEN CAST(:today AS date) - floor(random() * 18 * 365)::int END,
       (ARRAY[{districts}])[1 + floor(random() * {nd})::int],
       random() < 0.02, 'import', now()
FROM (SELECT id,
             CAST(:today AS date) - floor(random() * 95 * 365.25)::int AS birth,
             CASE WHEN random() < 0.05 THEN NULL ELSE floor(random() * 101)::int END AS income,
             1 + floor(power(random(), 2) * 6)::int AS hs
      FROM "user") AS u
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--database", default="portal_bench_welfare")
    args = parser.parse_args()

    os.environ.pop("REDIS_URL", None)
    url = fresh_database(args.database)
    os.environ["DATABASE_URL"] = url  # engine options follow the database kind
    from portal import create_app
    from portal.extensions import db
    from welfare import service
    from welfare.models import Programme

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None,
                      "CELERY": {"task_always_eager": False, "broker_url": "memory://",
                                 "result_backend": None}})
    with app.app_context():
        db.create_all()
        t0 = time.perf_counter()
        db.session.execute(text(LOAD_USERS), {"n": args.profiles})
        districts = ", ".join(f"'{d}'" for d in DISTRICTS)
        db.session.execute(text(LOAD_PROFILES.format(districts=districts, nd=len(DISTRICTS))),
                           {"today": TODAY})
        for data in programmes():
            db.session.add(Programme(**data))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        load_s = time.perf_counter() - t0
        print(f"loaded {args.profiles:,} users + profiles and 20 programmes in {load_s:.1f} s", flush=True)

        windows = len(service.scan_plan(db.session, args.batch_size))
        done = [0]

        def progress(n):
            done[0] += n
            if done[0] % max(1, windows // 10) == 0:
                print(f"  {done[0]}/{windows} windows", file=sys.stderr, flush=True)

        # Measure how much of the scan is the outbox (portal.notify.service: send_select, which
        # writes the messages in SQL, or send_many for a producer that hands over Python rows).
        from portal.notify import service as notify
        spent = [0.0]

        def timed(original):
            def wrapper(*args, **kwargs):
                t = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    spent[0] += time.perf_counter() - t
            return wrapper

        notify.send_many, notify.send_select = timed(notify.send_many), timed(notify.send_select)
        t0 = time.perf_counter()
        first = service.scan(db.session, today=TODAY, batch_size=args.batch_size, progress=progress)
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = service.scan(db.session, today=TODAY, batch_size=args.batch_size)
        second_s = time.perf_counter() - t0

        notices = db.session.scalar(text("SELECT count(*) FROM welfare_notice"))
        distinct = db.session.scalar(text("SELECT count(*) FROM (SELECT DISTINCT programme_id, user_id "
                                          "FROM welfare_notice) AS d"))
        messages = db.session.scalar(text("SELECT count(*) FROM notify_message "
                                          "WHERE idempotency_key LIKE 'welfare:%'"))
        assert notices == distinct == messages == first.new_notices, (notices, distinct, messages)
        assert second.new_notices == 0
    print(f"profiles:          {args.profiles:,} x 20 programmes (batch {args.batch_size:,} user ids, "
          f"{first.batches} statements)")
    print(f"first scan:        {first_s:.1f} s  ({first.new_notices:,} notices + outbox messages written)")
    print(f"  of which the outbox (notify.send_select): {spent[0]:.1f} s; welfare's own SQL and "
          f"queueing: {first_s - spent[0]:.1f} s")
    print(f"second scan:       {second_s:.1f} s  (0 new, as it must be)")
    print(f"peak memory (RSS): {peak_mb():.0f} MB")
    print("per programme:     " + ", ".join(f"{k}={v}" for k, v in first.by_programme.items()))


if __name__ == "__main__":
    main()
