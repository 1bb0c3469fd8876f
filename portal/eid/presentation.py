"""The card on the phone: a device-bound credential, and the presentations a phone makes of it.

Pure functions over cbor2, base45 and cryptography, without Flask, like ``verifier`` (which
calls ``check`` for a presentation), so a gate device can run them offline.

**Credential** (issued by the city for one phone's key, valid at most ``MAX_CREDENTIAL_SECONDS``):
a COSE_Sign1 (RFC 9052, untagged) signed with the issuer's Ed25519 key (``kid`` in the protected
header, the keys of the JWKS), over CWT claims (RFC 8392): ``2`` sub (the card's pseudonym),
``4`` exp, ``6`` iat, ``8`` cnf (the phone's P-256 key as a compressed COSE_Key), ``65535``
status (``{"status_list": {"idx", "uri"}}``, draft-ietf-oauth-status-list), and what gates need
(``"res"`` resident, ``"dst"`` district, ``"age"`` ages met).

**Proof** (made on the phone every ``REFRESH_SECONDS``, without network): a COSE_Sign1 signed
with the phone's key (ES256) over ``{6: iat, 7: cti}``, with the credential's bytes as external
AAD, so a proof belongs to one credential (like SD-JWT's key binding).

**Presentation** (the QR code): ``PREFIX`` + base45(CBOR array of the two, verbatim): about 450
characters, a QR of version 15 or so at error correction M, where a JWT was about 450 before
with no device binding. ``Device`` is a phone in Python, for tests and benchmarks.

``check`` returns the verifier's reason and the claims as the rest of the verifier reads them
(``sub``, ``iat`` and ``exp`` of the proof, ``jti`` its id, the gate attributes,
``status_idx``), so status, policy and replay are decided as for the older server tokens.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import secrets
import sys
import time
from array import array
from collections.abc import Callable, Mapping
from typing import Any

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

PREFIX = "EID1:"
MAX_TEXT = 1200  # characters read at all; a real presentation is under 600
MAX_CREDENTIAL_SECONDS = 24 * 3600
REFRESH_SECONDS = 30  # the phone shows a new proof this often
PROOF_SECONDS = 60  # a proof is accepted this long after its iat (plus the leeway)
CTI_BYTES = 12

# COSE and CWT labels
_ALG, _KID = 1, 4
_EDDSA, _ES256 = -8, -7
_SUB, _EXP, _IAT, _CNF, _CTI, _STATUS = 2, 4, 6, 8, 7, 65535
_PROTECTED_ES256 = cbor2.dumps({_ALG: _ES256})
_ECDSA = ec.ECDSA(hashes.SHA256())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sig_structure(protected: bytes, external_aad: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, external_aad, payload])


def _sign1(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    return cbor2.dumps([protected, {}, payload, signature])


# --- the device key ---------------------------------------------------------------------------


def device_key(jwk: Any) -> tuple[bytes, str]:
    """A phone's public JWK (EC P-256, ``x`` and ``y``) -> (the uncompressed point, its RFC 7638
    thumbprint). ValueError for anything else (another curve, a point not on the curve, a
    private key)."""
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("an EC P-256 public key is expected")
    if "d" in jwk:
        raise ValueError("a private key was sent")
    x, y = jwk.get("x"), jwk.get("y")
    if not (isinstance(x, str) and isinstance(y, str) and len(x) == 43 and len(y) == 43):
        raise ValueError("x and y are 32 bytes, base64url")
    try:
        point = b"\x04" + b64url_decode(x) + b64url_decode(y)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, TypeError) as exc:
        raise ValueError("not a point of P-256") from exc
    canonical = json.dumps({"crv": "P-256", "kty": "EC", "x": x, "y": y}, separators=(",", ":"))
    return point, b64url(hashlib.sha256(canonical.encode()).digest())


def _cose_key(point: bytes) -> dict:
    """The compressed COSE_Key of an uncompressed P-256 point (-3 true when y is odd)."""
    return {1: 2, -1: 1, -2: point[1:33], -3: bool(point[64] & 1)}


# --- issuing ----------------------------------------------------------------------------------


def issue(key: Ed25519PrivateKey, kid: str, *, sub: str, iat: int, exp: int, device_point: bytes,
          status_idx: int, status_uri: str, resident: bool, district: str | None,
          age_over: list[int]) -> bytes:
    """The credential's CBOR bytes, signed with the issuer's key."""
    if not 0 < exp - iat <= MAX_CREDENTIAL_SECONDS:
        raise ValueError("a credential lives at most a day")
    protected = cbor2.dumps({_ALG: _EDDSA, _KID: kid.encode()})
    payload = cbor2.dumps({
        _SUB: sub, _EXP: int(exp), _IAT: int(iat), _CNF: {1: _cose_key(device_point)},
        _STATUS: {"status_list": {"idx": int(status_idx), "uri": status_uri}},
        "res": bool(resident), "dst": district, "age": [int(a) for a in age_over],
    })
    return _sign1(protected, payload, key.sign(_sig_structure(protected, b"", payload)))


# --- presenting (the phone) -------------------------------------------------------------------


def proof(sign: Callable[[bytes], bytes], credential: bytes, iat: int, cti: bytes) -> bytes:
    """A proof for ``credential``: ``sign`` signs the Sig_structure and returns raw r||s."""
    payload = cbor2.dumps({_IAT: int(iat), _CTI: cti})
    return _sign1(_PROTECTED_ES256, payload, sign(_sig_structure(_PROTECTED_ES256, credential, payload)))


def encode(credential: bytes, proof_bytes: bytes) -> str:
    """The QR text of a presentation: the prefix and base45 of the array of the two."""
    return PREFIX + base45.b45encode(b"\x82" + credential + proof_bytes).decode("ascii")


class Device:
    """A phone, in Python: its key pair, and the presentations it makes (tests, benchmarks)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey | None = None):
        self.private_key = private_key or ec.generate_private_key(ec.SECP256R1())
        numbers = self.private_key.public_key().public_numbers()
        self._x, self._y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")

    def jwk(self) -> dict:
        return {"kty": "EC", "crv": "P-256", "x": b64url(self._x), "y": b64url(self._y)}

    def sign(self, data: bytes) -> bytes:
        r, s = decode_dss_signature(self.private_key.sign(data, _ECDSA))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def present(self, credential: bytes, iat: int | None = None, cti: bytes | None = None) -> str:
        iat = int(time.time()) if iat is None else iat
        return encode(credential, proof(self.sign, credential, iat, cti or secrets.token_bytes(CTI_BYTES)))


