"""The e-ID API's request bodies and answers.

Each answer has a response model (``XOut``: its shape, for the API document and for the test
that checks real answers against it) and beside it the one function that builds it as a plain
dict (``x_json``), which is what the API sends: no pydantic while answering. The gate answer
is also built by the fast path (``portal.eid.verify.wsgi``), once per request.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from portal.api import DEFAULT_LIMIT, MAX_LIMIT, Body, Query, iso
from portal.eid.models import CARD_STATUSES, DAY_CODES, FACILITY_KINDS
from portal.eid.verifier import MAX_LIFETIME, MAX_TOKEN_LENGTH, REASONS
from portal.i18n import pick

Reason = Literal[REASONS]
CardStatus = Literal[CARD_STATUSES]


class VerifyBody(Body):
    # The token is checked by the verifier itself (any value; not a string, too long or not a
    # JWS is "malformed", answered 200 like every other decision, by the fast path and the view
    # alike): so its schema allows any value.
    token: object = Field(default=None, description=(
        "the card's QR code: a presentation (EID1: and base45 of a device-bound credential and "
        f"the phone's proof), or a server token (a compact JWS, EdDSA) of at most {MAX_TOKEN_LENGTH} "
        "characters while EID_LEGACY_TOKENS is on; anything else, or none, is answered 200 denied "
        "with reason malformed"))


class PageQuery(Query):
    cursor: str = Field(default="", description="next_cursor of the previous page (empty or absent: "
                                                "the first page)")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- cards -------------------------------------------------------------------------------


class CardOut(_Out):
    card_id: str
    status: CardStatus
    number: str
    issued_at: AwareDatetime
    expires_at: AwareDatetime


def card_json(card) -> dict:
    return {
        "card_id": card.public_id,
        "status": card.status,
        "number": card.masked_number,
        "issued_at": iso(card.issued_at),
        "expires_at": iso(card.expires_at),
    }


class TokenOut(_Out):
    token: str
    expires_in: int = Field(ge=1, le=MAX_LIFETIME, description="seconds")


def token_json(token: str, expires_in: int) -> dict:
    return {"token": token, "expires_in": expires_in}


class DeviceKey(BaseModel):
    """A phone's public key as WebCrypto exports it (other members, such as ext and key_ops,
    are let through and ignored; a private part ``d`` is refused)."""

    model_config = ConfigDict(extra="allow")
    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str = Field(min_length=43, max_length=43, pattern=r"^[A-Za-z0-9_-]{43}$")
    y: str = Field(min_length=43, max_length=43, pattern=r"^[A-Za-z0-9_-]{43}$")


class CredentialBody(Body):
    device_key: DeviceKey = Field(description=(
        "the phone's public key as a JWK: kty EC, crv P-256, x and y (base64url, 32 bytes each, "
        "a point of the curve: 422 invalid_device_key otherwise); made non-extractable in the "
        "browser (WebCrypto), never sent with its private part"))


class CredentialStatusOut(_Out):
    idx: int = Field(ge=0, description="the card's position in the status list")
    uri: str = Field(description="the status list (GET /api/v1/eid/status-list)")


class CredentialOut(_Out):
    credential: str = Field(description=(
        "base64url (no padding) of the credential: a COSE_Sign1 (EdDSA, kid of the JWKS) over CWT "
        "claims: sub (the card's pseudonym), iat, exp, cnf (the device key), status, and the gate "
        "attributes res, dst, age"))
    expires_at: AwareDatetime
    status: CredentialStatusOut
    server_time: int = Field(description="the server's clock (Unix seconds): the phone dates its "
                                         "proofs by it")


def credential_json(issued) -> dict:
    return {"credential": issued.credential_b64, "expires_at": iso(issued.expires_at),
            "status": {"idx": issued.status_idx, "uri": issued.status_uri},
            "server_time": issued.server_time}


# -- the gate's answer -------------------------------------------------------------------


class GateAnswerOut(_Out):
    decision: Literal["granted", "denied"]
    reason: Reason
    message: str
    facility: str
    card_status: CardStatus | None
    resident_discount: int
    server_time: int = Field(description="the server's clock (Unix seconds): gates set theirs by it")


def gate_answer(gate, claims: dict, decision: str, reason: str, card_status: str | None,
                message: str) -> dict:
    """The gate's answer (no personal data)."""
    discount = 0
    if reason == "ok" and claims.get("resident"):
        discount = gate.policy.get("resident_discount", 0)
    return {
        "decision": decision,
        "reason": reason,
        "message": message,
        "facility": gate.facility_code,
        "card_status": card_status,
        "resident_discount": discount,
        # The server's clock: a gate sets its own by it (an offline gate's checks use the
        # offset it learned when it last synced).
        "server_time": int(time.time()),
    }


# -- facilities --------------------------------------------------------------------------


class PolicyOut(_Out):
    residents_only: bool
    districts: list[str]
    min_age: int | None
    max_age: int | None
    resident_discount: int


class FacilityOut(_Out):
    code: str
    name: str
    lang: Literal["ko", "en", "zh"] | None
    names: dict[str, str]
    kind: Literal[FACILITY_KINDS]
    opening_hours: dict[Literal[DAY_CODES], str]
    policy: PolicyOut


class FacilitiesOut(_Out):
    items: list[FacilityOut]
    next_cursor: str | None


def facility_json(facility, lang: str | None = None) -> dict:
    name, served = pick(facility.names, lang)
    return {
        "code": facility.code,
        "name": name,
        "lang": served,
        "names": dict(facility.names or {}),
        "kind": facility.kind,
        "opening_hours": {DAY_CODES[int(d)]: span
                          for d, span in sorted((facility.opening_hours or {}).items())},
        "policy": facility.policy,
    }


def facilities_json(facilities, next_cursor: str | None, lang: str | None = None) -> dict:
    return {"items": [facility_json(f, lang) for f in facilities], "next_cursor": next_cursor}


# -- the access log ----------------------------------------------------------------------


class AccessEntryOut(_Out):
    at: AwareDatetime
    facility: str
    facility_name: str
    decision: Literal["granted", "denied"]
    reason: Reason


class AccessLogOut(_Out):
    items: list[AccessEntryOut]
    next_cursor: str | None


def access_json(entry, lang: str | None = None) -> dict:
    return {
        "at": iso(entry.at),
        "facility": entry.facility.code,
        "facility_name": pick(entry.facility.names, lang)[0],
        "decision": entry.decision,
        "reason": entry.reason,
    }


def access_log_json(entries, next_cursor: str | None, lang: str | None = None) -> dict:
    return {"items": [access_json(e, lang) for e in entries], "next_cursor": next_cursor}


# -- what offline gates download (built by ``keys.jwks`` and ``service.status_document``) --


class JwkOut(_Out):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class JwksOut(_Out):
    keys: list[JwkOut]


class StatusOut(_Out):
    revoked: list[str]
    suspended: list[str]
