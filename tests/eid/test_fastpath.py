"""POST /api/v1/eid/verify in front of Flask (portal/eid/verify/wsgi.py), through the real WSGI
stack: the test client calls ``app.wsgi_app``, which is the fast path's wrapper.

Every case is answered twice, once with ``EID_VERIFY_FAST_PATH`` off (Flask's view answers)
and once with it on and its caches warm (the wrapper answers, or hands the request to Flask):
a gate must not be able to tell the two apart, and each decision is one access-log row.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask_babel import force_locale

from portal.eid import keys, service, verifier
from portal.eid.models import AccessEntry, Card, UsedToken
from portal.eid.verify import store
from portal.errors import Unauthorized
from portal.extensions import db
from tests.conftest import requires_postgres

MODES = ("flask", "fast")
# What a gate can see besides status and body.
HEADERS = ("Content-Type", "Content-Language", "Cache-Control", "Vary", "X-Content-Type-Options",
           "X-Frame-Options", "Referrer-Policy")


@dataclass
class Answer:
    status: int
    body: object
    headers: dict
    fast: bool  # answered by the wrapper itself, not by Flask
    raw: bytes  # the body as sent

    def same_for_the_gate(self):
        return self.status, self.body, self.headers


@pytest.fixture
def fast_path(app):
    return app.extensions["eid_fast_path"]


@pytest.fixture
def call(app, fast_path):
    """call(mode, gate_key, token, **post_kwargs) -> Answer, from a client without cookies.

    In "fast" mode the wrapper is on and its caches are warm for ``warm`` (the gate key that
    exists; default ``gate_key``), so a request it may answer is answered by it."""

    def do(mode, gate_key, token=None, *, warm=None, client=None, headers=None, **kwargs):
        app.config["EID_VERIFY_FAST_PATH"] = mode == "fast"
        if mode == "fast":
            warm_caches(warm or gate_key)
        if "json" not in kwargs and "data" not in kwargs:
            kwargs["json"] = {"token": token}
        all_headers = {"Authorization": f"Bearer {gate_key}"} if gate_key else {}
        all_headers.update(headers or {})
        before = fast_path.served
        response = (client or app.test_client()).post("/api/v1/eid/verify", headers=all_headers,
                                                      **kwargs)
        body = response.get_json(silent=True)
        if isinstance(body, dict) and "server_time" in body:
            # The server's clock, for the gate: compared here, then left out of the comparisons
            # of the two paths (which may answer a second apart).
            assert abs(body.pop("server_time") - time.time()) < 5
        raw = re.sub(rb'"server_time":\d+', b'"server_time":0', response.get_data())
        return Answer(response.status_code, body if body is not None else response.get_data(),
                      {h: response.headers.get(h) for h in HEADERS},
                      fast_path.served - before == 1, raw)

    return do


def warm_caches(gate_key):
    """What a first Flask-answered verify leaves behind: the gate key and the public keys."""
    try:
        service.authenticate_gate(db.session, gate_key)
    except Unauthorized:
        pass
    keys.public_keys(db.session)
    db.session.commit()


def last_log_id() -> int:
    db.session.commit()
    return db.session.scalar(db.select(db.func.max(AccessEntry.id))) or 0


def log_rows_after(last_id: int) -> list[tuple]:
    db.session.commit()
    return [(e.decision, e.reason, e.card_status, e.card_id, e.gate_id, e.facility_id)
            for e in db.session.scalars(db.select(AccessEntry).where(AccessEntry.id > last_id)
                                        .order_by(AccessEntry.id))]


def message(reason: str, lang: str = "ko") -> str:
    with force_locale(lang):
        return str(service.REASON_MESSAGES[reason])


def sign_at(user, when: float) -> str:
    card = db.session.scalar(db.select(Card).where(Card.user_id == user.id,
                                                   Card.status == "active"))
    token, _ = service.sign_token(db.session, card, datetime.fromtimestamp(when, tz=UTC))
    return token


def forge(token: str, kid: str | None = None) -> str:
    """The same claims signed by a key that is not the city's, under ``kid`` (default: the
    token's own kid, so only the signature is wrong)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = kid or jwt.get_unverified_header(token)["kid"]
    return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA",
                      headers={"kid": kid, "typ": "JWT"})