# --- checking (the gate) ----------------------------------------------------------------------

_BASE45 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_VALUES = bytes(_BASE45.index(c) if c in _BASE45 else 255 for c in range(256))
_SWAP = sys.byteorder == "little"


def b45decode(text: str) -> bytes:
    """RFC 9285 base45 to bytes; ValueError when it is not base45. The ``base45`` package's
    decoder, in a form that does the arithmetic in one comprehension: 15 against 38 us for a
    presentation, a sixth of an offline check (the package still encodes, and tests compare)."""
    try:
        values = text.encode("ascii").translate(_BASE45_VALUES)
    except UnicodeEncodeError:
        raise ValueError("not base45") from None
    if b"\xff" in values or len(values) % 3 == 1:
        raise ValueError("not base45")
    full = len(values) - len(values) % 3
    try:
        words = array("H", [a + 45 * b + 2025 * c for a, b, c in
                            zip(values[0:full:3], values[1:full:3], values[2:full:3], strict=True)])
    except OverflowError:  # a triple above 65535
        raise ValueError("not base45") from None
    if _SWAP:
        words.byteswap()
    data = words.tobytes()
    if full != len(values):
        last = values[full] + 45 * values[full + 1]
        if last > 255:
            raise ValueError("not base45")
        data += bytes((last,))
    return data



class _Malformed(Exception):
    pass


