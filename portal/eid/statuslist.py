"""The IETF Token Status List (draft-ietf-oauth-status-list) for e-ID cards: pure functions
over PyJWT, zlib and cryptography, without Flask or a database, so a gate device can read it.

Each card holds a position (``Card.status_idx``); the list gives every position 2 bits:
0 valid, 1 invalid (revoked or expired), 2 suspended (3 is left to applications; unused here).
Position 0 is in the least significant bits of byte 0 (the draft's "Status List" section: its
2-bit example, statuses ``[1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]``, is the bytes ``c9 44 f9``).
``lst`` is base64url (no padding) of those bytes zlib-compressed (RFC 1950) at level 9.

    token = sign(size, {idx: 1, ...}, key=private, kid=kid, uri=uri, iat=iat, exp=exp, ttl=300)
    status_list = decode(token, {kid: public})      # StatusListError when anything is wrong
    status_list.stale(time.time())                  # past exp: a gate must refuse it
    status_list.get(idx)                            # 0, 1 or 2

An index outside the list reads as INVALID (1), never as an error: the draft says no statement
can be made about such a token and it should be rejected, and a gate must not fail open nor crash
on it. Credentials are signed with positions below ``portal.eid.models.STATUS_LIST_SIZE``, which
is the size of every list the city signs, so this happens only with a list not meant for them.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterable, Mapping

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VALID, INVALID, SUSPENDED = 0, 1, 2
BITS = 2
PER_BYTE = 8 // BITS
TYP = "statuslist+jwt"
ALGORITHM = "EdDSA"
# The largest list a reader inflates: 2**24 positions, 4 MiB (a bomb inflates no further).
MAX_SIZE = 1 << 24
MAX_TOKEN_LENGTH = 4 * MAX_SIZE  # characters; 1,000,000 cards at 10 % changed is ~0.25 MB


class StatusListError(ValueError):
    """The status list token is unreadable, wrongly signed, of another kind, or (``decode``
    with ``now``) past its ``exp``."""


# --- the bytes ---------------------------------------------------------------------------


def encode(statuses: Mapping[int, int] | Iterable[int] | bytes | bytearray, size: int) -> bytes:
    """The packed list of ``size`` positions (``size`` rounded up to a whole byte).

    ``statuses`` is ``{index: status}`` for the non-zero positions (sparse: what the issuer
    has), a sequence of statuses from index 0 (dense: the draft's examples), or bytes already
    packed (returned as they are, checked for length). Statuses are 0..3; anything else, or an
    index outside ``0 <= index < size``, is a ``ValueError``."""
    if not isinstance(size, int) or not 0 < size <= MAX_SIZE:
        raise ValueError(f"size must be 1..{MAX_SIZE}")
    length = -(-size // PER_BYTE)
    if isinstance(statuses, bytes | bytearray):
        if len(statuses) != length:
            raise ValueError(f"packed list of {len(statuses)} bytes for {size} positions")
        return bytes(statuses)
    if isinstance(statuses, Mapping):
        out = bytearray(length)
        for idx, value in statuses.items():
            if not (isinstance(idx, int) and 0 <= idx < size):
                raise ValueError(f"index {idx!r} outside the list of {size}")
            if value not in (0, 1, 2, 3):
                raise ValueError(f"status {value!r} is not 2 bits")
            out[idx >> 2] |= value << ((idx & 3) << 1)
        return bytes(out)
    values = bytes(statuses)  # ValueError for a value outside 0..255
    if len(values) > size:
        raise ValueError(f"{len(values)} statuses for a list of {size}")
    if values and max(values) > 3:
        raise ValueError("a status is not 2 bits")
    values += bytes(length * PER_BYTE - len(values))
    # Four lanes, each byte of a lane 0..3: shifted by 0, 2, 4, 6 bits they add without carry.
    packed = sum(int.from_bytes(values[lane::PER_BYTE], "little") << (BITS * lane)
                 for lane in range(PER_BYTE))
    return packed.to_bytes(length, "little")


def compress(packed: bytes) -> str:
    """``lst``: base64url, no padding, of the packed bytes zlib-compressed at the highest level."""
    return base64.urlsafe_b64encode(zlib.compress(packed, 9)).rstrip(b"=").decode("ascii")


def decompress(lst: str, max_bytes: int = MAX_SIZE // PER_BYTE) -> bytes:
    """The packed bytes of ``lst``; ``StatusListError`` when it is not base64url of zlib data
    or would inflate beyond ``max_bytes``."""
    if not isinstance(lst, str) or not lst:
        raise StatusListError("lst is not a string")
    try:
        raw = base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4))
        inflater = zlib.decompressobj()
        packed = inflater.decompress(raw, max_bytes)
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise StatusListError(f"lst is not base64url zlib data: {exc}") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise StatusListError("lst is truncated or too large")
    if not packed:
        raise StatusListError("lst is empty")
    return packed


# --- the token ---------------------------------------------------------------------------


def sign(size: int, statuses: Mapping[int, int] | Iterable[int] | bytes | bytearray, *,
         key: Ed25519PrivateKey, kid: str, uri: str, iat: int, exp: int, ttl: int) -> str:
    """The Status List Token: a compact JWS, header ``{"alg": "EdDSA", "kid", "typ":
    "statuslist+jwt"}``, claims ``{"sub": uri, "iat", "exp", "ttl", "status_list": {"bits": 2,
    "lst"}}``. Ed25519 signatures are deterministic: the same list and times sign to the same
    token."""
    return sign_lst(compress(encode(statuses, size)), key=key, kid=kid, uri=uri, iat=iat,
                    exp=exp, ttl=ttl)


def sign_lst(lst: str, *, key: Ed25519PrivateKey, kid: str, uri: str, iat: int, exp: int,
             ttl: int) -> str:
    """``sign`` for a list already compressed (``compress(encode(...))``)."""
    claims = {
        "sub": uri,
        "iat": int(iat),
        "exp": int(exp),
        "ttl": int(ttl),
        "status_list": {"bits": BITS, "lst": lst},
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": TYP})


class StatusList:
    """A verified Status List Token: ``get(idx)``, and its ``uri``, ``iat``, ``exp``, ``ttl``,
    ``size`` (positions: 4 a byte), ``kid``."""

    __slots__ = ("_packed", "exp", "iat", "kid", "size", "ttl", "uri")

    def __init__(self, packed: bytes, *, uri: str, iat: int, exp: int, ttl: int | None,
                 kid: str | None = None):
        self._packed = bytes(packed)
        self.size = len(self._packed) * PER_BYTE
        self.uri, self.iat, self.exp, self.ttl, self.kid = uri, iat, exp, ttl, kid

    def get(self, idx: int) -> int:
        """The status at ``idx``: VALID 0, INVALID 1, SUSPENDED 2 (or 3). An index outside the
        list (or not an int) is INVALID: the token it belongs to must be refused."""
        if not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx < self.size:
            return INVALID
        return (self._packed[idx >> 2] >> ((idx & 3) << 1)) & 3

    def stale(self, now: float) -> bool:
        """Past its ``exp`` at ``now`` (unix seconds): a verifier must not use it."""
        return now > self.exp

    def __repr__(self) -> str:
        return f"StatusList(uri={self.uri!r}, size={self.size}, iat={self.iat}, exp={self.exp})"


def _b64json(part: str) -> dict:
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise StatusListError("not a compact JWS") from None
    if not isinstance(value, dict):
        raise StatusListError("not a compact JWS")
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decode(token: str, keys: Mapping[str, Ed25519PublicKey], *, uri: str | None = None,
           now: float | None = None) -> StatusList:
    """Check a Status List Token and read it. ``keys`` is ``{kid: Ed25519 public key}`` (as
    ``verifier.load_jwks`` gives). Refused (``StatusListError``): not a compact JWS, ``alg`` not
    EdDSA, ``typ`` not ``statuslist+jwt``, kid unknown, bad signature, ``sub`` not ``uri`` (when
    given), ``iat``/``exp`` missing, ``exp`` not after ``iat``, ``bits`` not 2, ``lst`` not
    zlib, and past ``exp`` when ``now`` is given (else ask ``StatusList.stale``)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise StatusListError("not a compact JWS")
    token = token.strip()
    parts = token.split(".")
    if len(parts) != 3:
        raise StatusListError("not a compact JWS")
    header = _b64json(parts[0])
    if header.get("alg") != ALGORITHM:
        raise StatusListError(f"alg is not {ALGORITHM}")
    if header.get("typ") != TYP:
        raise StatusListError(f"typ is not {TYP}")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise StatusListError(f"unknown key {kid!r}")
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM],
                            options={"verify_exp": False, "verify_iat": False,
                                     "verify_nbf": False, "verify_aud": False,
                                     "verify_iss": False, "verify_sub": False,
                                     "verify_jti": False})
    except jwt.InvalidSignatureError:
        raise StatusListError("bad signature") from None
    except jwt.PyJWTError as exc:
        raise StatusListError(f"unreadable: {exc}") from None
    sub, iat, exp, ttl = claims.get("sub"), claims.get("iat"), claims.get("exp"), claims.get("ttl")
    if not isinstance(sub, str) or (uri is not None and sub != uri):
        raise StatusListError("sub is not the status list's uri")
    if not (_is_int(iat) and _is_int(exp)) or exp <= iat:
        raise StatusListError("iat and exp missing or out of order")
    if ttl is not None and not (_is_int(ttl) and ttl > 0):
        raise StatusListError("ttl is not a positive integer")
    body = claims.get("status_list")
    if not isinstance(body, dict) or body.get("bits") != BITS:
        raise StatusListError(f"status_list is not {BITS} bits a position")
    result = StatusList(decompress(body.get("lst")), uri=sub, iat=iat, exp=exp, ttl=ttl, kid=kid)
    if now is not None and result.stale(now):
        raise StatusListError("past its exp")
    return result