# -- (a) every decision: same answer, one log row ------------------------------------------

# scenario -> (reason, card_status in the answer and the log, whether the wrapper answers it)
DECISIONS = {
    "granted": ("ok", "active", True),
    "forged_signature": ("bad_signature", None, True),
    "unknown_kid": ("unknown_key", None, False),  # Flask looks the kid up in the database
    "malformed": ("malformed", None, True),
    "expired": ("expired", "active", True),
    "not_yet_valid": ("not_yet_valid", "active", True),
    "replayed": ("replayed", "active", True),
    "revoked": ("revoked", "revoked", True),
    "suspended": ("suspended", "suspended", True),
    "policy_age": ("policy", "active", True),
    "policy_district": ("policy", "active", True),
}


@pytest.mark.parametrize("scenario", list(DECISIONS))
def test_each_decision_is_answered_and_logged_alike(scenario, call, make_user, staff, client,
                                                    card_for, token_for, make_gate, csrf_headers):
    reason, card_status, answered_fast = DECISIONS[scenario]
    key, facility = make_gate(resident_discount=30, min_age=65 if scenario == "policy_age" else None,
                              districts=["성동구"] if scenario == "policy_district" else None)
    gate_id = db.session.scalar(db.select(service.Gate.id).where(
        service.Gate.facility_id == facility.id))

    answers = {}
    for mode in MODES:
        user = make_user(birth_date=date(2000, 1, 1) if scenario == "policy_age" else date(1950, 1, 1),
                         district="강남구" if scenario == "policy_district" else "성동구")
        card = card_for(user)
        card_id = db.session.scalar(db.select(Card.id).where(Card.public_id == card["card_id"]))
        token = token_for(user)
        if scenario == "forged_signature":
            token = forge(token)
        elif scenario == "unknown_kid":
            token = forge(token, kid="not-ours")
        elif scenario == "malformed":
            token = "not-a-token"
        elif scenario == "expired":
            token = sign_at(user, time.time() - 60 - 31)
        elif scenario == "not_yet_valid":
            token = sign_at(user, time.time() + 45)
        elif scenario == "replayed":
            assert call(mode, key, token).body["reason"] == "ok"
        elif scenario == "revoked":
            assert client.post("/api/v1/eid/cards/me/revoke",
                               headers=csrf_headers(client)).status_code == 200
        elif scenario == "suspended":
            service.suspend_card(db.session, staff, card["card_id"], "investigation")

        last = last_log_id()
        answers[mode] = answer = call(mode, key, token)
        assert answer.status == 200
        assert answer.body == {
            "decision": "granted" if reason == "ok" else "denied",
            "reason": reason,
            "message": message(reason),
            "facility": facility.code,
            "card_status": card_status,
            "resident_discount": 30 if reason == "ok" else 0,
        }, mode
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.fast == (mode == "fast" and answered_fast), mode
        logged_card = card_id if reason not in ("malformed", "bad_signature", "unknown_key") else None
        assert log_rows_after(last) == [
            ("granted" if reason == "ok" else "denied", reason, card_status, logged_card, gate_id,
             facility.id)], mode

    assert answers["fast"].same_for_the_gate() == answers["flask"].same_for_the_gate()


def test_the_same_bytes_as_flask(call, resident, card_for, token_for, make_gate):
    """Not only the same JSON: the same bytes (key order, escaping, the final newline)."""
    card_for(resident)
    key, _ = make_gate()
    raw = {}
    for mode in MODES:
        answer = call(mode, key, token_for(resident), headers={"Accept-Language": "zh"})
        assert answer.fast == (mode == "fast")
        raw[mode] = answer.raw
    assert raw["fast"] == raw["flask"]
    assert raw["fast"].endswith(b"}\n")


