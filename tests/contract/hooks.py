"""Schemathesis hooks for the contract test (loaded through SCHEMATHESIS_HOOKS).

Some values are valid only in relation to the portal's state or to another part of the request,
which a schema cannot say. A positive case (one schemathesis promises is valid) gets such a
value made valid instead of a made-up one; negative cases keep theirs, which must be refused
with a 4xx, never a 500:

- a page ``cursor`` is opaque: only one the portal handed out (``next_cursor``) is valid, any
  other is 422 ``bad_cursor`` by design, so a positive case leaves it out;
- an ``Idempotency-Key`` names one request: the same key with another body is 422
  ``idempotency_key_reused`` by design, and generated keys repeat, so a positive case gets a
  fresh one;
- a proposal is not merged into itself (422 on ``into``), so ``into`` differs from the path's id;
- dates run to today or from it (a birth date from 1890 to today; a day to search tourism
  listings by from tourism.limits.DAY_MIN to DAY_YEARS_AHEAD years ahead): the documents say
  so in words, a schema cannot (its bounds would be stale tomorrow), so a positive case's date
  outside the range is moved into it;
- a phone's key (e-ID credential) is a point of the P-256 curve, which a schema cannot say: a
  positive case's ``device_key`` is a real one;
- fields that must agree with each other (a schema cannot say it either): a channel preferred is
  not one switched off (notify, 422 on ``preferred_channel``), a person who lives alone has a
  household of 1 (welfare, 422 on ``household_size``).
"""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import schemathesis

EARLIEST_BIRTH = date(1890, 1, 1)  # portal.accounts.limits / welfare.limits EARLIEST_BIRTH_YEAR
LISTING_DAYS = (date(2000, 1, 1), 5)  # tourism.limits DAY_MIN, DAY_YEARS_AHEAD
BIRTH_DATES = ("birth_date", "youngest_child_birth_date")
# A public P-256 key (portal.eid.presentation.Device().jwk()); its private part was never kept.
DEVICE_KEY = {"kty": "EC", "crv": "P-256", "x": "xa2KUm-TX2ICyUOeDx75pAFXsgjqrDxhM8DgEf4UUiI",
              "y": "0-BTkMBatx_-3HIdJNNslWEjBQ-FLeLPpmShNNCQzog"}


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Seoul")).date()


def _within(value, low: date, high: date, inside: date):
    """`value` (an ISO date string) if it lies in low..high, else `inside`'s ISO form."""
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        return value  # not a date: the schema's business, not this hook's
    return value if low <= day <= high else inside.isoformat()


def _agreeing(body: dict) -> dict:
    if isinstance(body.get("opted_out"), list) and body.get("preferred_channel") in body["opted_out"]:
        body = {**body, "opted_out": [c for c in body["opted_out"] if c != body["preferred_channel"]]}
    if body.get("lives_alone") is True and body.get("household_size", 1) != 1:
        body = {**body, "household_size": 1}
    return body


@schemathesis.hook
def map_case(ctx, case):
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if not positive:
        return case
    if case.query and "cursor" in case.query:
        case.query = {name: value for name, value in case.query.items() if name != "cursor"}
    if case.headers and any(name.lower() == "idempotency-key" for name in case.headers):
        case.headers = {**{k: v for k, v in case.headers.items() if k.lower() != "idempotency-key"},
                        "Idempotency-Key": str(uuid.uuid4())}
    if (case.path_parameters and isinstance(case.body, dict) and "into" in case.body
            and str(case.body["into"]) == str(case.path_parameters.get("proposal_id"))):
        case.body = {**case.body, "into": int(case.body["into"]) + 1}
    today = _today()
    if isinstance(case.body, dict):
        for name in BIRTH_DATES:
            if isinstance(case.body.get(name), str):
                case.body = {**case.body, name: _within(case.body[name], EARLIEST_BIRTH, today, date(1980, 5, 17))}
        case.body = _agreeing(case.body)
        if "device_key" in case.body:
            case.body = {**case.body, "device_key": DEVICE_KEY}
    if case.query and isinstance(case.query.get("date"), str) and case.query["date"] \
            and case.operation.path.endswith("/tourism/listings"):
        low, years = LISTING_DAYS
        high = today + timedelta(days=365 * years)
        case.query = {**case.query, "date": _within(case.query["date"], low, high, today)}
    return case
