"""Profile values: one normaliser for CSV rows, the API and the resident's form (and the
screener's answers), so a value means the same wherever it comes in.

Each function takes strings (a CSV cell, a form field) or typed values (JSON) and returns the
clean values and a dict of errors, one translated message per field.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _

from portal import places
from portal.inputs import visible
from portal.notify.text import MESSAGE as UNSTORABLE
from portal.notify.text import unstorable
from welfare import limits
from welfare.errors import INVISIBLE
from welfare.service.common import seoul_today
from welfare.service.income import median_income_pct

PROFILE_FIELDS = ("birth_date", "median_income_pct", "household_size", "lives_alone",
                  "disability_grade", "youngest_child_birth_date", "district")
# Given, not stored: the household's monthly income in won, from which the percentage of the
# standard median income is computed (it then replaces a percentage given beside it).
INPUT_ONLY = ("monthly_income",)
# Old names still accepted on input: the percentage was called a "percentile" (which it never was).
DEPRECATED = {"income_percentile": "median_income_pct"}

TRUE = {"1", "true", "yes", "y", "t", "on", "예"}
FALSE = {"0", "false", "no", "n", "f", "off", "", "아니오"}


def as_int(value, bounds: tuple[int, int], errors: dict, name: str, *, required=False, default=None):
    low, high = bounds
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = _("This field is required.")
        return default
    if isinstance(value, bool):
        errors[name] = _("Must be a whole number.")
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            errors[name] = _("Must be a whole number.")
            return None
    if not isinstance(value, int):
        errors[name] = _("Must be a whole number.")
        return None
    if not low <= value <= high:
        errors[name] = _("Must be between %(low)d and %(high)d.", low=low, high=high)
        return None
    return value


def as_date(value, errors: dict, name: str, today: date):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            errors[name] = _("Must be a date written YYYY-MM-DD.")
            return None
    if isinstance(value, datetime) or not isinstance(value, date):
        errors[name] = _("Must be a date written YYYY-MM-DD.")
        return None
    if value > today:
        errors[name] = _("Must not be in the future.")
        return None
    if value.year < limits.EARLIEST_BIRTH_YEAR:
        errors[name] = _("Must be after 1890.")
        return None
    return value


def as_bool(value, errors: dict, name: str):
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    errors[name] = _("Must be true or false.")
    return None


def as_district(value, errors: dict, name: str = "district"):
    """A district (a profile's, a screener answer), given by its code or its name in any
    language ("성동구", "Seongdong-gu", "城东区"): its code (portal.places); None when empty. Text
    of at most DISTRICT_MAX characters that can be stored (no NUL byte, no lone surrogate) and
    seen (not only invisible characters) that names no district is an error."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = _("Must be text.")
        return None
    if unstorable(value):
        errors[name] = str(UNSTORABLE)
        return None
    value = value.strip()
    if len(value) > limits.DISTRICT_MAX:
        errors[name] = _("Too long: at most %(n)s characters.", n=limits.DISTRICT_MAX)
        return None
    if value and not visible(value):  # only zero-width, bidi-control or filler characters
        errors[name] = str(INVISIBLE)
        return None
    return places.clean(value, "district", errors, name) if value else None


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _income(data: dict, household_size: int | None, errors: dict, today: date) -> int | None:
    """The household income as a percentage of the standard median income: computed from
    `monthly_income` (won) and the household's size when given, else the percentage given
    (`median_income_pct`, or its old name `income_percentile`)."""
    name = "median_income_pct"
    for old, new in DEPRECATED.items():
        if new == name and _blank(data.get(name)) and not _blank(data.get(old)):
            name = old  # an error is said under the name the client sent
    pct = as_int(data.get(name), limits.MEDIAN_INCOME_PCT, errors, name)
    income = as_int(data.get("monthly_income"), limits.MONTHLY_INCOME, errors, "monthly_income")
    if income is not None and household_size is not None:
        pct = median_income_pct(income, household_size, today)
    return pct


def _household(data: dict, errors: dict, today: date) -> dict:
    """The household facts a profile and the screener's answers share (the forms' _HouseholdForm)."""
    size = as_int(data.get("household_size"), limits.HOUSEHOLD_SIZE, errors, "household_size", default=1)
    return {
        "median_income_pct": _income(data, size, errors, today),
        "household_size": size,
        "lives_alone": as_bool(data.get("lives_alone"), errors, "lives_alone"),  # None when invalid
        "disability_grade": as_int(data.get("disability_grade"), limits.DISABILITY_GRADE, errors,
                                   "disability_grade"),
    }


def normalise_profile(data: dict, today: date | None = None) -> tuple[dict, dict]:
    """(values, errors) for the profile fields of `data` (strings or typed values)."""
    today = today or seoul_today()
    errors: dict[str, str] = {}
    values = {
        "birth_date": as_date(data.get("birth_date"), errors, "birth_date", today),
        **_household(data, errors, today),
        "youngest_child_birth_date": as_date(data.get("youngest_child_birth_date"), errors,
                                             "youngest_child_birth_date", today),
        "district": None,
    }
    values["district"] = as_district(data.get("district"), errors)
    if values["lives_alone"] and (values["household_size"] or 1) > 1 and "household_size" not in errors:
        errors["household_size"] = _("A person who lives alone has a household of 1.")
    return values, errors


def normalise_answers(data: dict) -> tuple[dict, dict]:
    """(facts, errors) for the screener's answers: the keyword arguments of ``rules.Facts``
    (usable when there are no errors). The screener asks ages, not dates."""
    errors: dict[str, str] = {}
    facts = {
        "age": as_int(data.get("age"), limits.AGE, errors, "age"),
        **_household(data, errors, seoul_today()),
        "youngest_child_age": as_int(data.get("youngest_child_age"), limits.YOUNGEST_CHILD_AGE, errors,
                                     "youngest_child_age"),
        "district": as_district(data.get("district"), errors),
    }
    return facts, errors