def test_switched_off_means_flask_answers_everything(app, call, resident, card_for, token_for,
                                                     make_gate):
    card_for(resident)
    key, _ = make_gate()
    warm_caches(key)
    for off in ("0", "false", "off", False):
        app.config["EID_VERIFY_FAST_PATH"] = off
        before = app.extensions["eid_fast_path"].served
        response = app.test_client().post("/api/v1/eid/verify", json={"token": token_for(resident)},
                                          headers={"Authorization": f"Bearer {key}"})
        assert response.get_json()["reason"] == "ok"
        assert app.extensions["eid_fast_path"].served == before, off


def test_a_gate_switched_off_is_refused_at_once(call, staff, resident, card_for, token_for,
                                                make_gate):
    """Deactivating a gate empties the gate cache: the wrapper no longer knows the key."""
    card_for(resident)
    key, _ = make_gate()
    assert call("fast", key, token_for(resident)).fast
    service.deactivate_gate(db.session, staff, db.session.scalar(db.select(service.Gate.id)))
    last = last_log_id()
    answer = call("fast", key, token_for(resident), warm="eidg_not-a-gate")
    assert (answer.status, answer.body["error"]["code"], answer.fast) == (401, "invalid_gate_key",
                                                                         False)
    assert log_rows_after(last) == []


# -- (b) what the wrapper must leave to Flask ----------------------------------------------

def _wrong_keys(key):
    return {
        "missing": None,
        "unknown": "eidg_wrong",
        "altered": key[:-1] + ("x" if key[-1] != "x" else "y"),
        "basic": "Basic abc",
    }


@pytest.mark.parametrize("which", ["missing", "unknown", "altered", "basic", "personal_token"])
def test_missing_or_wrong_gate_key_is_flasks_401(which, call, app, resident, card_for, token_for,
                                                 make_gate):
    from portal.accounts.service import create_token

    card_for(resident)
    key, _ = make_gate()
    token = token_for(resident)
    if which == "personal_token":
        plain, _row = create_token(db.session, resident, "phone")
        headers = {"Authorization": f"Bearer {plain}"}
    else:
        wrong = _wrong_keys(key)[which]
        headers = {} if wrong is None else {
            "Authorization": wrong if wrong.startswith("Basic") else f"Bearer {wrong}"}
    last = last_log_id()
    answers = {mode: call(mode, None, token, warm=key, headers=headers) for mode in MODES}
    for mode, answer in answers.items():
        assert answer.status == 401, mode
        assert set(answer.body) == {"error"}, mode
        assert answer.body["error"]["code"] in ("invalid_gate_key", "unauthorized"), mode
        assert answer.body["error"]["message"], mode
        assert not answer.fast
    assert answers["fast"].same_for_the_gate() == answers["flask"].same_for_the_gate()
    assert log_rows_after(last) == []
    assert call("fast", key, token).body["reason"] == "ok"  # the refused calls used nothing


