"""Bench: proposals under load, beside a bare Flask "hello" on the same gunicorn settings.

    .venv/bin/python bench/proposals_load.py                        # 10,000 proposals, 1,000,000 endorsements
    .venv/bin/python bench/proposals_load.py --endorsements 100000 --seconds 5   # a quicker run

Builds its own PostgreSQL database (portal_bench_proposals, dropped and created again) and
seeds it set-based: residents (INSERT ... SELECT generate_series), 10,000 proposals, and
1,000,000 endorsements with a long-tailed spread (a few proposals with thousands, most with
tens), one INSERT ... SELECT joining a per-proposal count table to the residents; the
denormalised endorsement_count is set from the same counts and checked against COUNT(*).

Then it serves the portal (`portal:create_app()`) and `bench.hello:app` with the same gunicorn
settings, drives each with wrk on 127.0.0.1, and prints req/s, p50 latency and the ratio to
hello for:
  * the portal's home page (the shell's own floor: base layout, session, locale),
  * the list page (HTML /proposals/, most endorsed first; and newest first), served to
    anonymous visitors through the few-second micro-cache, and once more with it off,
  * the list API (/api/v1/proposals?sort=popular) and a search over title and body (ILIKE),
  * endorsing: POST /api/v1/proposals/<id>/endorsement by --tokens residents holding bearer
    tokens, each request a random (resident, open proposal) pair, so nearly every request is a
    new endorsement (201) rather than a repeat (200).
After the endorse run it checks that the counters still equal COUNT(*) of endorsement rows.
The target: the list page at least a quarter of hello's req/s.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from bench.common import fresh_database, gunicorn, wrk  # noqa: E402

DB_NAME = "portal_bench_proposals"
CATEGORIES = ["safety", "transport", "environment", "welfare", "culture", "education", "administration",
              "other"]
DISTRICTS = ["성동구", "중구", "강남구", "마포구", "종로구"]
WORDS = ["안전한", "통학로", "버스정류장", "스마트", "쉼터", "공원", "조명", "주차", "어르신", "교육", "도서관",
         "산책로", "자전거", "분리수거", "축제", "횡단보도", "반려견", "놀이터", "민원", "주민센터"]


def counts(n_proposals: int, total: int, cap: int, rng: random.Random) -> list[int]:
    """A long-tailed endorsement count per proposal that sums exactly to `total` (each <= cap)."""
    weights = [rng.paretovariate(1.3) for _ in range(n_proposals)]
    scale = total / sum(weights)
    out = [min(cap, int(w * scale)) for w in weights]
    missing = total - sum(out)
    while missing > 0:
        i = rng.randrange(n_proposals)
        room = min(cap - out[i], missing, 50)
        out[i] += room
        missing -= room
    return out


def seed(url: str, args, rng: random.Random) -> tuple[list[str], list[int]]:
    os.environ["DATABASE_URL"] = url
    from portal import create_app
    from portal.accounts import service as accounts
    from portal.accounts.models import User
    from portal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    residents, loaders = args.residents, args.tokens
    with app.app_context():
        db.create_all()
        digest = accounts.hash_password("bench-pass-2026")
        t0 = time.time()
        with db.engine.begin() as conn:
            conn.execute(text(
                'INSERT INTO "user" (email, password_hash, name, locale, active, verified_at, verified_by, '
                "email_confirmed_at, created_at) "
                "SELECT 'bench' || g || '@bench.kr', :h, '주민' || g, 'ko', true, now(), 'staff', now(), now() "
                "FROM generate_series(0, :n) g ORDER BY g"), {"h": digest, "n": residents + loaders})
            conn.execute(text("INSERT INTO user_role (user_id, role) SELECT id, 'resident' FROM \"user\""))
            first = conn.execute(text('SELECT min(id) FROM "user"')).scalar()
            author = first  # bench0 writes every proposal; nobody endorses their own
            conn.execute(text(
                "INSERT INTO proposals (author_id, title, body, category, district, status, endorsement_count, "
                "endorse_until, created_at, status_changed_at) "
                "SELECT :author, (CAST(:words AS text[]))[1 + g % 20] || ' ' || (CAST(:words AS text[]))[1 + (g / 20) % 20] || ' 제안 ' || g, "
                "repeat('주민 생활을 더 안전하고 편리하게 만드는 제안입니다. ', 8) || g, "
                "(CAST(:cats AS text[]))[1 + g % 8], (CAST(:districts AS text[]))[1 + g % 5], "
                "CASE WHEN g % 10 < 7 THEN 'open' WHEN g % 10 = 7 THEN 'under_review' "
                "     WHEN g % 10 = 8 THEN 'accepted' ELSE 'closed' END, 0, "
                "now() + (g % 30 + 1) * interval '1 day', now() - g * interval '1 minute', now() "
                "FROM generate_series(1, :n) g ORDER BY g"),
                {"author": author, "words": WORDS, "cats": CATEGORIES, "districts": DISTRICTS,
                 "n": args.proposals})
            ids = [r[0] for r in conn.execute(text("SELECT id FROM proposals ORDER BY id"))]
            per = counts(len(ids), args.endorsements, residents, rng)
            conn.execute(text("CREATE TEMP TABLE bench_counts (pid int PRIMARY KEY, n int) ON COMMIT DROP"))
            conn.execute(text("INSERT INTO bench_counts (pid, n) SELECT * FROM unnest(CAST(:p AS int[]), CAST(:n AS int[]))"),
                         {"p": ids, "n": per})
            # residents are ids first+1 .. first+residents; the load users come after them
            conn.execute(text(
                "INSERT INTO proposal_endorsements (proposal_id, user_id, created_at) "
                "SELECT c.pid, u.id, now() FROM bench_counts c "
                'JOIN "user" u ON u.id BETWEEN :lo AND :lo + c.n - 1 ORDER BY c.pid'), {"lo": first + 1})
            conn.execute(text("UPDATE proposals p SET endorsement_count = c.n FROM bench_counts c "
                              "WHERE p.id = c.pid"))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        print(f"seeded {len(ids):,} proposals, {sum(per):,} endorsements, {residents + loaders + 1:,} "
              f"residents in {time.time() - t0:.1f}s (max {max(per):,} on one proposal)")
        check(db)
        load_users = db.session.scalars(db.select(User).where(User.id > first + residents).order_by(User.id)).all()
        tokens = [accounts.create_token(db.session, u, "bench")[0] for u in load_users]
        open_ids = [r[0] for r in db.session.execute(text("SELECT id FROM proposals WHERE status = 'open'"))]
    return tokens, open_ids


def check(db) -> None:
    with db.engine.connect() as conn:
        total, rows = conn.execute(text(
            "SELECT (SELECT sum(endorsement_count) FROM proposals), (SELECT count(*) FROM proposal_endorsements)"
        )).one()
        bad = conn.execute(text(
            "SELECT count(*) FROM proposals p WHERE endorsement_count <> "
            "(SELECT count(*) FROM proposal_endorsements e WHERE e.proposal_id = p.id)")).scalar()
    print(f"check: counters sum {total:,}, endorsement rows {rows:,}, proposals whose counter differs: {bad}")


LUA = """
local tokens = {%(tokens)s}
local ids = {%(ids)s}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end
function init(args)
  math.randomseed(os.time() * 1000 + seed)
