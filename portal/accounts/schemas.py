"""Accounts API bodies (requests derive from portal.api.Body: unknown fields are 422) and
answers (one model and one builder each)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from portal import places
from portal.accounts import limits
from portal.accounts.service.passwords import PASSWORD_MAX, PASSWORD_MIN
from portal.api import Body, iso
from portal.i18n import LOCALES
from portal.inputs import VISIBLE_PATTERN

# What the service checks beyond a length, said in the document (the service still checks it,
# every bad field at once, with its own messages): text a person reads needs a character they
# can see; a district is one of the city's (by code here; a name in any language is accepted
# too); a registration number has at least DOCUMENT_MIN letters or digits.
VISIBLE = {"pattern": VISIBLE_PATTERN}
DISTRICT = {"enum": [row["code"] for row in places.seed_rows() if row["kind"] == "district"],
            "description": "A district's code (its name in any language is accepted too)"}
DOCUMENT = {"pattern": f"^(?:[^0-9A-Za-z]*[0-9A-Za-z]){{{limits.DOCUMENT_MIN}}}",
            "description": f"At least {limits.DOCUMENT_MIN} letters or digits (others are ignored)"}


class ProfilePatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=limits.NAME_MAX, json_schema_extra=VISIBLE)
    phone: str | None = Field(default=None, max_length=limits.PHONE_MAX)
    locale: str | None = Field(default=None, json_schema_extra={"enum": [*LOCALES, None]})


# A birth date runs to today, which a schema cannot say (tests/contract/hooks.py keeps it in range).
BORN = f"From {limits.EARLIEST_BIRTH_YEAR}-01-01 to today (Korea time): the card attests it"


class VerificationIn(Body):
    name: str = Field(min_length=1, max_length=limits.NAME_MAX, json_schema_extra=VISIBLE)
    birth_date: date = Field(description=BORN)
    district: str = Field(min_length=1, max_length=limits.DISTRICT_MAX, json_schema_extra=DISTRICT)
    document_number: str = Field(min_length=limits.DOCUMENT_MIN, max_length=limits.DOCUMENT_MAX,
                                 json_schema_extra=DOCUMENT)


class TokenIn(Body):
    name: str = Field(default="", max_length=limits.TOKEN_NAME_MAX,
                      json_schema_extra={"pattern": f"^$|{VISIBLE_PATTERN}"})  # empty: a default name


class ManualVerificationIn(Body):
    """What staff checked on the resident's ID: the card attests these, not the profile."""
    reason: str = Field(min_length=1, max_length=limits.REASON_MAX, json_schema_extra=VISIBLE)
    name: str = Field(min_length=1, max_length=limits.NAME_MAX, json_schema_extra=VISIBLE)
    birth_date: date = Field(description=BORN)
    district: str = Field(min_length=1, max_length=limits.DISTRICT_MAX, json_schema_extra=DISTRICT)
    document_number: str = Field(min_length=limits.DOCUMENT_MIN, max_length=limits.DOCUMENT_MAX,
                                 json_schema_extra=DOCUMENT)


class EmailIn(Body):
    email: str = Field(min_length=3, max_length=limits.EMAIL_MAX)


class PasswordResetConfirmIn(Body):
    token: str = Field(min_length=10, max_length=100)
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class EmailConfirmIn(Body):
    token: str = Field(min_length=10, max_length=100)


class PasswordChangeIn(Body):
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class EntryLookupIn(Body):
    document_number: str = Field(min_length=limits.DOCUMENT_MIN, max_length=limits.DOCUMENT_MAX,
                                 json_schema_extra=DOCUMENT)


class ReleaseIn(Body):
    reason: str = Field(min_length=1, max_length=limits.REASON_MAX, json_schema_extra=VISIBLE)


# -- answers ---------------------------------------------------------------------------------

class UserOut(BaseModel):
    id: int
    email: str
    name: str
    locale: str
    roles: list[str]
    verified: bool
    verified_at: str | None
    district: str | None
    email_confirmed: bool


def user_out(user) -> dict:
    return {
        "id": user.id, "email": user.email, "name": user.name, "locale": user.locale,
        "roles": sorted(user.roles), "verified": user.is_verified,
        "verified_at": iso(user.verified_at), "district": user.district,
        "email_confirmed": user.email_confirmed,
    }


class Holder(BaseModel):
    id: int
    email: str
    name: str


class EntryOut(BaseModel):
    id: int
    name: str
    birth_date: str
    district: str
    source: str
    claimed_by: Holder | None


def entry_out(entry, holder) -> dict:
    return {
        "id": entry.id, "name": entry.name, "birth_date": entry.birth_date.isoformat(),
        "district": entry.district, "source": entry.source,
        "claimed_by": None if holder is None else {"id": holder.id, "email": holder.email,
                                                     "name": holder.name},
    }


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: str | None
    last_used_at: str | None
    revoked: bool


def token_out(t) -> dict:
    return {"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": iso(t.created_at),
            "last_used_at": iso(t.last_used_at), "revoked": t.revoked_at is not None}


class TokenListOut(BaseModel):
    items: list[TokenOut]
    next_cursor: str | None


class TokenCreatedOut(BaseModel):
    id: int
    name: str
    token: str


class MessageOut(BaseModel):
    message: str