BAD_BODIES = {
    "not_json": {"data": "{not json", "content_type": "application/json"},
    "json_array": {"data": '["token"]', "content_type": "application/json"},
    "json_string": {"data": '"token"', "content_type": "application/json"},
    "not_utf8": {"data": b'{"token": "\xff\xfe"}', "content_type": "application/json"},
    "text_plain": {"data": '{"token": "x"}', "content_type": "text/plain"},
    "form": {"data": {"token": "x"}},
    "empty": {"data": "", "content_type": "application/json"},
    "unknown_field": {"data": '{"token": "x", "gate": "north"}', "content_type": "application/json"},
    # the shell refuses these before any view (400 too_deep, 422): the fast path must not
    # parse them itself (1,000 levels were a RecursionError, a 500)
    "too_deep": {"data": "[" * 1000 + "]" * 1000, "content_type": "application/json"},
    "too_deep_token": {"data": '{"token": ' + "[" * 1000 + "]" * 1000 + "}",
                       "content_type": "application/json"},
    "nul_byte": {"data": '{"token": "eyJ\\u0000x"}', "content_type": "application/json"},
    "lone_surrogate": {"data": '{"token": "\\ud800"}', "content_type": "application/json"},
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_bodies_are_flasks_answer(case, call, make_gate):
    key, _ = make_gate()
    last = last_log_id()
    answers = {mode: call(mode, key, **BAD_BODIES[case]) for mode in MODES}
    flask = answers["flask"]
    assert flask.status in (400, 422), flask
    assert set(flask.body) == {"error"} and flask.body["error"]["code"]
    assert not answers["fast"].fast
    assert answers["fast"].same_for_the_gate() == flask.same_for_the_gate()
    assert log_rows_after(last) == []


def test_oversize_body_is_413(call, resident, card_for, token_for, make_gate):
    card_for(resident)
    key, _ = make_gate()
    last = last_log_id()
    big = '{"token": "' + "A" * (2 * 1024 * 1024) + '"}'
    answers = {mode: call(mode, key, data=big, content_type="application/json") for mode in MODES}
    for mode, answer in answers.items():
        assert answer.status == 413, mode
        assert answer.body["error"]["code"] == "payload_too_large", mode
        assert not answer.fast
    assert answers["fast"].same_for_the_gate() == answers["flask"].same_for_the_gate()
    assert log_rows_after(last) == []


def test_a_body_flask_limits_lower_is_413_too(app, call, resident, card_for, token_for, make_gate):
    """MAX_CONTENT_LENGTH below the wrapper's own limit: the wrapper does not answer past it."""
    card_for(resident)
    key, _ = make_gate()
    token = token_for(resident)
    app.config["MAX_CONTENT_LENGTH"] = len(token) // 2
    answers = {mode: call(mode, key, token) for mode in MODES}
    for mode, answer in answers.items():
        assert answer.status == 413, mode
        assert not answer.fast
    assert answers["fast"].same_for_the_gate() == answers["flask"].same_for_the_gate()
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    assert call("fast", key, token).body["reason"] == "ok"


def test_a_big_but_allowed_body_is_flasks_malformed(call, make_gate):
    """Bigger than the wrapper reads (8 KiB), within Flask's limit: Flask answers malformed."""
    key, _ = make_gate()
    for mode in MODES:
        last = last_log_id()
        answer = call(mode, key, "A" * 20_000)
        assert (answer.status, answer.body["reason"], answer.fast) == (200, "malformed", False)
        assert [r[1] for r in log_rows_after(last)] == ["malformed"]


def test_a_request_with_a_cookie_is_flasks(app, call, login, resident, card_for, token_for,
                                           make_gate):
    """The session may choose the language: only Flask reads it."""
    card_for(resident)
    key, _ = make_gate()
    answers = {}
    for mode in MODES:
        token = token_for(resident)
        browser = app.test_client()
        with browser.session_transaction() as sess:
            sess["lang"] = "en"
        last = last_log_id()
        answers[mode] = answer = call(mode, key, token, client=browser,
                                      headers={"Accept-Language": "zh"})
        assert not answer.fast, mode
        assert (answer.body["reason"], answer.body["message"]) == ("ok", message("ok", "en"))
        assert answer.headers["Content-Language"] == "en"
        assert [r[1] for r in log_rows_after(last)] == ["ok"]
    assert answers["fast"].same_for_the_gate() == answers["flask"].same_for_the_gate()


def test_other_methods_and_paths_are_flasks(app, make_gate):
    key, _ = make_gate()
    warm_caches(key)
    fast = app.extensions["eid_fast_path"]
    before = fast.served
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/eid/verify", headers=headers).status_code == 405
    assert client.post("/api/v1/eid/verify/", json={"token": "x"}, headers=headers).status_code \
        in (308, 404)
    assert client.get("/api/v1/eid/keys").status_code == 200
    assert fast.served == before


# -- (c) the database is down ----------------------------------------------------------------

UNREACHABLE_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/portal"  # nothing on port 1


def test_unreachable_database_is_503_and_grants_nothing(app, make_app, call, resident, card_for,
                                                        token_for, make_gate):
    """The gate is told to try again; nothing is granted and no token is used up."""
    card_for(resident)
    key, _ = make_gate()
    down = make_app(SQLALCHEMY_DATABASE_URI=UNREACHABLE_DATABASE, SQLALCHEMY_ENGINE_OPTIONS={})
    tokens, answers = {}, {}
    for mode in MODES:
        tokens[mode] = token_for(resident)
        warm_caches(key)  # the gate key and public keys are cached; the database is gone
        down.config["EID_VERIFY_FAST_PATH"] = mode == "fast"
        before = down.extensions["eid_fast_path"].served
        last = last_log_id()
        response = down.test_client().post("/api/v1/eid/verify", json={"token": tokens[mode]},
                                           headers={"Authorization": f"Bearer {key}"})
        answers[mode] = answer = Answer(response.status_code, response.get_json(),
                                        {h: response.headers.get(h) for h in HEADERS},
                                        down.extensions["eid_fast_path"].served - before == 1,
                                        response.get_data())
        assert answer.status == 503, mode
        assert answer.body == {"error": {
            "code": "verify_unavailable",
            "message": str(service.VerifyUnavailable.default_message)}}, mode
        assert answer.headers["Cache-Control"] == "no-store"  # as every answer of the portal
        assert answer.fast == (mode == "fast")
        assert log_rows_after(last) == []
    assert answers["fast"].same_for_the_gate() == answers["flask"].same_for_the_gate()

    for mode in MODES:  # the database is back: nothing was used up while it was down
        assert call(mode, key, tokens[mode]).body["reason"] == "ok"


# -- (d) the language of the answer ----------------------------------------------------------

@pytest.mark.parametrize(("accept", "query", "lang"), [
    (None, "", "ko"),
    ("ko-KR,ko;q=0.9", "", "ko"),
    ("en-US,en;q=0.9", "", "en"),
    ("zh-CN,zh;q=0.9,en;q=0.5", "", "zh"),
    ("fr-FR, de;q=0.8", "", "ko"),
    ("fr-FR, en;q=0.5, zh;q=0.7", "", "zh"),
    ("en", "?lang=zh", "zh"),
    ("zh", "?lang=EN", "en"),
    ("en", "?lang=xx", "en"),
])
def test_language_follows_the_request(accept, query, lang, app, call, resident, card_for,
                                      token_for, make_gate):
    card_for(resident)
    key, _ = make_gate()
    headers = {"Accept-Language": accept} if accept else {}
    answers = {}
    for mode in MODES:
        for reason, token in (("ok", token_for(resident)), ("malformed", "x")):
            app.config["EID_VERIFY_FAST_PATH"] = mode == "fast"
            if mode == "fast":
                warm_caches(key)
            before = app.extensions["eid_fast_path"].served
            response = app.test_client().post(
                "/api/v1/eid/verify" + query, json={"token": token},
                headers={"Authorization": f"Bearer {key}", **headers})
            assert app.extensions["eid_fast_path"].served - before == (mode == "fast")
            body = response.get_json()
            assert (body["reason"], body["message"]) == (reason, message(reason, lang)), mode
            assert response.headers["Content-Language"] == lang
            answers[mode, reason] = (response.status_code, body,
                                     {h: response.headers.get(h) for h in HEADERS})
    for reason in ("ok", "malformed"):
        assert answers["fast", reason] == answers["flask", reason]


def test_the_three_languages_differ(app):
    """The language tests above would prove nothing if the catalogues were missing."""
    assert len({message("ok", lang) for lang in ("ko", "en", "zh")}) == 3
    assert len({message("replayed", lang) for lang in ("ko", "en", "zh")}) == 3


def test_debug_mode_pretty_prints_like_flask(app, call, resident, card_for, make_gate):
    card_for(resident)
    key, _ = make_gate()
    app.debug = True  # jsonify indents in debug mode; the wrapper must too
    raw = {}
    for mode in MODES:
        answer = call(mode, key, "x")
        assert answer.fast == (mode == "fast")
        raw[mode] = answer.raw
    assert raw["fast"] == raw["flask"]
    assert b'\n  "decision"' in raw["fast"]


# -- group commit: the batched statement decides row for row as the single check ----------

def _card_states(make_user, staff, card_for) -> dict:
    """{state: sub} for cards active, suspended, revoked and past their validity, plus an
    unknown sub and none."""
    from portal.types import utcnow

    subs = {}
    for state in ("active", "suspended", "revoked", "expired"):
        card = card_for(make_user())
        subs[state] = card["card_id"]
        if state == "suspended":
            service.suspend_card(db.session, staff, card["card_id"], "investigation")
        elif state == "revoked":
            db.session.execute(db.update(Card).where(Card.public_id == card["card_id"])
                               .values(status="revoked"))
        elif state == "expired":  # still "active", past its validity
            db.session.execute(db.update(Card).where(Card.public_id == card["card_id"])
                               .values(expires_at=utcnow()))
    db.session.commit()
    subs["unknown"], subs["none"] = "no-such-card", None
    return subs


def _claims(now_s: float) -> dict:
    return {"jti": uuid.uuid4().hex, "exp": int(now_s) + 60}


def _gate_info(facility) -> service.GateInfo:
    gate_id = db.session.scalar(db.select(service.Gate.id).where(
        service.Gate.facility_id == facility.id))
    return service.GateInfo(id=gate_id, facility_id=facility.id, facility_code=facility.code,
                            policy={})


GIVEN = ("ok", "replayed", "policy", "expired", "not_yet_valid", "bad_signature", "malformed",
         "unknown_key")


@requires_postgres
def test_batched_statement_decides_as_the_single_check(app, make_user, staff, card_for,
                                                       make_gate):
    """``store.log_decisions_stmt`` (the fast path's group commit, PostgreSQL) against
    ``store.remember_and_log`` (the Flask view): every card state x every reason the token
    check can give, then the replays only a batch has: one token twice in a batch, and a
    token a single check used before."""
    _key, facility = make_gate()
    gate = _gate_info(facility)
    subs = _card_states(make_user, staff, card_for)
    cases = [(sub, reason) for sub in subs.values() for reason in GIVEN]
    now_s = time.time() + 1

    single, used_before = [], None
    for sub, reason in cases:
        claims = _claims(now_s)
        row = store.remember_and_log(db.session, gate, reason, claims, sub, now_s)
        single.append(tuple(row))
        if (sub, reason) == (subs["active"], "ok"):
            used_before = claims

    checks = [store.batch_check(gate, reason, _claims(now_s), sub, now_s)
              for sub, reason in cases]
    twice = _claims(now_s)
    extra = [store.batch_check(gate, "ok", claims, subs["active"], now_s)
             for claims in (twice, twice, used_before)]
    rows = db.session.execute(store.log_decisions_stmt(),
                              {"checks": store.batch_checks(checks + extra)}).all()
    db.session.commit()
    batched = [tuple(row[1:]) for row in sorted(rows, key=lambda r: r[0])]

    assert batched[:len(cases)] == single
    assert batched[len(cases):] == [("granted", "ok", "active"), ("denied", "replayed", "active"),
                                    ("denied", "replayed", "active")]
    assert ("denied", "suspended", "suspended") in single  # the cases are not all alike
    assert ("denied", "revoked", "expired") in single and ("granted", "ok", "active") in single
    logged = db.session.execute(db.select(AccessEntry.decision, AccessEntry.reason,
                                          AccessEntry.card_status).order_by(AccessEntry.id)).all()
    assert [tuple(r) for r in logged] == single + batched
    used = set(db.session.scalars(db.select(UsedToken.jti)))
    passed = [c["jti"] for c in checks + extra if c["given"] == "ok"]
    assert set(passed) <= used  # every token that passed its check is used up, even if denied
    assert not any(c["jti"] for c in checks if c["given"] != "ok")


def test_a_check_that_cannot_be_logged_uses_up_nothing(app, resident, card_for, token_for,
                                                       make_gate, verify):
    """The token id and the log row commit together: a decision that could not be written
    (here: a log row without its facility) leaves its token as good as new."""
    from sqlalchemy.exc import IntegrityError

    card = card_for(resident)
    key, facility = make_gate()
    token = token_for(resident)
    claims = verifier.parse_unverified(token)[1]
    broken = service.GateInfo(id=_gate_info(facility).id, facility_id=None,
                              facility_code=facility.code, policy={})
    with pytest.raises(IntegrityError):
        store.remember_and_log(db.session, broken, "ok", claims, card["card_id"], time.time())
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(UsedToken)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(AccessEntry)) == 0
    assert verify(key, token).get_json()["reason"] == "ok"


