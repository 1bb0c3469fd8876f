"""Texts people read: a listing's fields and area in their language, a slot's time in Korea."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import DateTimePattern, match_skeleton
from flask_babel import get_locale

from portal import places
from portal.i18n import FALLBACK, LOCALES, format_datetime_tz, pick

from ..models import Listing

SEOUL = ZoneInfo("Asia/Seoul")


# pick()'s order of languages for each language it serves (requested -> en -> ko -> any), so
# that a list picking five texts per item in one language does not normalise `lang` each time.
_ORDERS = {code: tuple(dict.fromkeys((code, *FALLBACK, *LOCALES))) for code in LOCALES}


def _pick(translations: dict, lang: str | None) -> tuple[str, str | None]:
    """``pick(translations, lang)``: the same text and served language (tests.tourism test it)."""
    order = _ORDERS.get(lang)
    if order is None:  # None (the current locale) or a code to normalise: pick's own way
        return pick(translations, lang)
    for code in order:
        found = translations.get(code)
        if found:
            return found, code
    return "", None


def text(listing: Listing, field: str, lang: str | None = None) -> tuple[str, str | None]:
    """A listing's text in `lang` with the fallback requested -> en -> ko."""
    return _pick(getattr(listing, field) or {}, lang)


def place_name(place: places.Place | None, code: str | None, lang: str | None = None) -> tuple[str, str | None]:
    """An area as people read it: the place's name in `lang` (requested -> en -> ko) and the
    language served; a stored `code` that is no place's comes back as it is (served language
    None)."""
    if place is not None:
        name, served = _pick(place.names(), lang)
        if name:
            return name, served
    return code or "", None


def area_name(listing: Listing, lang: str | None = None) -> tuple[str, str | None]:
    """The listing's area as people read it, from the places table (the row is loaded with the
    listing)."""
    return place_name(listing.place, listing.area, lang)


def missing_translations(listing: Listing) -> list[str]:
    """Locales in which the listing's name or description is missing (its area's names are the
    places table's)."""
    name, description = listing.name or {}, listing.description or {}
    return [code for code in LOCALES if not name.get(code) or not description.get(code)]


def format_when(dt: datetime | None) -> str:
    """A start time or a deadline for people: the date with its weekday, the time and the time
    zone (Asia/Seoul), in the page's (or the message's) language: the shell's CLDR format."""
    if dt is None:
        return ""
    return format_datetime_tz(dt, "full")


def format_day(day: date) -> str:
    """A day for a list of days: short, with the weekday, in the page's language (CLDR's
    month-day-weekday skeleton: "Fri, Nov 13", "11월 13일 (금)", "11月13日周五")."""
    locale = get_locale() or Locale.parse("ko")
    pattern = _DAY_PATTERNS.get(str(locale))
    if pattern is None:  # format_skeleton's choice, once per locale (CLDR's data do not change)
        skeletons = locale.datetime_skeletons
        skeleton = "MMMEd" if "MMMEd" in skeletons else match_skeleton("MMMEd", skeletons)
        pattern = _DAY_PATTERNS[str(locale)] = skeletons[skeleton]
    # what format_skeleton then formats: the day at midnight UTC
    return pattern.apply(datetime.combine(day, time.min, UTC), locale)


_DAY_PATTERNS: dict[str, DateTimePattern] = {}


def search_text(listing: Listing) -> str:
    """What the listing search matches besides its area's names (``listings_query`` looks those up
    in the places table): the area's code and every locale's texts, lower-cased."""
    parts = [listing.area or ""]
    for field in ("name", "description", "address"):
        parts.extend((getattr(listing, field) or {}).values())
    return " ".join(parts).lower()
