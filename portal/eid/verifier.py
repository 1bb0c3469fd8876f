"""Offline verifier for e-ID card presentations and tokens.

Pure functions over cryptography, without Flask, so a gate device (or the
``flask eid verify-offline`` command) can check what a card shows against a cached JWKS and a
cached status list, with the clock offset it learned when it last synced:

    keys = load_jwks(kit["keys"])
    status = statuslist.decode(kit["status_list"], keys)
    result = verify(text, keys, status=status, policy=kit["policy"], clock_offset=offset)
    result.decision, result.reason, result.claims

A presentation (``presentation.PREFIX``) is a device-bound credential and its phone's proof
(``portal.eid.presentation``). The older server-signed token, accepted while ``legacy``, is a
compact JWS signed with EdDSA (Ed25519), header ``kid``, claims ``iss``, ``sub`` (the card's
pseudonymous id), ``iat``, ``exp`` (at most ``MAX_LIFETIME`` seconds after ``iat``), ``jti``,
``status_idx`` and the gate attributes ``resident``, ``district``, ``age_over``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import presentation  # the gate device's copy: verifier, presentation and statuslist, side by side

GRANTED = "granted"
DENIED = "denied"
REASONS = (
    "ok",
    "malformed",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "replayed",
    "revoked",
    "suspended",
    "unknown_key",
    "policy",
    "unbound",
    "status_stale",
)
LEEWAY = 30  # seconds of clock skew allowed either way
MAX_LIFETIME = 60  # exp - iat may not exceed this
MAX_TOKEN_LENGTH = 2048  # characters; a real token is ~400
ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class Result:
    decision: str
    reason: str
    claims: dict[str, Any] | None = field(default=None)

    @property
    def granted(self) -> bool:
        return self.decision == GRANTED

    def __iter__(self):  # allows ``decision, reason, claims = verify(...)``
        return iter((self.decision, self.reason, self.claims))


def _deny(reason: str, claims: dict[str, Any] | None = None) -> Result:
    return Result(DENIED, reason, claims)


# --- keys -------------------------------------------------------------------------------


def b64url_decode(data: str) -> bytes:
    data = data.strip()
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


b64url_encode = presentation.b64url  # one base64url encoder for the gate's modules


def public_jwk(kid: str, public_key: Ed25519PublicKey | bytes) -> dict[str, str]:
    """The JWK of an Ed25519 public key (``kty`` OKP, ``crv`` Ed25519)."""
    if isinstance(public_key, Ed25519PublicKey):
        from cryptography.hazmat.primitives import serialization

        public_key = public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(public_key),
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
    }


def load_jwks(jwks: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """``{"keys": [jwk, ...]}`` → ``{kid: public key}``; keys of other types are skipped."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks.get("keys", ()) if isinstance(jwks, Mapping) else ():
        if not isinstance(jwk, Mapping):
            continue
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        kid, x = jwk.get("kid"), jwk.get("x")
        if not isinstance(kid, str) or not isinstance(x, str):
            continue
        try:
            raw = b64url_decode(x)
            keys[kid] = Ed25519PublicKey.from_public_bytes(raw)
        except (ValueError, binascii.Error):
            continue
    return keys


# --- status -----------------------------------------------------------------------------

StatusLookup = Callable[[str], "str | None"]


def status_lookup(status: Mapping[str, Any] | None) -> StatusLookup:
    """A status document ``{"revoked": [ids], "suspended": [ids]}`` → ``lookup(sub)``
    answering "revoked", "suspended" or None."""
    revoked = frozenset((status or {}).get("revoked") or ())
    suspended = frozenset((status or {}).get("suspended") or ())

    def lookup(sub: str) -> str | None:
        if sub in revoked:
            return "revoked"
        if sub in suspended:
            return "suspended"
        return None

    return lookup


# --- replay -----------------------------------------------------------------------------


class ReplayStore(Protocol):
    def remember(self, jti: str, ttl: int) -> bool:
        """Remember ``jti`` for ``ttl`` seconds, atomically. True when it was new, False when
        it had been seen (a replay)."""