def is_int(value: Any) -> bool:
    """An int that is not a bool (CBOR and JSON claims alike: ``True`` is no time)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _sign1_parts(item: Any) -> tuple[bytes, bytes, bytes]:
    if not (isinstance(item, list) and len(item) == 4 and isinstance(item[0], bytes)
            and isinstance(item[1], dict) and isinstance(item[2], bytes) and isinstance(item[3], bytes)):
        raise _Malformed
    return item[0], item[2], item[3]


def _map(data: bytes) -> dict:
    try:
        value = cbor2.loads(data)
    except Exception as exc:  # noqa: BLE001 - cbor2 raises several kinds on hostile bytes
        raise _Malformed from exc
    if not isinstance(value, dict):
        raise _Malformed
    return value


# The last text split and its parts: a gate check reads the kid (to find the key) and then the
# whole presentation, of the same text.
_last_split: tuple[Any, Any] = (None, None)


def split(text: Any) -> tuple[bytes, Any, Any] | None:
    """(the credential's bytes, the credential item, the proof item or None) of a presentation's
    text, unverified; None when it is not one."""
    global _last_split
    last_text, last_parts = _last_split
    if text is last_text and text is not None:
        return last_parts
    parts = _split(text)
    _last_split = (text, parts)
    return parts


def _split(text: Any) -> tuple[bytes, Any, Any] | None:
    if not isinstance(text, str) or len(text) > MAX_TEXT or not text.startswith(PREFIX):
        return None
    try:
        data = b45decode(text[len(PREFIX):])  # no strip: a space is a base45 digit
    except ValueError:
        return None
    if not data or data[0] not in (0x81, 0x82):
        return None
    stream = io.BytesIO(data)
    stream.seek(1)
    try:
        decoder = cbor2.CBORDecoder(stream)
        credential = decoder.decode()
        end = stream.tell()
        proof_item = decoder.decode() if data[0] == 0x82 else None
        if stream.tell() != len(data):
            return None
    except Exception:  # noqa: BLE001 - cbor2 raises several kinds on hostile bytes
        return None
    return data[1:end], credential, proof_item


def kid_of(text: Any) -> str | None:
    """The issuer key id a presentation names, unverified (None when none can be read)."""
    parts = split(text)
    if parts is None:
        return None
    try:
        protected = _map(_sign1_parts(parts[1])[0])
    except _Malformed:
        return None
    kid = protected.get(_KID)
    return kid.decode("utf-8", "replace") if isinstance(kid, bytes) else None


def _device_public_key(cnf: Any) -> ec.EllipticCurvePublicKey:
    key = cnf.get(1) if isinstance(cnf, dict) else None
    if not (isinstance(key, dict) and key.get(1) == 2 and key.get(-1) == 1
            and isinstance(key.get(-2), bytes) and len(key[-2]) == 32 and isinstance(key.get(-3), bool)):
        raise _Malformed
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), (b"\x03" if key[-3] else b"\x02") + key[-2])
    except ValueError as exc:
        raise _Malformed from exc


def _claims(payload: dict) -> dict:
    sub, iat, exp = payload.get(_SUB), payload.get(_IAT), payload.get(_EXP)
    status = payload.get(_STATUS)
    status_list = status.get("status_list") if isinstance(status, dict) else None
    idx = status_list.get("idx") if isinstance(status_list, dict) else None
    district = payload.get("dst")
    age = payload.get("age")
    if not (isinstance(sub, str) and sub and is_int(iat) and is_int(exp)
            and 0 < exp - iat <= MAX_CREDENTIAL_SECONDS and is_int(idx) and idx >= 0
            and isinstance(payload.get("res"), bool) and (district is None or isinstance(district, str))
            and isinstance(age, list) and all(is_int(a) for a in age)):
        raise _Malformed
    return {"sub": sub, "credential_iat": iat, "credential_exp": exp, "status_idx": idx,
            "resident": payload["res"], "district": district, "age_over": age}


def check(text: Any, keys: Mapping[str, Ed25519PublicKey], now: float, leeway: int) -> tuple[str, dict | None]:
    """A presentation alone against the issuer's keys at ``now``: (reason, claims). The reason
    is "ok" or one the verifier knows (malformed, unknown_key, bad_signature, expired,
    not_yet_valid, unbound); the claims are None until the credential's signature checked out."""
    parts = split(text)
    if parts is None:
        return "malformed", None
    credential, credential_item, proof_item = parts
    try:
        protected_bytes, payload_bytes, signature = _sign1_parts(credential_item)
        protected = _map(protected_bytes)
        kid = protected.get(_KID)
        if protected.get(_ALG) != _EDDSA or not isinstance(kid, bytes) or len(signature) != 64:
            return "malformed", None
    except _Malformed:
        return "malformed", None
    key = keys.get(kid.decode("utf-8", "replace"))
    if key is None:
        return "unknown_key", None
    try:
        key.verify(signature, _sig_structure(protected_bytes, b"", payload_bytes))
    except InvalidSignature:
        return "bad_signature", None
    try:
        payload = _map(payload_bytes)
        claims = _claims(payload)
        device = _device_public_key(payload.get(_CNF))
    except _Malformed:
        return "malformed", None
    claims.update(iat=claims["credential_iat"], exp=claims["credential_exp"])
    if now > claims["credential_exp"] + leeway:
        return "expired", claims
    if now + leeway < claims["credential_iat"]:
        return "not_yet_valid", claims

    # The phone's proof: made with the key the credential names, for this credential.
    try:
        if proof_item is None:
            raise _Malformed
        proof_protected, proof_payload_bytes, proof_signature = _sign1_parts(proof_item)
        if _map(proof_protected).get(_ALG) != _ES256 or len(proof_signature) != 64:
            raise _Malformed
        device.verify(encode_dss_signature(int.from_bytes(proof_signature[:32], "big"),
                                           int.from_bytes(proof_signature[32:], "big")),
                      _sig_structure(proof_protected, credential, proof_payload_bytes), _ECDSA)
        proof_payload = _map(proof_payload_bytes)
    except (_Malformed, InvalidSignature):
        return "unbound", claims
    iat, cti = proof_payload.get(_IAT), proof_payload.get(_CTI)
    if not (is_int(iat) and isinstance(cti, bytes) and 8 <= len(cti) <= 32):
        return "unbound", claims
    claims.update(iat=iat, exp=min(claims["credential_exp"], iat + PROOF_SECONDS), jti=b64url(cti))
    if now > claims["exp"] + leeway:
        return "expired", claims
    if now + leeway < iat:
        return "not_yet_valid", claims
    return "ok", claims
