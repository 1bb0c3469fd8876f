"""The floor: a bare Flask app that does only the database work of the portal's hot paths.

This is the ceiling any Flask app reaches on this machine for the same database work, so the
portal's ratio can be read against it: `bench.all` serves it with the portal's gunicorn settings
beside the bare hello and prints its figures as context rows (what the machine allows a Flask
app), against the same references and targets as the portal's rows. Raw psycopg, one connection
per worker process, no ORM, no session, no login, no translation, no templates:

* ``GET /list``: the proposals list API's statement for ``?sort=popular`` (every column but the
  body, the public statuses, most endorsed first, 21 rows read for a page of 20 and its cursor,
  as proposals/service/listing.py and portal/api.py's paginate build it), to JSON with json.dumps;
* ``GET /detail/<id>``: one proposal by id (404 if none or hidden), to JSON;
* ``POST /write``: an INSERT into a scratch table, an UPDATE of one of 10,000 counter rows and a
  durable commit (synchronous_commit as the server has it, on by default): the shape of an
  endorsement without its checks.

The DSN is env ``FLOOR_DSN`` (a libpq URL, ``postgresql://...``); `create_tables` makes the
scratch tables (``bench_floor_writes``, ``bench_floor_counters``) before serving and `check`
says after the writes whether every write was counted once.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC

import psycopg
from flask import Flask, Response

COUNTERS = 10_000
PAGE = 20
STATUSES = ("open", "under_review", "voting", "accepted", "rejected", "implemented", "withdrawn", "closed")
COLUMNS = ("id", "author_id", "title", "lang", "category", "district", "location", "status",
           "status_before_hidden", "hidden_reason", "endorsement_count", "endorse_until", "vote_ends_at",
           "department", "answer", "merged_into_id", "created_at", "status_changed_at")
_SELECT = ("SELECT id, author_id, title, lang, category, district, location, status, status_before_hidden, "
           "hidden_reason, endorsement_count, endorse_until, vote_ends_at, department, answer, merged_into_id, "
           "created_at, status_changed_at")
LIST_SQL = _SELECT + " FROM proposals WHERE status = ANY(%s) ORDER BY endorsement_count DESC, id DESC LIMIT %s"
DETAIL_SQL = _SELECT + ", body FROM proposals WHERE id = %s AND status <> 'hidden'"

app = Flask(__name__)
_conn: psycopg.Connection | None = None


def conn() -> psycopg.Connection:
    """This process's one connection (opened after gunicorn forks; again if it broke)."""
    global _conn
    if _conn is None or _conn.closed or _conn.broken:
        _conn = psycopg.connect(os.environ["FLOOR_DSN"], autocommit=True)
    return _conn


def create_tables(dsn: str) -> None:
    """The write's scratch tables, empty, with 10,000 counters at zero."""
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bench_floor_writes, bench_floor_counters")
        c.execute("CREATE TABLE bench_floor_writes (id bigserial PRIMARY KEY, k bigint NOT NULL, "
                  "created_at timestamptz NOT NULL DEFAULT now())")
        c.execute("CREATE TABLE bench_floor_counters (id integer PRIMARY KEY, n bigint NOT NULL DEFAULT 0)")
        c.execute("INSERT INTO bench_floor_counters (id) SELECT generate_series(1, %s)", (COUNTERS,))


def check(dsn: str) -> list[str]:
    """What is not exact after the writes, as sentences: every write counted once."""
    with psycopg.connect(dsn, autocommit=True) as c:
        rows, counted = c.execute("SELECT (SELECT count(*) FROM bench_floor_writes), "
                                  "(SELECT sum(n) FROM bench_floor_counters)").fetchone()
    return [] if rows == counted else [f"{rows} writes but {counted} counted"]


def _iso(dt):
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).isoformat()


def _json(row) -> dict:
    out = dict(zip(COLUMNS, row, strict=False))
    for key in ("endorse_until", "vote_ends_at", "created_at", "status_changed_at"):
        out[key] = _iso(out[key])
    if len(row) > len(COLUMNS):
        out["body"] = row[len(COLUMNS)]
    return out


def _answer(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


@app.get("/list")
def list_():
    rows = conn().execute(LIST_SQL, (list(STATUSES), PAGE + 1)).fetchall()
    cursor = None
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        cursor = f"{rows[-1][10]}.{rows[-1][0]}"
    return _answer({"items": [_json(r) for r in rows], "next_cursor": cursor})


@app.get("/detail/<int:proposal_id>")
def detail(proposal_id: int):
    row = conn().execute(DETAIL_SQL, (proposal_id,)).fetchone()
    if row is None:
        return _answer({"error": "not_found"}, 404)
    return _answer(_json(row))


@app.post("/write")
def write():
    c = conn()
    with c.transaction():
        c.execute("INSERT INTO bench_floor_writes (k) VALUES (%s)", (random.randrange(10**9),))
        c.execute("UPDATE bench_floor_counters SET n = n + 1 WHERE id = %s", (random.randrange(1, COUNTERS + 1),))
    return _answer({"ok": True})