@requires_postgres
def test_a_batch_with_a_check_that_cannot_be_logged(app, fast_path, resident, make_user,
                                                     card_for, token_for, make_gate):
    """PostgreSQL refuses the whole statement (here: a gate deleted under a cached key); the
    group commit then writes the checks one by one, so only the bad check fails, its token
    is not used up, and the others are decided as usual."""
    from portal.eid.verify.group_commit import Check

    card = card_for(resident)
    _key, facility = make_gate()
    gate = _gate_info(facility)
    gone = service.GateInfo(id=10_000, facility_id=facility.id, facility_code=facility.code,
                            policy={})
    now_s = time.time()
    tokens = [token_for(resident) for _ in range(3)]
    claims = [verifier.parse_unverified(t)[1] for t in tokens]
    batch = [Check(store.batch_check(g, "ok", c, card["card_id"], now_s))
             for g, c in zip((gate, gone, gate), claims, strict=True)]
    backend = fast_path._make_backend()
    backend._commit(batch)
    assert [c.row for c in batch] == [("granted", "ok", "active"), None, ("granted", "ok", "active")]
    assert batch[1].error is not None and getattr(batch[1].error, "sqlstate", None) == "23503"
    used = set(db.session.scalars(db.select(UsedToken.jti)))
    assert used == {claims[0]["jti"], claims[2]["jti"]}


