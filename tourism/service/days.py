"""Days and times as people type them (a search's day, a report's range, a slot's start): read
in Asia/Seoul, and only within the range the portal books (limits.DAY_MIN to DAY_YEARS_AHEAD
years ahead), so that no input reaches the calendar's edge (an overflow, a 500)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from portal.errors import Invalid

from ..limits import DAY_MIN, DAY_YEARS_AHEAD
from .texts import SEOUL


def last_day(today: date | None = None) -> date:
    """The last day the portal books: DAY_YEARS_AHEAD years after today (Asia/Seoul)."""
    today = today or datetime.now(SEOUL).date()
    try:
        return today.replace(year=today.year + DAY_YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + DAY_YEARS_AHEAD, day=28)


def _out_of_range(field: str) -> Invalid:
    return Invalid(fields={field: _l("Choose a date between %(first)s and %(last)s.",
                                     first=DAY_MIN.isoformat(), last=last_day().isoformat())})


def check_day(day: date | None, field: str = "date") -> date | None:
    """`day` when it lies in the range the portal books; Invalid (422) otherwise."""
    if day is not None and not DAY_MIN <= day <= last_day():
        raise _out_of_range(field)
    return day


def parse_day(raw: str | None, field: str = "date") -> date | None:
    """A day typed as YYYY-MM-DD, None when blank; Invalid (422, naming `field`) when it is not
    one or lies outside the range the portal books."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(fields={field: _l("Enter the date as YYYY-MM-DD.")}) from None
    return check_day(day, field)


def check_start(starts_at: datetime, field: str = "starts_at") -> datetime:
    """A slot's start as staff give it: with its offset (a page reads a naive time as
    Asia/Seoul before it gets here), on a day the portal books."""
    if starts_at.tzinfo is None:
        raise Invalid(fields={field: _l("Enter a date and time.")})
    last = last_day()
    # The year first: a time at the calendar's edge cannot even be moved to another zone.
    if not (DAY_MIN.year <= starts_at.year <= last.year and DAY_MIN <= starts_at.astimezone(SEOUL).date() <= last):
        raise _out_of_range(field)
    return starts_at


def day_range(start: date, end: date) -> tuple[datetime, datetime]:
    """The times from `start` (midnight, Asia/Seoul) to the end of `end`, both days in range."""
    check_day(start, "start")
    check_day(end, "end")
    return datetime.combine(start, time.min, SEOUL), datetime.combine(end, time.min, SEOUL) + timedelta(days=1)
