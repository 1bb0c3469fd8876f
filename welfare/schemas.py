"""The welfare API's contract: request bodies (shapes only: ranges and consistency are the
service's, welfare.service.values) and, for each answer, a response model ``XOut`` beside the
one function that builds its JSON dict (plain dicts, as the API sends them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from portal import places
from portal.api import DEFAULT_LIMIT, MAX_LIMIT, Body, Query, iso
from portal.apidoc import checked
from portal.i18n import LOCALES, pick
from welfare import limits
from welfare.models import CHANNELS, Programme, WelfareProfile
from welfare.service.values import PROFILE_FIELDS

# -- requests ------------------------------------------------------------------------------

def _within(bounds: tuple[int, int], *, nullable: bool = True, **more) -> dict:
    """What welfare.service.values checks of a whole number (with its own messages, every bad
    field at once), for the document: the model only types it."""
    number = {"type": "integer", "minimum": bounds[0], "maximum": bounds[1]}
    schema = {"anyOf": [number, {"type": "null"}]} if nullable else number
    return {"json_schema_extra": checked(**schema, **more)}


# A district of the city (portal.places) by code; its name in ko, en or zh is accepted too.
_DISTRICT = Field(default=None, json_schema_extra=checked(
    anyOf=[{"type": "string", "enum": [row["code"] for row in places.seed_rows() if row["kind"] == "district"]},
           {"type": "null"}],
    description="A district's code (its name in any language is accepted too)"))
# A date that depends on today, which a schema cannot say (tests/contract/hooks.py keeps it in range):
_PAST = f"From {limits.EARLIEST_BIRTH_YEAR}-01-01 to today (Korea time), not in the future"
_AGE = Field(default=None, **_within(limits.AGE))
_HOUSEHOLD = Field(default=1, **_within(limits.HOUSEHOLD_SIZE, nullable=False, default=1))
_GRADE = Field(default=None, **_within(limits.DISABILITY_GRADE))
_CHILD_AGE = Field(default=None, **_within(limits.YOUNGEST_CHILD_AGE))

# The household's income, given as either (monthly_income wins when both are given):
_PCT = Field(default=None, **_within(limits.MEDIAN_INCOME_PCT), description=(
    "Household income as a percentage of the standard median income (기준 중위소득 대비 %) for "
    f"the household's size, {limits.MEDIAN_INCOME_PCT[0]}-{limits.MEDIAN_INCOME_PCT[1]}; 100 is "
    "the median, above 100 is fine."))
_MONTHLY = Field(default=None, **_within(limits.MONTHLY_INCOME), description=(
    "The household's income in won per month: the service computes median_income_pct from it "
    "and household_size with the year's standard median income table. Not stored."))
_OLD_PCT = Field(default=None, **_within(limits.MEDIAN_INCOME_PCT, deprecated=True), deprecated=(
    "Use median_income_pct: the same number, which was always a percentage of the standard "
    "median income, never a percentile."))

# What welfare.service.programmes checks (texts trimmed, every bad field at once), documented
# on the fields that carry it (portal.apidoc.checked).
_TEXTS = {"type": "object", "additionalProperties": False,
          "properties": {lang: {"type": "string"} for lang in LOCALES},
          "description": "One text per language (ko, en, zh)"}
_CODE = checked(type="string", pattern=limits.PROGRAMME_CODE_PATTERN, minLength=limits.PROGRAMME_CODE_MIN,
                maxLength=limits.PROGRAMME_CODE_MAX)
_NAME = checked(**{**_TEXTS, "required": ["ko"], "description": "One text per language; ko is required"})
_DAY = checked(anyOf=[{"type": "string", "format": "date"}, {"type": "null"}],
               description=f"From {limits.CALENDAR[0]} to {limits.CALENDAR[1]}; none: no limit")
_CHANNELS = checked(type="array", items={"type": "string", "enum": list(CHANNELS)},
                    description="In order of preference; the first is used for notices; empty: "
                                "each resident's preferred channel")
_PHONE = checked(anyOf=[{"type": "string", "pattern": limits.CALLBACK_PHONE_PATTERN}, {"type": "null"}])
_RULES = checked(type="object", description=(
    "Eligibility rule as data: exactly one key per object. all/any: [rule, ...]; not: rule; "
    "age, income_percentile, household_size, disability_grade: {min?, max?} (inclusive; "
    "disability_grade may also be true/false); lives_alone: bool; has_children_under: years; "
    "district: {in: [names]}. Malformed rules answer 422 invalid_rule with fields by path, "
    "e.g. rules.all[1].age.min."))


class ProgrammeIn(Body):
    code: str = Field(min_length=limits.PROGRAMME_CODE_MIN, max_length=limits.PROGRAMME_CODE_MAX,
                      json_schema_extra=_CODE)
    name: dict[str, str] = Field(json_schema_extra=_NAME)
    description: dict[str, str] = Field(default_factory=dict, json_schema_extra=checked(**_TEXTS))
    how_to_apply: dict[str, str] = Field(default_factory=dict, json_schema_extra=checked(**_TEXTS))
    active_from: date | None = Field(None, json_schema_extra=_DAY)
    active_until: date | None = Field(None, json_schema_extra=_DAY)
    channels: list[str] = Field(default_factory=list, json_schema_extra=_CHANNELS)
    callback_phone: str | None = Field(default=None, max_length=limits.CALLBACK_PHONE_MAX,
                                       json_schema_extra=_PHONE)
    rules: Any = Field(json_schema_extra=_RULES)


class ProgrammePatch(Body):
    """Only the fields given change."""

    code: str | None = Field(default=None, min_length=limits.PROGRAMME_CODE_MIN,
                             max_length=limits.PROGRAMME_CODE_MAX,
                             json_schema_extra=_CODE)
    name: dict[str, str] | None = Field(None, json_schema_extra=_NAME)
    description: dict[str, str] | None = Field(None, json_schema_extra=checked(
        anyOf=[_TEXTS, {"type": "null"}]))
    how_to_apply: dict[str, str] | None = Field(None, json_schema_extra=checked(
        anyOf=[_TEXTS, {"type": "null"}]))
    active_from: date | None = Field(None, json_schema_extra=_DAY)
    active_until: date | None = Field(None, json_schema_extra=_DAY)
    channels: list[str] | None = Field(None, json_schema_extra=checked(
        anyOf=[{"type": "array", "items": {"type": "string", "enum": list(CHANNELS)}}, {"type": "null"}]))
    callback_phone: str | None = Field(default=None, max_length=limits.CALLBACK_PHONE_MAX,
                                       json_schema_extra=_PHONE)
    rules: Any = Field(None, json_schema_extra=_RULES)


class _Household(Body):
    """What the profile and the screener both ask of a household (one list, one set of bounds)."""

    median_income_pct: int | None = _PCT
    monthly_income: int | None = _MONTHLY
    income_percentile: int | None = _OLD_PCT
    household_size: int = _HOUSEHOLD
    lives_alone: bool = Field(False, description="true: a household of 1")
    disability_grade: int | None = _GRADE


class ProfileIn(_Household):
    consent: bool = Field(json_schema_extra=checked(
        type="boolean", const=True,
        description="Must be true: the profile is stored only with consent (false: 422 consent_required)"))
    birth_date: date | None = Field(None, description=_PAST)
    youngest_child_birth_date: date | None = Field(None, description=_PAST)
    district: str | None = _DISTRICT
    notices_opt_out: bool = False


class ProfileLookupIn(Body):
    """Whose profile an officer looks at: a user id or an email address (one of them)."""

    user_id: int | None = Field(default=None, ge=1, le=limits.USER_ID_MAX)
    email: str | None = Field(default=None, max_length=limits.EMAIL_MAX)


class ScanIn(Body):
    run_async: bool = Field(default=False, alias="async",
                            description="Run in the background (202 with the task id)")
    scan_date: date | None = Field(default=None, alias="date", json_schema_extra=checked(
        anyOf=[{"type": "string", "format": "date"}, {"type": "null"}],
        description=f"The day ages and periods are counted on, from {limits.CALENDAR[0]} to "
                    f"{limits.CALENDAR[1]} (none: today in Seoul)"))


class ProgrammeListQuery(Query):
    all: str = Field("", description="1 or true: ended and future programmes too (officers only: "
                                     "401 or 403 otherwise); any other value: the active ones")
    cursor: str = Field("", description="next_cursor of the page before (none: the first page)")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class ScreenerIn(_Household):
    age: int | None = _AGE
    youngest_child_age: int | None = _CHILD_AGE
    district: str | None = _DISTRICT


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
    lang: Literal[LOCALES] | None
    active_from: date | None
    active_until: date | None
    channels: list[Literal[CHANNELS]]
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
    median_income_pct: int | None = Field(ge=limits.MEDIAN_INCOME_PCT[0], le=limits.MEDIAN_INCOME_PCT[1],
                                          description=_PCT.description)
    income_percentile: int | None = Field(ge=limits.MEDIAN_INCOME_PCT[0], le=limits.MEDIAN_INCOME_PCT[1],
                                          deprecated=_OLD_PCT.deprecated)
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
        "income_percentile": profile.median_income_pct,  # deprecated name, same value
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


# -- officers' follow-ups -------------------------------------------------------------------

FollowUpKind = Literal["callback", "health_check", "unreachable"]
FollowUpStatus = Literal["open", "done"]
FollowUpOutcome = Literal["reached", "applied", "declined", "unreachable"]


class FollowUpListQuery(Query):
    status: Literal["", "open", "done"] = Field("", description="open or done (none: both)")
    cursor: str = Field("", description="next_cursor of the page before (none: the first page)")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class FollowUpPatch(Body):
    status: FollowUpStatus = Field(description="done needs an outcome; open has none (reopens it)")
    outcome: FollowUpOutcome | None = Field(description="null while open")
    assignee: int | None = Field(None, ge=1, le=limits.USER_ID_MAX,
                                 description="a welfare officer's user id, null for nobody; left out: unchanged")


class FollowUpOut(Out):
    id: int
    kind: FollowUpKind
    programme: str = Field(description="the programme's code")
    due_at: datetime = Field(description="two working days (Mon-Fri, Asia/Seoul) after it opened")
    status: FollowUpStatus
    assignee: int | None = Field(description="the assigned welfare officer's user id")


class FollowUpListOut(Out):
    items: list[FollowUpOut]
    next_cursor: str | None


def follow_up_json(row) -> dict:
    """FollowUpOut of a row of welfare.service.list_follow_ups."""
    return {"id": row.id, "kind": row.kind, "programme": row.programme, "due_at": iso(row.due_at),
            "status": row.status, "assignee": row.assignee_id}


def follow_up_list_json(rows, next_cursor: str | None) -> dict:
    return {"items": [follow_up_json(r) for r in rows], "next_cursor": next_cursor}
