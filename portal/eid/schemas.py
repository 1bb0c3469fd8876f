"""API request bodies and response shapes for the e-ID API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from portal.api import iso
from portal.eid import service
from portal.i18n import pick


class VerifyBody(BaseModel):
    # The token is checked by the verifier itself (any string; too long or not a JWS is
    # "malformed", answered 200 like every other decision).
    model_config = ConfigDict(extra="ignore")
    token: object = None


def card_json(card) -> dict:
    return {
        "card_id": card.public_id,
        "status": card.status,
        "number": card.masked_number,
        "issued_at": iso(card.issued_at),
        "expires_at": iso(card.expires_at),
    }


def facility_json(facility, lang: str | None = None) -> dict:
    name, served = pick(facility.names, lang)
    return {
        "code": facility.code,
        "name": name,
        "lang": served,
        "names": dict(facility.names or {}),
        "kind": facility.kind,
        "opening_hours": {service.DAY_CODES[int(d)]: span
                          for d, span in sorted((facility.opening_hours or {}).items())},
        "policy": facility.policy,
    }


def access_json(entry, lang: str | None = None) -> dict:
    return {
        "at": iso(entry.at),
        "facility": entry.facility.code,
        "facility_name": pick(entry.facility.names, lang)[0],
        "decision": entry.decision,
        "reason": entry.reason,
    }
