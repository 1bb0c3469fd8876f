"""Every figure of issue 14 in one run, one table: `python -m bench.all`.

    .venv/bin/python -m bench.all                     # about 6-9 minutes on 2 cores
    .venv/bin/python -m bench.all --seconds 3 --endorsements 200000   # a quicker look

Each figure is a ratio to a reference measured in the same run on the same machine:

* writes (endorse, withdraw, ballot, booking hold, payment callback) against
  `pgbench -N -c 32 -j 2 -T 5` on a scratch database (durable commits, synchronous_commit on):
  target >= 0.15 of its transactions per second, and p99 under 100 ms, at 32 clients;
* reads (the proposals list API in each sort, a proposal's detail, the tourism listings API in
  ko/en/zh, a listing's page) against a bare Flask "hello" (`bench.hello:app`) on the same
  gunicorn settings: target >= 0.30; search p50 under 20 ms (one client: its own latency,
  not a queue's);
* memory: each web worker's RSS after the runs, under 150 MB.

Context rows, not targets (left out of the count of targets met): the floor, a bare Flask app
doing only the database work with raw psycopg (`bench.floor:app`, on the same gunicorn
settings): the proposals list's statement, one proposal by id, and an insert + a counter update
+ a durable commit, each against the same reference as the portal's row. They say what the
machine allows a Flask app for that work, so the portal's ratios can be read against it.

Every write is a distinct request: wrk runs a Lua script that walks a list of prepared
(method, path, token, body, signature) requests, each thread its own share, so no endorsement,
ballot, hold or callback is sent twice. After each write run the exactness checks run
(counters = row counts, no endorsement twice, ballots = participations, seats taken = seats
held + confirmed, payments paid = bookings confirmed); a failed check fails the figure.

Data: its own databases (portal_bench_all, portal_bench_pgbench; dropped and created again):
10,000 proposals with 1,000,000 endorsements (bench/proposals_load.py's seed), 500 tourism
listings in ko, en and zh with 4 slots each, and the bookings the callbacks pay. Served as the
README deploys the web (gunicorn, 4 sync workers), with Redis database 2 (BENCH_REDIS_URL) as
broker and limiter storage, so notices are queued, not sent in the request. Holds come from
an address each (X-Forwarded-For behind PROXY_FIX_X_FOR=1, as behind the city's proxy), so the
hold limits stay as deployed; nothing is relaxed.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench import floor, proposals_load  # noqa: E402
from bench.common import fresh_database, gunicorn, worker_rss_mb, wrk  # noqa: E402

DB_NAME = "portal_bench_all"
PGBENCH_DB = "portal_bench_pgbench"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
SANDBOX_SECRET = "bench-sandbox-secret"
WRK_THREADS = 2
WRITE_TARGET, P99_TARGET_MS, READ_TARGET, SEARCH_P50_MS, RSS_MB = 0.15, 100.0, 0.30, 20.0, 150.0

# A Lua script for wrk: thread k of n sends requests k, k+n, k+2n, ... of the list once each.
LUA = """
local reqs = {
%(rows)s
}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("i", threads)
end
function request()
  local r = reqs[i]
  if r == nil then r = reqs[1] end  -- ran out: repeats are counted as 'wrapped' below
  i = i + %(step)d
  local h = {}
  if r[3] ~= "" then h["Authorization"] = "Bearer " .. r[3] end
  if r[5] ~= "" then h["X-Sandbox-Signature"] = r[5] end
  if r[6] ~= nil and r[6] ~= "" then h["X-Forwarded-For"] = r[6] end
  local body = nil
  if r[4] ~= "" then h["Content-Type"] = "application/json"; body = r[4]
  elseif r[1] ~= "GET" then h["Content-Length"] = "0" end
  return wrk.format(r[1], r[2], h, body)
