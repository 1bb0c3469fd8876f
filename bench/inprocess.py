"""Where a request's time goes, in-process: `python -m bench.inprocess PATH [...]`.

Calls the WSGI app directly (no HTTP server, no load generator), N times per path, and prints
the mean milliseconds per request (best of --repeat runs), wall and this process's CPU (the second is steadier
when the machine is busy), and Python function calls per request (steady however busy); with --profile, cProfile's top functions. Runs against the
database of `python -m bench.all` (portal_bench_all) unless --database-url says otherwise.

    .venv/bin/python -m bench.inprocess /api/v1/proposals "/api/v1/tourism/listings?lang=zh"
    .venv/bin/python -m bench.inprocess --profile 25 /api/v1/proposals
    .venv/bin/python -m bench.inprocess --method POST --json '{"slot_id": 5, "quantity": 1, "locale": "en",
        "guest": {"name": "G {i}", "email": "g{i}@example.com"}}' /api/v1/tourism/bookings
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ADMIN_URL  # noqa: E402


def main() -> int:
    from sqlalchemy.engine import make_url
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of n calls; the best is printed")
    parser.add_argument("--database-url", default=make_url(ADMIN_URL).set(database="portal_bench_all")
                        .render_as_string(hide_password=False))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2"))
    parser.add_argument("--profile", type=int, default=0, help="print this many top functions")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--json", default=None, help="a JSON body; {i} is replaced by the call's number "
                        "(so each write is distinct), e.g. '{{\"slot_id\": 5, \"guest\": ...\"g{i}@x.kr\"}}'")
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", "bench-secret")
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = args.database_url, args.redis_url
    from werkzeug.test import EnvironBuilder

    from portal import create_app
    app = create_app()
    headers = dict(h.split(": ", 1) for h in args.header)

    counter = iter(range(10**9))

    def call(path: str) -> int:
        i = next(counter)
        body = args.json.replace("{i}", str(i)) if args.json else None
        environ = EnvironBuilder(path=path.replace("{i}", str(i)), method=args.method, headers=headers, data=body,
                                 content_type="application/json" if body else None,
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
        status = []
        answer = app.wsgi_app(environ, lambda s, h, exc_info=None: status.append(s))
        b"".join(answer)
        if hasattr(answer, "close"):
            answer.close()
        return int(status[0][:3])

    for path in args.paths:
        for _ in range(50):
            code = call(path)
        ms = cpu = float("inf")
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(args.n):
                call(path)
            ms = min(ms, (time.perf_counter() - t0) * 1000 / args.n)
            cpu = min(cpu, (time.process_time() - c0) * 1000 / args.n)
        counting = cProfile.Profile()  # Python function calls per request: steady however busy
        counting.enable()
        for _ in range(100):
            call(path)
        counting.disable()
        calls = pstats.Stats(counting).total_calls / 100
        print(f"{ms:7.3f} ms  {cpu:7.3f} ms cpu  {calls:6.0f} calls  {code}  {path}", flush=True)
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(args.n):
                call(path)
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats(args.sort).print_stats(args.profile)
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