end
function request()
  local t = tokens[math.random(#tokens)]
  local id = ids[math.random(#ids)]
  return wrk.format("POST", "/api/v1/proposals/" .. id .. "/endorsement",
                    {["Authorization"] = "Bearer " .. t, ["Content-Length"] = "0"}, nil)
end
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--endorsements", type=int, default=1_000_000)
    parser.add_argument("--residents", type=int, default=2_000, help="residents who endorsed in the seed")
    parser.add_argument("--tokens", type=int, default=1_000, help="residents who endorse under load")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker-class", default="sync")
    args = parser.parse_args()
    if args.endorsements > args.proposals * args.residents:
        parser.error("more endorsements than (proposal, resident) pairs")

    rng = random.Random(4)
    url = fresh_database(DB_NAME)
    tokens, open_ids = seed(url, args, rng)
    env = {"DATABASE_URL": url, "REDIS_URL": "", "SECRET_KEY": "bench-secret",
           "PROPOSAL_ENDORSEMENT_THRESHOLD": str(10**9)}  # no proposal leaves `open` mid-run
    serve = {"workers": args.workers, "threads": args.threads, "worker_class": args.worker_class}
    load = {"seconds": args.seconds, "connections": args.connections}
    print(f"gunicorn: {args.workers} workers x {args.threads} threads ({args.worker_class}); "
          f"wrk: {args.connections} connections, {args.seconds}s each; {os.cpu_count()} cpus")

    results = {}
    with gunicorn("bench.hello:app", env=env, ready_path="/", **serve) as hello:
        results["hello"] = wrk(hello + "/", **load)
    with gunicorn("portal:create_app()", env=env, **serve) as portal:
        for name, path in [("portal home (floor)", "/"),
                           ("list page (popular)", "/proposals/"),
                           ("list page (newest)", "/proposals/?sort=newest"),
                           ("list API (popular)", "/api/v1/proposals?sort=popular"),
                           ("search API (q=통학로)", "/api/v1/proposals?q=%ED%86%B5%ED%95%99%EB%A1%9C")]:
            wrk(portal + path, seconds=2, connections=4)  # warm the workers
            results[name] = wrk(portal + path, **load)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
            fh.write(LUA % {"tokens": ",".join(f'"{t}"' for t in tokens),
                            "ids": ",".join(str(i) for i in open_ids)})
            script = fh.name
        try:
            results["endorse (POST)"] = wrk(portal + "/", script=script, **load)
        finally:
            os.unlink(script)

    # The same list page with the micro-cache off: every request queries PostgreSQL and renders.
    with gunicorn("portal:create_app()", env={**env, "PROPOSAL_LIST_CACHE_SECONDS": "0"}, **serve) as portal:
        wrk(portal + "/proposals/", seconds=2, connections=4)
        results["list page, no cache"] = wrk(portal + "/proposals/", **load)

    base = results["hello"]["rps"]
    print(f"\n{'load':<24}{'req/s':>10}{'p50 ms':>10}{'non-2xx':>9}{'errors':>8}{'x hello':>9}")
    for name, r in results.items():
        p50 = f"{r['latency_p50_ms']:.1f}" if r["latency_p50_ms"] is not None else "-"
        print(f"{name:<24}{r['rps']:>10.0f}{p50:>10}{r['non_2xx']:>9}{r['errors']:>8}{r['rps'] / base:>9.2f}")
    ratio = results["list page (popular)"]["rps"] / base
    print(f"\nlist page / hello = {ratio:.2f} (target >= 0.25): {'met' if ratio >= 0.25 else 'NOT met'}")

    from portal import create_app
    from portal.extensions import db

    with create_app({"SQLALCHEMY_DATABASE_URI": url}).app_context():
        check(db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