end
"""


def lua_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rotating(url: str, requests: list[tuple], seconds: int, connections: int = 32):
    """wrk over `requests` (method, path, token, body, signature[, client address]), each sent
    at most once."""
    rows = ",\n".join("{" + ",".join(lua_quote(x) for x in r) + "}" for r in requests)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % {"rows": rows, "step": WRK_THREADS})
        script = fh.name
    try:
        result = wrk(url + "/", seconds=seconds, connections=connections, threads=WRK_THREADS, script=script)
    finally:
        os.unlink(script)
    result["wrapped"] = max(0, result["requests"] - len(requests))
    return result


# -- references ---------------------------------------------------------------------------

def pgbench_tps(seconds: int = 5, clients: int = 32) -> float:
    """`pgbench -N -c 32 -j 2 -T 5` on a scratch database: durable transactions per second."""
    url = make_url(fresh_database(PGBENCH_DB))
    conn = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    subprocess.run(["pgbench", "-i", "-q", "-s", "1", *conn, PGBENCH_DB], check=True, env=env,
                   capture_output=True)
    out = subprocess.run(["pgbench", "-N", "-c", str(clients), "-j", "2", "-T", str(seconds), *conn, PGBENCH_DB],
                         check=True, env=env, capture_output=True, text=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


# -- data -----------------------------------------------------------------------------------

def seed_proposals(url: str, args) -> dict:
    """The proposals bench's data, plus voting proposals with their ballot boxes."""
    from portal import create_app
    from portal.accounts import service as accounts
    from portal.extensions import db
    from portal.types import utcnow
    from proposals import service as proposals

    tokens, open_ids = proposals_load.seed(url, SimpleNamespace(
        proposals=args.proposals, endorsements=args.endorsements, residents=args.residents,
        tokens=args.tokens), random.Random(4))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
    with app.app_context():
        by_digest = dict(db.session.execute(text("SELECT token_hash, user_id FROM api_token")).all())
        token_of = {by_digest[accounts.tokens.digest(t)]: t for t in tokens}
        staff = accounts.create_user(db.session, "staff@bench.kr", None, roles=("staff",), verified=True,
                                     password_hash="!")
        db.session.commit()
        voting = [r[0] for r in db.session.execute(text(
            "SELECT id FROM proposals WHERE status = 'under_review' ORDER BY id LIMIT :n"), {"n": args.votes})]
        for pid in voting:
            proposals.transition(db.session, staff, pid, "voting",
                                 vote_ends_at=(utcnow() + timedelta(days=2)).isoformat())
        detail_ids = [r[0] for r in db.session.execute(text(
            "SELECT id FROM proposals WHERE status <> 'hidden' ORDER BY random() LIMIT 1000"))]
        # The residents who write under load endorsed half of the open proposals already: what
        # they withdraw (the other half is theirs to endorse, so the runs never meet).
        open_ids = sorted(set(open_ids) - set(voting))
        endorse_ids, withdraw_ids = open_ids[::2], open_ids[1::2]
        per_user = min(len(withdraw_ids), args.per_write // max(1, len(token_of)) + 2)
        rng = random.Random(5)
        rows = [{"p": pid, "u": uid} for uid in token_of for pid in rng.sample(withdraw_ids, per_user)]
        db.session.execute(text("INSERT INTO proposal_endorsements (proposal_id, user_id, created_at) "
                                "VALUES (:p, :u, now())"), rows)
        db.session.execute(text(
            "UPDATE proposals p SET endorsement_count = (SELECT count(*) FROM proposal_endorsements e "
            "WHERE e.proposal_id = p.id) WHERE p.id = ANY(:ids)"), {"ids": withdraw_ids})
        db.session.commit()
        db.engine.dispose()
    return {"token_of": token_of, "open_ids": endorse_ids, "voting": voting, "detail_ids": detail_ids}


def seed_tourism(url: str, n_listings: int, n_paid: int) -> dict:
    """500 listings in ko, en and zh with 4 slots each (capacity enough for every hold), and
    `n_paid` held bookings with a pending sandbox payment each, for the callbacks."""
    from portal import create_app
    from portal.extensions import db
    from portal.types import utcnow
    from tourism.models import Booking, Listing, Payment, Slot
    from tourism.service import search_text

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
    kinds = ["event", "lodging", "restaurant", "transport"]
    areas = ["ttukseom", "seongsu", "oksu"]  # areas of the places table
    now = utcnow()
    with app.app_context():
        listings = []
        for i in range(n_listings):
            area = areas[i % 3]
            name = {"ko": f"여수 밤바다 야경 크루즈 {i}", "en": f"Yeosu Night Sea Cruise {i}", "zh": f"丽水夜海游船 {i}"}
            item = Listing(kind=kinds[i % 4], area=area, name=name,
                           description={"ko": "돌산대교 아래를 지나는 70분 야경 코스입니다. " * 3,
                                        "en": "A 70-minute evening course under Dolsan Bridge. " * 3,
                                        "zh": "70分钟夜景航线，经过突山大桥下。" * 3},
                           address={"ko": "여수시 돌산읍", "en": "Dolsan-eup, Yeosu", "zh": "丽水市突山邑"},
                           policy={"ko": "출발 24시간 전까지 무료 취소", "en": "Free cancellation until 24 hours before",
                                   "zh": "开船24小时前取消免费"},
                           free_cancel_hours=24, late_refund_percent=50, active=True)
            item.search_text = search_text(item)
            listings.append(item)
        db.session.add_all(listings)
        db.session.flush()
        slots = [Slot(listing_id=item.id, starts_at=now + timedelta(days=2 + d, hours=i % 12), capacity=100_000,
                      price=20_000, taken=0) for i, item in enumerate(listings) for d in range(4)]
        db.session.add_all(slots)
        db.session.flush()
        paying = slots[-1]
        listing_ids, slot_ids = [x.id for x in listings], [x.id for x in slots[:-1]]
        db.session.commit()
        bookings = [{"reference": f"BP{i:010d}", "slot_id": paying.id, "guest_name": f"Guest {i}",
                     "guest_email": f"payer{i}@example.com", "locale": "en", "quantity": 1, "total": 20_000,
                     "status": "held", "hold_expires_at": now + timedelta(hours=3), "created_at": now}
                    for i in range(n_paid)]
        db.session.execute(Booking.__table__.insert(), bookings)
        ids = [r[0] for r in db.session.execute(text(
            "SELECT id FROM tourism_bookings WHERE slot_id = :s ORDER BY id"), {"s": paying.id})]
        payments = [{"public_id": uuid.uuid4().hex, "booking_id": b, "provider": "sandbox", "amount": 20_000,
                     "status": "pending", "refunded_amount": 0, "created_at": now} for b in ids]
        db.session.execute(Payment.__table__.insert(), payments)
        db.session.execute(text("UPDATE tourism_slots SET taken = :n WHERE id = :s"), {"n": n_paid, "s": paying.id})
        db.session.commit()
        db.engine.dispose()
    return {"listing_ids": listing_ids, "slot_ids": slot_ids,
            "payments": [p["public_id"] for p in payments]}


# -- checks ---------------------------------------------------------------------------------

def check(url: str) -> list[str]:
    """What is not exact, as sentences (empty: all exact)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    problems = []
    with engine.connect() as conn:
        queries = {
            "proposals whose counter differs from their endorsement rows":
                "SELECT count(*) FROM proposals p WHERE endorsement_count <> "
                "(SELECT count(*) FROM proposal_endorsements e WHERE e.proposal_id = p.id)",
            "endorsements given twice":
                "SELECT count(*) - count(DISTINCT (proposal_id, user_id)) FROM proposal_endorsements",
            "votes whose sealed ballots differ from their participations":
                "SELECT count(*) FROM proposal_ballot_boxes b WHERE "
                "(SELECT count(*) FROM proposal_ballot_participation x WHERE x.proposal_id = b.proposal_id) <> "
                "(SELECT count(*) FROM proposal_sealed_ballots s WHERE s.proposal_id = b.proposal_id)",
            "slots whose seats taken differ from the seats held and confirmed":
                "SELECT count(*) FROM tourism_slots s WHERE taken <> (SELECT coalesce(sum(quantity), 0) "
                "FROM tourism_bookings b WHERE b.slot_id = s.id AND b.status IN ('held', 'confirmed'))",
            "paid payments whose booking is not confirmed":
                "SELECT count(*) FROM tourism_payments p JOIN tourism_bookings b ON b.id = p.booking_id "
                "WHERE p.status = 'paid' AND b.status <> 'confirmed'",
        }
        for sentence, sql in queries.items():
            n = conn.execute(text(sql)).scalar()
            if n:
                problems.append(f"{n} {sentence}")
    engine.dispose()
    return problems


# -- the run --------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--endorsements", type=int, default=1_000_000)
    parser.add_argument("--residents", type=int, default=2_000)
    parser.add_argument("--tokens", type=int, default=1_000, help="residents who write under load")
    parser.add_argument("--votes", type=int, default=20, help="proposals being voted on")
    parser.add_argument("--listings", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration of each figure")
    parser.add_argument("--per-write", type=int, default=15_000, help="distinct requests prepared per write")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (the README's web)")
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    began = time.time()
    rng = random.Random(14)
    load = {"seconds": args.seconds, "connections": 32, "threads": WRK_THREADS}

    print(f"references: pgbench -N -c 32 -j 2 -T {args.seconds} ...", flush=True)
    pg_tps = pgbench_tps(args.seconds)
    print(f"  {pg_tps:.0f} tps", flush=True)

    import redis
    redis.Redis.from_url(REDIS_URL).flushdb()  # the bench's own Redis database: limits start at zero
    url = fresh_database(DB_NAME)
    print("seeding ...", flush=True)
    data = seed_proposals(url, args)
    data.update(seed_tourism(url, args.listings, args.per_write))
    print(f"  seeded in {time.time() - began:.0f}s", flush=True)

    serve = {"workers": args.workers, "threads": args.threads, "worker_class": args.worker_class}
    env = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SECRET_KEY": "bench-secret",
           "PROPOSAL_ENDORSEMENT_THRESHOLD": str(10**9),  # no proposal leaves `open` mid-run
           "TOURISM_SANDBOX_SECRET": SANDBOX_SECRET, "PROXY_FIX_X_FOR": "1"}
    rows: list[tuple] = []  # (figure, value, reference, ratio, target text, met, note)
    context: list[tuple] = []  # the floor's rows: the same columns, not counted as targets

    with gunicorn("bench.hello:app", env=env, ready_path="/", **serve) as hello:
        wrk(hello + "/", seconds=1, connections=32)
        hello_rps = wrk(hello + "/", **load)["rps"]
    print(f"  hello {hello_rps:.0f} req/s", flush=True)

    # The floor: the same database work from a bare Flask app with raw psycopg, same settings.
    floor_dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    floor.create_tables(floor_dsn)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write('wrk.method = "POST"\nwrk.headers["Content-Length"] = "0"\n')
        post_script = fh.name
    try:
        with gunicorn("bench.floor:app", env={**env, "FLOOR_DSN": floor_dsn}, ready_path="/list",
                      **serve) as bare:
            wrk(bare + "/list", seconds=1, connections=8)  # every worker connected
            floor_runs = {
                "list": wrk(bare + "/list", **load),
                "detail": rotating(bare, [("GET", f"/detail/{pid}", "", "", "") for pid in data["detail_ids"]] * 50,
                                   args.seconds),
                "write": wrk(bare + "/write", **load, script=post_script),
            }
    finally:
        os.unlink(post_script)

    def write_row(name, result, problems, into=rows, note_more=""):
        ratio = result["rps"] / pg_tps
        p99 = result["latency_p99_ms"]
        ok = (ratio >= WRITE_TARGET and p99 is not None and p99 < P99_TARGET_MS and not problems
              and not result["non_2xx"] and not result["errors"] and not result["wrapped"])
        note = "; ".join(problems + [f"{result[k]} {k}" for k in ("non_2xx", "errors", "wrapped") if result[k]]
                         + ([note_more] if note_more else []))
        into.append((name, f"{result['rps']:.0f}/s p99 {p99:.0f}ms", f"{pg_tps:.0f} tps", ratio,
                     f">= {WRITE_TARGET} and p99 < {P99_TARGET_MS:.0f}ms, exact", ok, note))
        print(f"  {name}: {result['rps']:.0f}/s p99 {p99}ms {note}", flush=True)

    def read_row(name, result, into=rows, note_more=""):
        ratio = result["rps"] / hello_rps
        ok = ratio >= READ_TARGET and not result["non_2xx"] and not result["errors"]
        note = "; ".join([f"{result[k]} {k}" for k in ("non_2xx", "errors") if result[k]]
                         + ([note_more] if note_more else []))
        into.append((name, f"{result['rps']:.0f}/s", f"{hello_rps:.0f}/s", ratio, f">= {READ_TARGET}", ok, note))
        print(f"  {name}: {result['rps']:.0f}/s {note}", flush=True)

    allows = "what the machine allows a Flask app"
    floor_runs["write"].setdefault("wrapped", 0)
    read_row("floor: list (bare Flask + psycopg)", floor_runs["list"], context, allows)
    read_row("floor: detail (bare Flask + psycopg)", floor_runs["detail"], context, allows)
    write_row("floor: write (bare Flask + psycopg)", floor_runs["write"], floor.check(floor_dsn), context,
              allows)

    with gunicorn("portal:create_app()", env=env, **serve) as portal:
        wrk(portal + "/api/v1/proposals", seconds=1, connections=8)  # every worker up and warm
        # -- writes
        tokens = list(data["token_of"].items())
        pairs = [(uid, tok, pid) for uid, tok in tokens for pid in rng.sample(data["open_ids"], 25)]
        rng.shuffle(pairs)
        pairs = pairs[:args.per_write]
        endorse = [("POST", f"/api/v1/proposals/{pid}/endorsement", tok, "", "") for _uid, tok, pid in pairs]
        write_row("endorse", rotating(portal, endorse, args.seconds), check(url))

        from sqlalchemy import create_engine
        engine = create_engine(url)
        with engine.connect() as conn:
            mine = conn.execute(text("SELECT user_id, proposal_id FROM proposal_endorsements WHERE user_id = ANY(:u)"),
                                {"u": list(data["token_of"])}).all()
        engine.dispose()
        withdraw = [("DELETE", f"/api/v1/proposals/{pid}/endorsement", data["token_of"][uid], "", "")
                    for uid, pid in mine]
        rng.shuffle(withdraw)
        write_row("withdraw", rotating(portal, withdraw, args.seconds), check(url))

        ballots = [("POST", f"/api/v1/proposals/{pid}/ballot", tok, json.dumps({"choice": rng.choice(["for", "against"])}), "")
                   for _uid, tok in tokens for pid in data["voting"]]
        rng.shuffle(ballots)
        write_row("ballot", rotating(portal, ballots, args.seconds), check(url))

        # Each tourist from an address of their own, as behind the city's proxy (PROXY_FIX_X_FOR):
        # the hold limits per address and per email stay as deployed.
        holds = [("POST", "/api/v1/tourism/bookings", "", json.dumps({
            "slot_id": rng.choice(data["slot_ids"]), "quantity": 1, "locale": "en",
            "guest": {"name": f"Guest {i}", "email": f"guest{i}@example.com"}}), "",
            f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
            for i in range(args.per_write)]
        write_row("booking hold", rotating(portal, holds, args.seconds), check(url))

        callbacks = []
        for public_id in data["payments"]:
            body = json.dumps({"payment_id": public_id, "status": "paid", "amount": 20_000,
                               "transaction_id": "sbx_" + public_id[:16]})
            sig = hmac.new(SANDBOX_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
            callbacks.append(("POST", "/api/v1/tourism/payments/sandbox/callback", "", body, sig))
        write_row("payment callback", rotating(portal, callbacks, args.seconds), check(url))

        # -- reads
        for sort in ("popular", "newest", "ending"):
            read_row(f"proposals API ({sort})", wrk(portal + f"/api/v1/proposals?sort={sort}", **load))
        detail = [("GET", f"/api/v1/proposals/{pid}", "", "", "") for pid in data["detail_ids"]]
        read_row("proposal detail API", rotating(portal, detail * 50, args.seconds))
        for lang in ("ko", "en", "zh"):
            read_row(f"tourism listings API ({lang})", wrk(portal + f"/api/v1/tourism/listings?lang={lang}", **load))
        pages = [("GET", f"/tourism/listings/{lid}?lang=zh", "", "", "") for lid in data["listing_ids"]]
        read_row("listing page (zh)", rotating(portal, pages * 50, args.seconds))
        search = wrk(portal + "/api/v1/proposals?q=%ED%86%B5%ED%95%99%EB%A1%9C", seconds=args.seconds,
                     connections=1, threads=1)
        p50 = search["latency_p50_ms"]
        rows.append(("search p50 (q=통학로, 1 client)", f"{p50:.1f}ms", "-", None, f"< {SEARCH_P50_MS:.0f}ms",
                     p50 < SEARCH_P50_MS and not search["non_2xx"], ""))
        rss = worker_rss_mb(portal)
        rows.append(("web worker RSS after the runs", " ".join(f"{m:.0f}" for m in rss) + " MB", "-", None,
                     f"< {RSS_MB:.0f} MB each", max(rss) < RSS_MB, ""))

    print(f"\ngunicorn {args.workers} x {args.worker_class}"
          f"{f' x {args.threads} threads' if args.threads > 1 else ''}, wrk -t{WRK_THREADS} -c32 -d{args.seconds}s, "
          f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}, {time.time() - began:.0f}s in all")
    print(f"{'figure':<34}{'value':>22}{'reference':>14}{'ratio':>7}  {'target':<32}{'met':<5}note")
    for name, value, ref, ratio, target, ok, note in rows:
        r = f"{ratio:.2f}" if ratio is not None else "-"
        print(f"{name:<34}{value:>22}{ref:>14}{r:>7}  {target:<32}{'yes' if ok else 'NO':<5}{note}")
    for name, value, ref, ratio, target, ok, note in context:  # met in brackets: not a target
        print(f"{name:<38}{value:>18}{ref:>14}{ratio:>7.2f}  {target:<32}{'(yes)' if ok else '(no)':<6}{note}")
    met = sum(1 for row in rows if row[5])
    print(f"{met} of {len(rows)} targets met (the floor's rows are context, not targets)")
    return 0 if met == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