@requires_postgres
def test_batches_racing_on_the_same_tokens_wait_and_never_deadlock(app, fast_path, resident,
                                                                    card_for, make_gate):
    """Two processes' batches carry two tokens in opposite orders, behind a third transaction
    that holds one of them: they wait for each other, each token is granted once, and neither
    is rolled back as a deadlock. (Were the ids inserted in the order the checks came, the
    batch that takes the released id first would wait for the other's second id while the
    other waits for it.)"""
    card = card_for(resident)
    _key, facility = make_gate()
    gate = _gate_info(facility)
    backend = fast_path._make_backend()
    db.session.commit()
    for _round in range(4):
        now_s = time.time()
        first, second = sorted((_claims(now_s), _claims(now_s)), key=lambda c: c["jti"])
        orders = {"a": [first, second], "b": [second, first]}  # started in this order
        checks = {name: json.dumps(store.batch_checks(
                      [store.batch_check(gate, "ok", c, card["card_id"], now_s) for c in order]))
                  for name, order in orders.items()}
        results = _race_behind_a_held_id(backend, first["jti"], checks)
        reasons = Counter((orders[name][ord_]["jti"], reason)
                          for name, rows in results.items() for ord_, _d, reason, _s in rows)
        assert reasons == {(first["jti"], "ok"): 1, (first["jti"], "replayed"): 1,
                           (second["jti"], "ok"): 1, (second["jti"], "replayed"): 1}


