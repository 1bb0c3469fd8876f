"""Bench: e-ID verification at the gates, from one run on this machine, for the card's two
forms: the phone's presentations (issue 15: a device-bound credential and the phone's proof,
``EID1:`` + base45) and the older server-signed tokens (JWS), which gates accept until
``EID_LEGACY_TOKENS=0``.

    .venv/bin/python bench/eid_verify.py                    # both kinds, 10 s of load each on the API
    .venv/bin/python bench/eid_verify.py --kind presentations --seconds 5 --tokens 20000

For each kind:

1. raw       the signatures it involves, verified per second (cryptography, one thread, one
             core): a token is one Ed25519 verify; a presentation is one Ed25519 verify (the
             city's signature of the credential) + one ECDSA P-256 verify (the phone's proof);
2. offline   portal.eid.verifier.verify per second (one thread) of distinct ones, each granted:
             parse, key, signature(s), claims, time, the card's status, a facility policy, a
             MemoryReplayStore. Tokens: a status document of 1,000 revoked ids. Presentations: a
             decoded status list (draft-ietf-oauth-status-list) of 1,000,000 positions, 1 % of
             them revoked or suspended;
3. api       POST /api/v1/eid/verify per second through gunicorn, deployed as the README deploys
             the gates (gevent workers), on PostgreSQL (its own database portal_bench_eid; Redis
             database 5, or BENCH_REDIS_URL, for the rest of the app), load from wrk on loopback,
             every request a distinct, fresh token or presentation (each is single-use), every
             decision logged and its id used up, durably, before the gate is answered. The cards'
             credentials are issued by the service (``issue_credential``, one phone a card,
             ``presentation.Device``); the bench process makes the presentations, as phones do,
             just before the run (a proof lives 60 s).

Prints each rate and the ratios against raw (targets: api >= 1/4 of raw, offline >= 2/3 of raw),
and the same gunicorn serving a bare Flask "hello" and a no-op WSGI app for context.
The API figure shares the machine's cores with PostgreSQL and wrk; raw and offline use one.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cbor2  # noqa: E402
import jwt  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature  # noqa: E402

from bench.common import fresh_database, gunicorn, wrk  # noqa: E402
from portal.eid import presentation, statuslist, verifier  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
DB_NAME = "portal_bench_eid"
SECRET = "bench-secret-key-not-for-production"
STATUS_URI = "https://portal.example.kr/api/v1/eid/status-list"
STATUS_POSITIONS = 1_000_000
STATUS_LISTED = 0.01
DISTRICT = "seongdong"  # a district's code, as the portal stores it and credentials carry it


def rate(fn, items, min_seconds=2.0) -> float:
    """Calls of fn(item) per second over the items (repeated until min_seconds passed)."""
    done, start = 0, time.perf_counter()
    while True:
        for item in items:
            fn(item)
        done += len(items)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def sample_claims(i: int, now: int) -> dict:
    return {"iss": "https://portal.example.kr", "sub": f"card-{i % 500:05d}-xxxxxxxxxxxx",
            "iat": now, "exp": now + 60, "jti": verifier.b64url_encode(os.urandom(16)),
            "resident": True, "district": "성동구", "age_over": [14, 19]}


def bench_raw(n: int) -> float:
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    now = int(time.time())
    messages = []
    for i in range(n):
        token = jwt.encode(sample_claims(i, now), private, algorithm="EdDSA", headers={"kid": "k"})
        head, payload, _sig = token.split(".")
        message = f"{head}.{payload}".encode()
        messages.append((private.sign(message), message))
    return rate(lambda sm: public.verify(*sm), messages, min_seconds=1.0)


def bench_offline(n: int) -> tuple[float, dict]:
    """One pass over n distinct tokens (a second pass would be all replays, which is cheaper)."""
    private = Ed25519PrivateKey.generate()
    keys = verifier.load_jwks({"keys": [verifier.public_jwk("k1", private.public_key())]})
    now = int(time.time())
    tokens = [jwt.encode(sample_claims(i, now), private, algorithm="EdDSA", headers={"kid": "k1"})
              for i in range(n)]
    status = {"revoked": [f"revoked-{i:06d}" for i in range(1000)], "suspended": []}
    lookup = verifier.status_lookup(status)
    policy = {"residents_only": True, "districts": ["성동구"], "min_age": None, "max_age": None}
    store = verifier.MemoryReplayStore()
    reasons: dict[str, int] = {}
    start = time.perf_counter()
    for token in tokens:
        result = verifier.verify(token, keys, status=lookup, policy=policy, replay_store=store)
        reasons[result.reason] = reasons.get(result.reason, 0) + 1
    return n / (time.perf_counter() - start), reasons


class Phones:
    """Cards on phones without a database: an issuer key, one Device and one credential a card
    (signed as ``service.issue_credential`` signs them), each at a status-list position that the
    list leaves valid."""

    def __init__(self, cards: int, avoid: set[int], rng: random.Random):
        self.issuer = Ed25519PrivateKey.generate()
        self.keys = verifier.load_jwks({"keys": [verifier.public_jwk("k1", self.issuer.public_key())]})
        now = int(time.time())
        self.cards = []
        positions = iter(i for i in rng.sample(range(STATUS_POSITIONS), cards + len(avoid))
                         if i not in avoid)
        for i in range(cards):
            device = presentation.Device()
            point, _thumbprint = presentation.device_key(device.jwk())
            credential = presentation.issue(
                self.issuer, "k1", sub=f"card-{i:05d}-xxxxxxxxxxxx"[:22], iat=now, exp=now + 86400,
                device_point=point, status_idx=next(positions), status_uri=STATUS_URI,
                resident=True, district=DISTRICT, age_over=[14, 19])
            self.cards.append((device, credential))

    def present(self, n: int) -> list[str]:
        """n distinct presentations (fresh proofs, random ids), round robin over the cards."""
        cards = self.cards
        return [cards[i % len(cards)][0].present(cards[i % len(cards)][1]) for i in range(n)]


def status_list(rng: random.Random) -> tuple[statuslist.StatusList, set[int], int]:
    """A decoded status list of STATUS_POSITIONS positions, STATUS_LISTED of them revoked or
    suspended (half each), as a gate holds it after a sync; the listed positions; its size."""
    key = Ed25519PrivateKey.generate()
    listed = {i: rng.choice((statuslist.INVALID, statuslist.SUSPENDED))
              for i in rng.sample(range(STATUS_POSITIONS), int(STATUS_POSITIONS * STATUS_LISTED))}
    now = int(time.time())
    token = statuslist.sign(STATUS_POSITIONS, listed, key=key, kid="s1", uri=STATUS_URI, iat=now,
                            exp=now + 86400, ttl=300)
    decoded = statuslist.decode(token, {"s1": key.public_key()}, uri=STATUS_URI, now=now)
    assert decoded.size >= STATUS_POSITIONS and all(decoded.get(i) == v for i, v in listed.items())
    return decoded, set(listed), len(token)


def presentation_signatures(text: str, keys) -> tuple:
    """The two signature checks of one presentation, as (verify, args) pairs, ready to run."""
    credential, credential_item, proof_item = presentation.split(text)
    protected, payload, signature = credential_item[0], credential_item[2], credential_item[3]
    issuer_key = keys[presentation.kid_of(text)]
    ed_message = cbor2.dumps(["Signature1", protected, b"", payload])
    cose_key = cbor2.loads(payload)[8][1]
    device_key = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), (b"\x03" if cose_key[-3] else b"\x02") + cose_key[-2])
    p_protected, p_payload, p_signature = proof_item[0], proof_item[2], proof_item[3]
    der = encode_dss_signature(int.from_bytes(p_signature[:32], "big"),
                               int.from_bytes(p_signature[32:], "big"))
    ec_message = cbor2.dumps(["Signature1", p_protected, credential, p_payload])
    return issuer_key, signature, ed_message, device_key, der, ec_message


def bench_raw_presentations(phones: Phones, n: int) -> float:
    """One Ed25519 verify + one ECDSA P-256 verify (what one presentation involves) per second."""
    ecdsa = ec.ECDSA(hashes.SHA256())
    items = [presentation_signatures(text, phones.keys) for text in phones.present(n)]

    def both(item) -> None:
        issuer_key, signature, ed_message, device_key, der, ec_message = item
        issuer_key.verify(signature, ed_message)
        device_key.verify(der, ec_message, ecdsa)

    return rate(both, items, min_seconds=1.0)


def bench_offline_presentations(phones: Phones, status: statuslist.StatusList, n: int) -> tuple[float, dict]:
    """One pass over n distinct, fresh presentations (made just before; not timed)."""
    texts = phones.present(n)
    policy = {"residents_only": True, "districts": [DISTRICT], "min_age": None, "max_age": None}
    store = verifier.MemoryReplayStore()
    reasons: dict[str, int] = {}
    start = time.perf_counter()
    for text in texts:
        result = verifier.verify(text, phones.keys, status=status, policy=policy, replay_store=store)
        reasons[result.reason] = reasons.get(result.reason, 0) + 1
    return n / (time.perf_counter() - start), reasons


def bench_local(rounds: int, n: int, kinds: list[str]) -> dict:
    """Raw and offline rates of each kind measured alternately; the best round of each, so a
    burst of load from other processes on this shared machine does not land on one side only.
    Returns {kind: (raw, offline, reasons of the last round)}."""
    out: dict[str, tuple[list, list, dict]] = {kind: ([], [], {}) for kind in kinds}
    if "presentations" in kinds:
        rng = random.Random(15)
        status, listed, _size = status_list(rng)
        phones = Phones(200, listed, rng)
    for _ in range(rounds):
        for kind in kinds:
            raws, offlines, reasons = out[kind]
            if kind == "tokens":
                raws.append(bench_raw(1000))
                rate_, last = bench_offline(n)
            else:
                raws.append(bench_raw_presentations(phones, 1000))
                rate_, last = bench_offline_presentations(phones, status, n)
            offlines.append(rate_)
            reasons.clear()
            reasons.update(last)
    return {kind: (max(raws), max(offlines), reasons) for kind, (raws, offlines, reasons) in out.items()}


def prepare_api(n_cards: int):
    """Fresh database, schema, one facility with a gate, cards; returns a token factory."""
    url = fresh_database(DB_NAME)
    os.environ.update({"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SECRET_KEY": SECRET})
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    from portal import create_app
    from portal.accounts import service as accounts
    from portal.eid import keys, service
    from portal.eid.models import Card
    from portal.extensions import db

    app = create_app({"CELERY": {"task_always_eager": True, "broker_url": "memory://"}})
    with app.app_context():
        db.create_all()
        staff = accounts.create_user(db.session, "staff@bench.kr", None, roles=("staff",),
                                     verified=True, password_hash="x")
        db.session.commit()
        facility = service.create_facility(db.session, staff, service.FacilityInput(
            code="bench-pool", names={"ko": "구민 수영장", "en": "Pool"}, kind="sports_centre",
            residents_only=True, districts=["성동구"], resident_discount=30))
        _gate, gate_key = service.create_gate(db.session, None, facility.code, "bench gate")
        users = []
        for i in range(n_cards):
            user = accounts.create_user(db.session, f"r{i}@bench.kr", None, roles=("resident",),
                                        verified=True, password_hash="x", district="성동구",
                                        birth_date=date(1960 + i % 40, 1 + i % 12, 1))
            users.append(user)
        db.session.commit()
        for user in users:
            service.issue_card(db.session, user)
        # One phone a card, its credential issued by the service as the API issues it.
        phones = []
        for user in users:
            device = presentation.Device()
            phones.append((device, service.issue_credential(db.session, user, device.jwk()).credential))
        cards = list(db.session.scalars(db.select(Card).order_by(Card.id)))
        by_user = {u.id: u for u in users}
        # the holders' facts read now: the session closes below
        pairs = [(card, service.holder_facts(db.session, by_user[card.user_id])) for card in cards]
        for card, _holder in pairs:
            _ = card.public_id
        fernet = service.fernet()
        key_row = keys.active_key(db.session)
        signer, kid = keys.signer(key_row, fernet), key_row.kid

    def make_tokens(n: int) -> list[str]:
        """n fresh tokens (distinct jti), signed now, exactly as the card page signs them."""
        with app.app_context():
            now = datetime.now(UTC)
            return [jwt.encode(service.token_claims(*pairs[i % len(pairs)], now), signer,
                               algorithm=verifier.ALGORITHM, headers={"kid": kid, "typ": "JWT"})
                    for i in range(n)]

    def make_presentations(n: int) -> list[str]:
        """n fresh presentations (distinct proof ids), made now, as the phones make them."""
        return [phones[i % len(phones)][0].present(phones[i % len(phones)][1]) for i in range(n)]

    return url, gate_key, {"tokens": make_tokens, "presentations": make_presentations}


LUA = r"""
local tokens, counter, threads, nextid = {}, 1, {}, 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function setup(thread)
  thread:set("id", nextid)
  nextid = nextid + 1
  table.insert(threads, thread)