class MemoryReplayStore:
    """In-process replay store for one offline gate (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def remember(self, jti: str, ttl: int) -> bool:
        now = self._clock()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
            until = self._seen.get(jti)
            if until is not None and until > now:
                return False
            self._seen[jti] = now + max(int(ttl), 1)
            return True


# --- policy -----------------------------------------------------------------------------


def policy_allows(claims: Mapping[str, Any], policy: Mapping[str, Any] | None) -> bool:
    """A facility policy ``{"residents_only", "districts", "min_age", "max_age"}`` against the
    token's gate attributes. ``min_age`` N needs N in ``age_over``; ``max_age`` N needs N + 1
    not in ``age_over`` (facilities only use ages the issuer publishes as thresholds)."""
    if not policy:
        return True
    if policy.get("residents_only") and claims.get("resident") is not True:
        return False
    districts = policy.get("districts") or ()
    if districts and claims.get("district") not in districts:
        return False
    age_over = claims.get("age_over") or ()
    if not isinstance(age_over, list | tuple):
        return False
    min_age = policy.get("min_age")
    if min_age is not None and int(min_age) not in age_over:
        return False
    max_age = policy.get("max_age")
    if max_age is not None and int(max_age) + 1 in age_over:
        return False
    return True


# --- verify -----------------------------------------------------------------------------

_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\Z")


def parse_unverified(token: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Header and claims of a token without checking anything; None when unreadable."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return header, claims


def replay_ttl(claims: Mapping[str, Any], now: float, leeway: int = LEEWAY) -> int:
    """How long a token id must be remembered: until the token cannot pass any more."""
    return max(int(claims["exp"] + leeway - now) + 1, 1)


def verify(
    token: Any,
    keys: Mapping[str, Ed25519PublicKey],
    *,
    status: Mapping[str, Any] | StatusLookup | Any | None = None,
    policy: Mapping[str, Any] | None = None,
    replay_store: ReplayStore | None = None,
    issuer: str | None = None,
    now: float | None = None,
    leeway: int = LEEWAY,
    clock_offset: float = 0.0,
    legacy: bool = True,
) -> Result:
    """Check one presentation (``presentation.PREFIX``: a device-bound credential and its
    phone's proof) or, while ``legacy``, one server-signed token. Order: shape, key, signature,
    claims, time, device binding, card status, policy, and last the replay store (so only what
    would be granted uses up its ``jti``).

    ``status`` is a status list (``portal.eid.statuslist.StatusList``: a list past its ``exp``
    denies everything as ``status_stale``), a status document or a ``lookup(sub)`` callable.
    ``clock_offset`` is added to the clock (``now`` or the system's): the offset a gate learned
    from the server when it last synced. Returns a ``Result`` (iterable as ``decision, reason,
    claims``)."""
    now = (time.time() if now is None else now) + clock_offset
    if isinstance(token, str) and token.startswith(presentation.PREFIX):
        reason, checked = presentation.check(token, keys, now, leeway)
        if reason != "ok":
            return _deny(reason, checked)
        claims: dict[str, Any] = checked
    else:
        result = _check_jws(token, keys, issuer, now, leeway)
        if isinstance(result, Result):
            return result
        if not legacy:
            return _deny("unbound", result)
        claims = result

    if status is not None:
        card_status = _card_status(status, claims, now)
        if card_status in ("status_stale", "revoked", "suspended"):
            return _deny(card_status, claims)
        if card_status is not None and card_status != "active":
            return _deny("revoked", claims)

    if policy is not None and not policy_allows(claims, policy):
        return _deny("policy", claims)

    if replay_store is not None:
        if not replay_store.remember(claims["jti"], replay_ttl(claims, now, leeway)):
            return _deny("replayed", claims)

    return Result(GRANTED, "ok", claims)


# A position's value in a status list (draft-ietf-oauth-status-list: 0 valid, 1 invalid, 2
# suspended; 3 is for applications, and no card of ours has it, so it counts as invalid).
_LISTED = {0: None, 1: "revoked", 2: "suspended"}


def _card_status(status: Any, claims: Mapping[str, Any], now: float) -> str | None:
    """The card's status by ``status``: None (nothing against it), "revoked", "suspended", or
    "status_stale" for a status list past its ``exp``."""
    if hasattr(status, "stale"):  # a status list
        if status.stale(now):
            return "status_stale"
        idx = claims.get("status_idx")
        if not presentation.is_int(idx):
            return "revoked"  # a token the list cannot speak for is not let through on it
        try:
            return _LISTED.get(status.get(idx), "revoked")
        except (IndexError, ValueError, LookupError):
            return "revoked"
    lookup = status if callable(status) else status_lookup(status)
    return lookup(claims["sub"])


def _check_jws(token: Any, keys: Mapping[str, Ed25519PublicKey], issuer: str | None, now: float,
               leeway: int) -> Result | dict[str, Any]:
    """A server-signed token alone: its claims, or the denial."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return _deny("malformed")
    token = token.strip()
    if not _COMPACT_JWS.match(token):
        return _deny("malformed")
    parts = token.split(".")
    try:
        header = json.loads(b64url_decode(parts[0]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return _deny("malformed")
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
        return _deny("malformed")
    kid = header.get("kid")
    if not isinstance(kid, str):
        return _deny("malformed")
    key = keys.get(kid)
    if key is None:
        return _deny("unknown_key")
    try:
        signature = b64url_decode(parts[2])
        key.verify(signature, (parts[0] + "." + parts[1]).encode("ascii"))
    except InvalidSignature:
        return _deny("bad_signature")
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return _deny("malformed")
    try:
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return _deny("malformed")
    if not isinstance(claims, dict):
        return _deny("malformed")

    iat, exp, sub, jti = claims.get("iat"), claims.get("exp"), claims.get("sub"), claims.get("jti")
    if not (presentation.is_int(iat) and presentation.is_int(exp) and isinstance(sub, str) and sub):
        return _deny("malformed", claims)
    if not isinstance(jti, str) or not (8 <= len(jti) <= 128):
        return _deny("malformed", claims)
    if exp <= iat or exp - iat > MAX_LIFETIME:
        return _deny("malformed", claims)
    if issuer is not None and claims.get("iss") != issuer:
        return _deny("malformed", claims)
    nbf = claims.get("nbf", iat)
    if not presentation.is_int(nbf):
        return _deny("malformed", claims)

    if now > exp + leeway:
        return _deny("expired", claims)
    if now + leeway < max(iat, nbf):
        return _deny("not_yet_valid", claims)
    return claims
