"""What people type about themselves, and staff type from an ID: names, districts, phone
numbers, token names, reasons and birth dates, checked once for registration, the profile (page
and API), verification and the register import.

Each function takes the value, the dict of errors being gathered and the field's name; it
returns the clean value (stripped; None when empty) or puts one translated message in `errors`.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal import places
from portal.accounts import limits
from portal.inputs import INVISIBLE, clean_text, visible  # noqa: F401 - INVISIBLE re-exported


def text(value, errors: dict, field: str, limit: int, *, required: bool = False) -> str | None:
    """Text of at most `limit` characters with something a person can see (portal.inputs)."""
    return clean_text(value, errors, field, hi=limit, required=required)


def district(value, errors: dict, field: str = "district", *, required: bool = False) -> str | None:
    """A district, given by its code or its name in any language ("성동구", "Seongdong-gu",
    "城东区"): its code (portal.places); an error when it names no district."""
    name = text(value, errors, field, limits.DISTRICT_MAX, required=required)
    return places.clean(name, "district", errors, field) if name is not None else None


def seoul_today() -> date:
    """Birth dates are checked against the city's calendar day."""
    return datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def birth_date(value, errors: dict, field: str = "birth_date", *, required: bool = False) -> date | None:
    """A birth date from EARLIEST_BIRTH_YEAR to today (a later or earlier one is a typing error,
    and the card would attest it)."""
    if value is None:
        if required:
            errors[field] = _l("This field is required.")
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        errors[field] = _l("Wrong type or format.")
    elif value > seoul_today():
        errors[field] = _l("Must not be in the future.")
    elif value.year < limits.EARLIEST_BIRTH_YEAR:
        errors[field] = _l("Must be after 1890.")
    else:
        return value
    return None
