"""The offline verifier (portal/eid/verifier.py): pure functions, no Flask."""

from __future__ import annotations

import ast
import base64
import json
import pathlib
import threading

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.eid import verifier

NOW = 1_900_000_000


def make_key(kid="k1"):
    private = Ed25519PrivateKey.generate()
    return kid, private, {"keys": [verifier.public_jwk(kid, private.public_key())]}


def sign(private, kid="k1", **claims):
    body = {"iss": "https://portal.example.kr", "sub": "card-abc", "iat": NOW, "exp": NOW + 60,
            "jti": "jti-0123456789", "resident": True, "district": "성동구", "age_over": [14, 19]}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, private, algorithm="EdDSA", headers={"kid": kid})


@pytest.fixture()
def key():
    return make_key()


def check(token, jwks, **kw):
    kw.setdefault("now", NOW + 1)
    return verifier.verify(token, verifier.load_jwks(jwks), **kw)


def test_valid_token_is_granted(key):
    kid, private, jwks = key
    decision, reason, claims = check(sign(private), jwks, status={"revoked": [], "suspended": []})
    assert (decision, reason) == ("granted", "ok")
    assert claims["sub"] == "card-abc"


def test_forged_signature(key):
    _kid, _private, jwks = key
    other = Ed25519PrivateKey.generate()
    assert check(sign(other), jwks).reason == "bad_signature"


def test_altered_claims_break_the_signature(key):
    _kid, private, jwks = key
    head, payload, sig = sign(private).split(".")
    claims = json.loads(verifier.b64url_decode(payload))
    claims["age_over"] = [14, 19, 65]
    forged = verifier.b64url_encode(json.dumps(claims).encode())
    result = check(f"{head}.{forged}.{sig}", jwks)
    assert (result.decision, result.reason) == ("denied", "bad_signature")


def test_unknown_key(key):
    _kid, _private, jwks = key
    other = Ed25519PrivateKey.generate()
    assert check(sign(other, kid="someone-else"), jwks).reason == "unknown_key"


def test_expiry_with_30_seconds_leeway(key):
    _kid, private, jwks = key
    token = sign(private)
    assert check(token, jwks, now=NOW + 60 + 29).reason == "ok"
    assert check(token, jwks, now=NOW + 60 + 31).reason == "expired"


def test_not_yet_valid_with_30_seconds_leeway(key):
    _kid, private, jwks = key
    token = sign(private)
    assert check(token, jwks, now=NOW - 29).reason == "ok"
    assert check(token, jwks, now=NOW - 31).reason == "not_yet_valid"


def test_lifetime_over_60_seconds_is_refused(key):
    _kid, private, jwks = key
    assert check(sign(private, exp=NOW + 3600), jwks).reason == "malformed"


@pytest.mark.parametrize("token", [
    "", "abc", "a.b", "a.b.c", "....", None, 12345, "ü.ä.ö",
    base64.urlsafe_b64encode(b'{"alg":"none","kid":"k1"}').decode().rstrip("=") + ".e30.",
])
def test_malformed(key, token):
    _kid, _private, jwks = key
    assert check(token, jwks).reason == "malformed"


def test_oversize_token(key):
    _kid, private, jwks = key
    big = sign(private, district="x" * 5000)
    assert len(big) > verifier.MAX_TOKEN_LENGTH
    assert check(big, jwks).reason == "malformed"


def test_missing_claims_are_malformed(key):
    _kid, private, jwks = key
    assert check(sign(private, jti=None), jwks).reason == "malformed"
    assert check(sign(private, exp=None), jwks).reason == "malformed"
    assert check(sign(private, sub=None), jwks).reason == "malformed"


def test_wrong_issuer(key):
    _kid, private, jwks = key
    token = sign(private, iss="https://evil.example")
    assert check(token, jwks, issuer="https://portal.example.kr").reason == "malformed"


def test_revoked_and_suspended_status(key):
    _kid, private, jwks = key
    token = sign(private)
    assert check(token, jwks, status={"revoked": ["card-abc"]}).reason == "revoked"
    assert check(token, jwks, status={"suspended": ["card-abc"]}).reason == "suspended"
    assert check(token, jwks, status={"revoked": ["other"]}).reason == "ok"


@pytest.mark.parametrize(("policy", "claims", "reason"), [
    ({"residents_only": True}, {"resident": False}, "policy"),
    ({"residents_only": True}, {"resident": True}, "ok"),
    ({"districts": ["성동구"]}, {"district": "강남구"}, "policy"),
    ({"districts": ["성동구"]}, {"district": "성동구"}, "ok"),
    ({"min_age": 65}, {"age_over": [14, 19]}, "policy"),
    ({"min_age": 65}, {"age_over": [14, 19, 65]}, "ok"),
    ({"max_age": 18}, {"age_over": [14, 19]}, "policy"),
    ({"max_age": 18}, {"age_over": [14]}, "ok"),
])
def test_policy(key, policy, claims, reason):
    _kid, private, jwks = key
    assert check(sign(private, **claims), jwks, policy=policy).reason == reason


def test_replay_store_grants_once(key):
    _kid, private, jwks = key
    token = sign(private)
    store = verifier.MemoryReplayStore(clock=lambda: NOW)
    assert check(token, jwks, replay_store=store).reason == "ok"
    assert check(token, jwks, replay_store=store).reason == "replayed"


def test_denied_token_does_not_use_up_its_jti(key):
    _kid, private, jwks = key
    token = sign(private)
    store = verifier.MemoryReplayStore(clock=lambda: NOW)
    assert check(token, jwks, replay_store=store, policy={"min_age": 65}).reason == "policy"
    assert check(token, jwks, replay_store=store).reason == "ok"


def test_memory_replay_store_is_atomic(key):
    _kid, private, jwks = key
    token = sign(private)
    keys = verifier.load_jwks(jwks)
    store = verifier.MemoryReplayStore()
    results = []
    barrier = threading.Barrier(20)

    def run():
        barrier.wait()
        results.append(verifier.verify(token, keys, replay_store=store, now=NOW).reason)

    threads = [threading.Thread(target=run) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] + ["replayed"] * 19


def test_jwks_shape(key):
    _kid, _private, jwks = key
    (jwk,) = jwks["keys"]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["kid"] == "k1"
    assert len(verifier.b64url_decode(jwk["x"])) == 32
    assert "d" not in jwk


def test_load_jwks_skips_junk():
    assert verifier.load_jwks({"keys": [{"kty": "RSA"}, {"kty": "OKP", "crv": "Ed25519", "x": "!!",
                                                          "kid": "x"}, "junk"]}) == {}
    assert verifier.load_jwks("nonsense") == {}


def test_verifier_does_not_import_flask():
    """What a gate device copies (verifier, presentation, statuslist) imports no Flask, nothing
    of the portal, and of its own package only those three."""
    from portal.eid import presentation, statuslist

    for module in (verifier, presentation, statuslist):
        tree = ast.parse(pathlib.Path(module.__file__).read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
        }
        assert "flask" not in imported and "portal" not in imported, module.__name__
        siblings = {alias.name for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.level for alias in node.names}
        assert siblings <= {"presentation", "statuslist"}, module.__name__