def _race_behind_a_held_id(backend, held_jti: str, checks: dict[str, str]) -> dict:
    """Insert ``held_jti`` in a transaction left open; start each batch of ``checks`` on a
    connection of its own and wait until it waits for a lock; roll the holder back; return
    each batch's rows (an error in a batch fails the test)."""
    import threading

    import psycopg

    results: dict = {}
    errors: list = []

    def run(conn, name):
        try:
            with conn:
                results[name] = conn.execute(backend.sql, {**backend.base,
                                                           "checks": checks[name]}).fetchall()
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = []
    with psycopg.connect(backend.conninfo) as holder:
        holder.execute("INSERT INTO eid_used_token (jti, expires_at) VALUES (%s, now())",
                       (held_jti,))
        for name in checks:
            conn = psycopg.connect(backend.conninfo, autocommit=True)
            threads.append(threading.Thread(target=run, args=(conn, name)))
            threads[-1].start()
            deadline = time.monotonic() + 10
            while True:
                holder.execute("SELECT pg_stat_clear_snapshot()")  # else one view a transaction
                if holder.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity "
                                  "WHERE pid = %s", (conn.info.backend_pid,)).fetchone()[0]:
                    break
                assert time.monotonic() < deadline, "the batch did not wait for the lock"
                time.sleep(0.02)
        holder.rollback()  # the id is free again: both batches go for it
    for thread in threads:
        thread.join(30)
    assert errors == []
    return results