end
function init(args)
  local i = 0
  for line in io.lines("TOKENS_FILE") do
    if i % NTHREADS == id then table.insert(tokens, line) end
    i = i + 1
  end
  granted, denied, other = 0, 0, 0
end
function request()
  local t = tokens[counter]
  counter = counter + 1
  if counter > #tokens then counter = 1 end
  return wrk.format(nil, nil, nil, '{"token":"' .. t .. '"}')
end
function response(status, headers, body)
  if status ~= 200 then other = other + 1
  elseif string.find(body, '"granted"', 1, true) then granted = granted + 1
  else denied = denied + 1 end
end
function done(summary, latency, requests)
  local g, d, o = 0, 0, 0
  for _, t in ipairs(threads) do
    g = g + t:get("granted"); d = d + t:get("denied"); o = o + t:get("other")
  end
  io.write(string.format("EID granted=%d denied=%d other=%d\n", g, d, o))
end
"""


def run_wrk(url: str, gate_key: str, tokens: list[str], seconds: int, connections: int,
            threads: int) -> dict:
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as tmp:
        tokens_file = Path(tmp) / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        script = Path(tmp) / "verify.lua"
        script.write_text(LUA.replace("TOKENS_FILE", str(tokens_file))
                          .replace("NTHREADS", str(threads)))
        out = subprocess.run([exe, f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                              "--latency", "-H", f"Authorization: Bearer {gate_key}", "-s",
                              str(script), url + "/api/v1/eid/verify"],
                             capture_output=True, text=True, check=True).stdout
    counts = dict(re.findall(r"(granted|denied|other)=(\d+)", out))
    lat = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "granted": int(counts.get("granted", 0)), "denied": int(counts.get("denied", 0)),
            "other": int(counts.get("other", 0)),
            "socket_errors": sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)),
            "p50_ms": float(lat.group(1)) * scale[lat.group(2)] if lat else None}


LABELS = {"tokens": "token", "presentations": "presentation"}
RAW_LABELS = {"tokens": "raw Ed25519 verify (a token)", "presentations":
              "raw Ed25519 + ECDSA P-256 verify (a presentation)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--kind", choices=("tokens", "presentations", "both"), default="both",
                        help="what the gates are shown: server tokens, phone presentations, or both")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration against the API (each kind)")
    parser.add_argument("--tokens", type=int, default=40000,
                        help="distinct tokens (and presentations) for the API load")
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--offline-tokens", type=int, default=10000,
                        help="distinct tokens (and presentations) for the offline verifier")
    parser.add_argument("--rounds", type=int, default=3, help="alternating raw/offline rounds")
    # Defaults: the gate pool as the README deploys it, one gevent worker per core. On the
    # 2-core bench machine gevent 2 answered ~3,200/s where gthread 2x4 answered ~2,200/s
    # (and 2x2, 2x3, 2x6, 2x8 and 3x4 no more): with threads, a third of the workers' CPU
    # went to the kernel switching them and to the GIL.
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--worker-class", default="gevent")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--no-hello", action="store_true", help="skip the bare Flask baseline")
    args = parser.parse_args()
    kinds = ["tokens", "presentations"] if args.kind == "both" else [args.kind]

    threads = f" --threads {args.threads}" if args.worker_class == "gthread" else ""
    print(f"settings: gunicorn --workers {args.workers} --worker-class {args.worker_class}{threads}; "
          f"wrk -t{args.wrk_threads} -c{args.connections} "
          f"-d{args.seconds}s; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} "
          f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    local = bench_local(args.rounds, args.offline_tokens, kinds)
    for kind in kinds:
        raw, offline, reasons = local[kind]
        status = ("a status document of 1,000 revoked ids" if kind == "tokens" else
                  f"a status list of {STATUS_POSITIONS:,} positions, {STATUS_LISTED:.0%} listed")
        print(f"{RAW_LABELS[kind] + ' (cryptography, 1 thread):':<80}{raw:10.0f} /s   (best of {args.rounds})")
        print(f"{'offline verifier, ' + kind + ' (verifier.verify, 1 thread):':<80}{offline:10.0f} /s   "
              f"(best of {args.rounds}; {status}; last round {reasons})")

    print(f"preparing {args.cards} cards on PostgreSQL ({DB_NAME}) ...")
    db_url, gate_key, makers = prepare_api(args.cards)
    env = {"DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "SECRET_KEY": SECRET,
           "PORTAL_ENV": "production", "PORTAL_BASE_URL": "https://portal.example.kr"}
    shape = f"{args.workers}x{args.worker_class}" + (f"/{args.threads}t" if args.worker_class == "gthread" else "")
    apis = {}
    with gunicorn(env=env, workers=args.workers, threads=args.threads,
                  worker_class=args.worker_class) as url:
        for kind in kinds:
            start = time.perf_counter()
            items = makers[kind](args.tokens)  # made now: valid for the next 60 s (+30 s skew)
            made = time.perf_counter() - start
            api = apis[kind] = run_wrk(url, gate_key, items, args.seconds, args.connections,
                                       args.wrk_threads)
            print(f"api POST /api/v1/eid/verify, {kind} (gunicorn {shape}, PostgreSQL, "
                  f"wrk -c{args.connections}): {api['rps']:10.0f} /s")
            print(f"    requests={api['requests']} granted={api['granted']} denied={api['denied']} "
                  f"non-200={api['other']} socket_errors={api['socket_errors']} p50={api['p50_ms']} ms"
                  f" ({len(items)} {kind} made in {made:.1f} s before the run)")
            if api["requests"] > len(items):
                print(f"    note: {api['requests'] - len(items)} requests re-sent a used {LABELS[kind]} "
                      "(denied as replayed); raise --tokens")
    if not args.no_hello:
        with gunicorn("bench.hello:app", workers=args.workers, threads=args.threads,
                      worker_class=args.worker_class, ready_path="/") as hello_url:
            wrk(hello_url + "/", seconds=1, connections=args.connections)  # every worker up and warm
            hello = wrk(hello_url + "/", seconds=min(args.seconds, 5),
                        connections=args.connections, threads=args.wrk_threads)
        print(f"context: bare Flask 'hello' on the same gunicorn settings: {hello['rps']:10.0f} /s "
              "(verify = " + ", ".join(f"{apis[k]['rps'] / hello['rps']:.2f} ({k})" for k in kinds)
              + " of it)")
        with gunicorn("bench.hello:null_app", workers=args.workers, threads=args.threads,
                      worker_class=args.worker_class, ready_path="/") as null_url:
            wrk(null_url + "/", seconds=1, connections=args.connections)
            null = wrk(null_url + "/", seconds=min(args.seconds, 5),
                       connections=args.connections, threads=args.wrk_threads)
        print(f"ceiling: a no-op WSGI app on the same gunicorn settings: {null['rps']:10.0f} /s ("
              + ", ".join(f"= {null['rps'] / local[k][0]:.2f} of raw {k}" for k in kinds)
              + "; verify = " + ", ".join(f"{apis[k]['rps'] / null['rps']:.2f} ({k})" for k in kinds)
              + " of it)")
    for kind in kinds:
        raw, offline, _reasons = local[kind]
        print(f"{kind + ':':<15} ratio api/raw     = {apis[kind]['rps'] / raw:5.2f}   (target >= 0.25)")
        print(f"{kind + ':':<15} ratio offline/raw = {offline / raw:5.2f}   (target >= 0.67)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
