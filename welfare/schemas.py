"""The welfare API's contract: request bodies (shapes only: ranges and consistency are the
service's, welfare.service.values) and, for each answer, a response model ``XOut`` beside the
one function that builds its JSON dict (plain dicts, as the API sends them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from portal.api import Body, iso
from portal.i18n import pick
from welfare import limits
from welfare.models import Programme, WelfareProfile
from welfare.service.values import PROFILE_FIELDS

# -- requests ------------------------------------------------------------------------------

class ProgrammeIn(Body):
    code: str = Field(min_length=limits.PROGRAMME_CODE_MIN, max_length=limits.PROGRAMME_CODE_MAX)
    name: dict[str, str]
    description: dict[str, str] = Field(default_factory=dict)
    how_to_apply: dict[str, str] = Field(default_factory=dict)
    active_from: date | None = None
    active_until: date | None = None
    channels: list[str] = Field(default_factory=list)
    callback_phone: str | None = Field(default=None, max_length=limits.CALLBACK_PHONE_MAX)
    rules: Any


class ProgrammePatch(Body):
    code: str | None = Field(default=None, min_length=limits.PROGRAMME_CODE_MIN,
                             max_length=limits.PROGRAMME_CODE_MAX)
    name: dict[str, str] | None = None
    description: dict[str, str] | None = None
    how_to_apply: dict[str, str] | None = None
    active_from: date | None = None
    active_until: date | None = None
    channels: list[str] | None = None
    callback_phone: str | None = Field(default=None, max_length=limits.CALLBACK_PHONE_MAX)
    rules: Any = None


class ProfileIn(Body):
    consent: bool
    birth_date: date | None = None
    income_percentile: int | None = None
    household_size: int = 1
    lives_alone: bool = False
    disability_grade: int | None = None
    youngest_child_birth_date: date | None = None
    district: str | None = Field(default=None, max_length=limits.DISTRICT_MAX)
    notices_opt_out: bool = False


class ProfileLookupIn(Body):
    """Whose profile an officer looks at: a user id or an email address (one of them)."""

    user_id: int | None = Field(default=None, ge=1, le=limits.USER_ID_MAX)
    email: str | None = Field(default=None, max_length=limits.EMAIL_MAX)


class ScanIn(Body):
    run_async: bool = Field(default=False, alias="async")
    scan_date: date | None = Field(default=None, alias="date")


class ScreenerIn(Body):
    age: int | None = None
    income_percentile: int | None = None
    household_size: int = 1
    lives_alone: bool = False
    disability_grade: int | None = None
    youngest_child_age: int | None = None
    district: str | None = Field(default=None, max_length=limits.DISTRICT_MAX)


# -- answers -------------------------------------------------------------------------------

class Out(BaseModel):
    """An answer's shape: every key required (None where the value may be null), no other key."""

    model_config = ConfigDict(extra="forbid")


class TranslationsOut(Out):
    name: dict[str, str]
    description: dict[str, str]
    how_to_apply: dict[str, str]


class ProgrammeBriefOut(Out):
    """A programme in the language served (``lang``: None when it has no text at all)."""

    code: str
    name: str
    description: str
    how_to_apply: str
    lang: str | None
    active_from: date | None
    active_until: date | None
    channels: list[str]
    callback_phone: str | None
    rules: dict[str, Any]


class ProgrammeOut(ProgrammeBriefOut):
    """A programme with every language's texts, for editing."""

    translations: TranslationsOut


class ProgrammeListOut(Out):
    items: list[ProgrammeOut]
    next_cursor: str | None


def programme_json(prog: Programme, lang: str | None = None, full: bool = True) -> dict:
    """ProgrammeOut (full) or ProgrammeBriefOut."""
    name, served = pick(prog.name, lang)
    out = {
        "code": prog.code,
        "name": name,
        "description": pick(prog.description, lang)[0],
        "how_to_apply": pick(prog.how_to_apply, lang)[0],
        "lang": served,
        "active_from": prog.active_from.isoformat() if prog.active_from else None,
        "active_until": prog.active_until.isoformat() if prog.active_until else None,
        "channels": list(prog.channels or []),
        "callback_phone": prog.callback_phone,
        "rules": prog.rules,
    }
    if full:
        out["translations"] = {"name": prog.name, "description": prog.description,
                               "how_to_apply": prog.how_to_apply}
    return out


def programme_list_json(programmes, next_cursor: str | None, lang: str | None) -> dict:
    return {"items": [programme_json(p, lang) for p in programmes], "next_cursor": next_cursor}


class EligibilityItemOut(Out):
    programme: ProgrammeBriefOut
    eligible: bool
    explanation: str


class ScreenerOut(Out):
    items: list[EligibilityItemOut]


class MyEligibilityOut(ScreenerOut):
    has_profile: bool


def eligibility_json(items, lang: str | None) -> list[dict]:
    """The items of ScreenerOut and MyEligibilityOut, from service.Eligibility rows."""
    return [{"programme": programme_json(e.programme, lang, full=False),
             "eligible": e.eligible, "explanation": e.explanation} for e in items]


def screener_json(items, lang: str | None) -> dict:
    return {"items": eligibility_json(items, lang)}


def my_eligibility_json(profile: WelfareProfile | None, items, lang: str | None) -> dict:
    return {"has_profile": profile is not None, "items": eligibility_json(items, lang)}


class ProfileOut(Out):
    user_id: int
    birth_date: date | None
    income_percentile: int | None = Field(ge=limits.INCOME_PERCENTILE[0], le=limits.INCOME_PERCENTILE[1])
    household_size: int = Field(ge=limits.HOUSEHOLD_SIZE[0])
    lives_alone: bool
    disability_grade: int | None = Field(ge=limits.DISABILITY_GRADE[0], le=limits.DISABILITY_GRADE[1])
    youngest_child_birth_date: date | None
    district: str | None
    notices_opt_out: bool
    consent_at: datetime | None
    source: Literal["import", "resident"]
    updated_at: datetime | None


def profile_json(profile: WelfareProfile) -> dict:
    return {
        "user_id": profile.user_id,
        **{f: (getattr(profile, f).isoformat() if isinstance(getattr(profile, f), date)
               else getattr(profile, f)) for f in PROFILE_FIELDS},
        "notices_opt_out": profile.notices_opt_out,
        "consent_at": iso(profile.consent_at),
        "source": profile.source,
        "updated_at": iso(profile.updated_at),
    }


class ScanOut(Out):
    status: Literal["done"]
    programmes: int
    batches: int
    new_notices: int
    queued_messages: int
    by_programme: dict[str, int]


def scan_json(result) -> dict:
    """ScanOut, from a service.ScanResult."""
    return {"status": "done", **result.as_json()}


class ScanQueuedOut(Out):
    status: Literal["queued"]
    task_id: str


def scan_queued_json(task_id: str) -> dict:
    return {"status": "queued", "task_id": task_id}


class ReachItemOut(Out):
    programme: str  # the programme's code
    notices: int
    delivered: int | None  # None when the outbox cannot be read
    updated_at: datetime | None


class ReachOut(Out):
    items: list[ReachItemOut]


def reach_json(rows: list[dict]) -> dict:
    """ReachOut, from service.reach rows."""
    return {"items": [{"programme": r["programme"].code, "notices": r["notices"],
                       "delivered": r["delivered"], "updated_at": iso(r["programme"].updated_at)}
                      for r in rows]}
