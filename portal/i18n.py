"""Locale selection and per-locale content with a fallback order."""

from __future__ import annotations

from flask import has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

LOCALES = ("ko", "en", "zh")
LOCALE_NAMES = {"ko": "한국어", "en": "English", "zh": "中文"}
FALLBACK = ("en", "ko")


def normalise(lang: str | None) -> str | None:
    """'zh-CN' -> 'zh', 'EN' -> 'en'; None for anything we do not serve."""
    if not lang:
        return None
    base = lang.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else None


def select_locale() -> str:
    """?lang=, then the user's saved choice, then the session, then Accept-Language."""
    if not has_request_context():
        return "ko"
    lang = normalise(request.args.get("lang"))
    if lang:
        return lang
    if getattr(current_user, "is_authenticated", False) and normalise(current_user.locale):
        return current_user.locale
    lang = normalise(session.get("lang"))
    if lang:
        return lang
    return accepted(request.headers.get("Accept-Language", ""))


def babel_locale():
    """Flask-Babel's locale selector: ``select_locale`` as a babel Locale, parsed once per
    process and code (Flask-Babel parsed the code again on every request)."""
    code = select_locale()
    locale = _babel_locales.get(code)
    if locale is None:
        from babel import Locale

        locale = _babel_locales[code] = Locale.parse(code)
        _code_of[id(locale)] = code
    return locale


_babel_locales: dict[str, object] = {}
_code_of: dict[int, str] = {}


def best_accepted(accept) -> str:
    """The locale an Accept-Language header (parsed) prefers among ours; ko when none."""
    return accept.best_match(LOCALES, default="ko") or "ko"


_accept_cache: dict[str, str] = {}


def anonymous_locale(query_string: str, accept_language: str) -> str:
    """``select_locale`` for a raw WSGI request with no user and no session (the gate fast
    path): ?lang=, then Accept-Language."""
    if query_string:
        from urllib.parse import parse_qsl

        for name, value in parse_qsl(query_string, keep_blank_values=True):
            if name == "lang":
                lang = normalise(value)
                if lang:
                    return lang
                break
    return accepted(accept_language)


def accepted(accept_language: str) -> str:
    """The locale an Accept-Language header prefers among ours (ko when none). Parsed headers
    are remembered: browsers, apps and gates send the same few every time."""
    lang = _accept_cache.get(accept_language)
    if lang is None:
        from werkzeug.datastructures import LanguageAccept
        from werkzeug.http import parse_accept_header

        lang = best_accepted(parse_accept_header(accept_language, LanguageAccept))
        if len(_accept_cache) < 256:
            _accept_cache[accept_language] = lang
    return lang


def current_locale() -> str:
    loc = get_locale()
    if not loc:
        return "ko"
    return _code_of.get(id(loc)) or normalise(str(loc)) or "ko"


_tables: dict[tuple[int, str], dict[str, str]] = {}


def labels(table: dict) -> dict[str, str]:
    """A label table (code -> lazy_gettext) as plain strings in the current locale.

    Translated once per process and locale: the catalogues do not change while a process runs,
    and a list of twenty items otherwise translated forty labels through Flask-Babel's context
    lookups (about 1 ms of a list's 5). Only module-level tables are passed here (the key is the
    table's identity)."""
    key = (id(table), current_locale())
    out = _tables.get(key)
    if out is None:
        out = _tables[key] = {code: str(label) for code, label in table.items()}
    return out


def pick(translations: dict | None, lang: str | None = None) -> tuple[str, str | None]:
    """Text of `translations` in `lang` (default: the current locale), else en, else ko.

    Returns (text, served_lang); ("", None) when nothing is there.
    """
    translations = translations or {}
    wanted = normalise(lang) or current_locale()
    for code in (wanted, *FALLBACK, *LOCALES):
        text = translations.get(code)
        if text:
            return text, code
    return "", None


def missing_locales(translations: dict | None) -> list[str]:
    translations = translations or {}
    return [code for code in LOCALES if not translations.get(code)]


# -- dates and times people read ----------------------------------------------------------
#
# CLDR's own formats per locale, never written by hand: the date from the skeleton yMMMEd
# ("2026년 11월 13일 (금)", "Fri, Nov 13, 2026", "2026年11月13日周五"; yMMMd where a list has no
# room for the weekday), the time from the locale's short pattern (no seconds) with the day
# period in its wide form (ko "오전", not the abbreviated "AM"), joined by the locale's own
# date-time pattern. With ``zone=True`` the time zone's generic name goes where the locale's
# full time pattern puts a zone ("오전 8:12 대한민국 시간", "8:12 AM Korean Time",
# "韩国时间 08:12"): every deadline and start time says whose clock it is.

DATE_SKELETONS = {"short": "yMMMd", "medium": "yMMMEd", "long": "yMMMEd", "full": "yMMMEd"}


def _babel_locale():
    from babel import Locale

    return Locale.parse(current_locale())


def _unquoted(pattern: str, change) -> str:
    """Apply `change` to the parts of a CLDR pattern outside 'quoted literals'."""
    parts = pattern.split("'")
    return "'".join(change(part) if i % 2 == 0 else part for i, part in enumerate(parts))


def _time_pattern(locale, zone: bool) -> str:
    import re

    short = _unquoted(locale.time_formats["short"].pattern, lambda s: re.sub(r"a+", "aaaa", s))
    if not zone:
        return short
    full = locale.time_formats["full"].pattern.strip()
    return f"vvvv {short}" if full.startswith("z") else f"{short} vvvv"


def _local(value):
    """A datetime in the portal's time zone (naive values are UTC, as the database keeps them)."""
    from datetime import UTC

    from flask_babel import get_timezone

    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(get_timezone())


def format_date(value, format: str = "medium") -> str:  # noqa: A002 - flask_babel's name
    """A date (or a datetime's date in the portal's zone): yMMMd, or yMMMEd for long/full."""
    from datetime import datetime

    from babel.dates import format_skeleton
    from flask_babel import format_date as babel_format_date

    if value is None:
        return ""
    if format not in DATE_SKELETONS:
        return babel_format_date(value, format)
    if isinstance(value, datetime):
        value = _local(value).date()
    skeleton = "yMMMd" if format == "medium" else DATE_SKELETONS[format]
    return format_skeleton(skeleton, value, locale=_babel_locale())


def format_time(value, format: str = "short", *, zone: bool = False) -> str:  # noqa: A002
    """A datetime's time of day in the portal's zone, without seconds."""
    from babel.dates import format_datetime as babel_datetime
    from flask_babel import format_time as babel_format_time

    if value is None:
        return ""
    if format not in DATE_SKELETONS:
        return babel_format_time(value, format)
    locale = _babel_locale()
    local = _local(value)
    return babel_datetime(local, _time_pattern(locale, zone), tzinfo=local.tzinfo, locale=locale)


def format_datetime(value, format: str = "medium", *, zone: bool = False) -> str:  # noqa: A002
    """A date and time: 'medium' (and long/full) with the weekday, 'short' without.

    What it gives depends only on the value, the format, the language and the portal's time
    zone, so the last few thousand are remembered per language and zone: a list shows the same
    deadlines and start times page after page (about 400 Python calls each through babel)."""
    from flask_babel import format_datetime as babel_format_datetime
    from flask_babel import get_timezone

    if value is None:
        return ""
    if format not in DATE_SKELETONS:
        return babel_format_datetime(value, format)
    key = (value, type(value), format, zone, current_locale(), get_timezone())
    out = _shown.get(key)
    if out is None:
        out = _format_datetime(value, format, zone)
        if len(_shown) >= _SHOWN_MAX:
            _shown.clear()
        _shown[key] = out
    return out


_shown: dict[tuple, str] = {}
_SHOWN_MAX = 4096


def _format_datetime(value, format: str, zone: bool) -> str:  # noqa: A002
    from babel.dates import format_skeleton

    locale = _babel_locale()
    local = _local(value)
    date = format_skeleton(DATE_SKELETONS[format], local.date(), locale=locale)
    time = format_time(value, zone=zone)
    glue = str(locale.datetime_formats["medium"]).replace("'", "")
    return glue.replace("{0}", time).replace("{1}", date)


def format_datetime_tz(value, format: str = "medium") -> str:  # noqa: A002
    """``format_datetime`` with the time zone: for deadlines and start times."""
    return format_datetime(value, format, zone=True)


def init_jinja(app) -> None:
    """Templates format dates with these (flask_babel's filters of the same names replaced), and
    a page's ``_``/``gettext``/``ngettext`` are bound to its catalogue (template_gettext)."""
    app.jinja_env.filters.update(datetimeformat=format_datetime, dateformat=format_date,
                                 timeformat=format_time, datetime_tz=format_datetime_tz)
    app.jinja_env.globals.update(format_date=format_date, format_datetime=format_datetime,
                                 format_time=format_time, format_datetime_tz=format_datetime_tz)
    app.context_processor(template_gettext)


# -- the texts of templates ---------------------------------------------------------------
#
# Flask-Babel installs Jinja's newstyle gettext over ``lambda s: get_translations().ugettext(s)``:
# each text of a page looked up the request's context, its domain, locale and catalogue again
# (about 57 Python calls a text, twenty to forty texts a page). A template rendered through
# Flask's render_template runs the context processors first, so ``template_gettext`` gives it
# ``_``, ``gettext`` and ``ngettext`` bound to the catalogue of that moment: inside
# force_locale() (a mail in its recipient's language) that is the forced locale's. Jinja's i18n
# looks ``gettext`` up in the page's context before the environment's globals; a template
# rendered without Flask's context processors (notify's get_template().render()), or a macro
# imported without context, keeps Flask-Babel's, which follow force_locale() on every call.

_bound: dict[int, tuple[object, dict]] = {}
_TEXTS_MAX = 4096  # texts remembered per catalogue (templates' own msgids are a few hundred)


def template_gettext() -> dict:
    """A context processor: the page's ``_``/``gettext``/``ngettext`` for the current catalogue,
    made once per catalogue (Flask-Babel keeps one per locale for the process's life)."""
    from flask_babel import get_translations

    translations = get_translations()
    entry = _bound.get(id(translations))
    if entry is None or entry[0] is not translations:
        entry = (translations, _bind(translations))
        if len(_bound) < 64:  # catalogues live as long as the process; a stray one is not kept
            _bound[id(translations)] = entry
    return entry[1]


def _bind(translations) -> dict:
    """Jinja's newstyle gettext and ngettext (jinja2.ext._make_new_gettext) over one catalogue:
    the text is marked safe when the template autoescapes, then always %-formatted with its
    variables. A text without variables always comes out the same, so it is remembered."""
    from jinja2 import pass_context
    from markupsafe import Markup

    ugettext, ungettext = translations.ugettext, translations.ungettext
    done: dict[tuple[str, bool], str] = {}

    @pass_context
    def gettext(context, string: str, **variables):
        autoescape = context.eval_ctx.autoescape
        if not variables:
            key = (string, autoescape)
            out = done.get(key)
            if out is not None:
                return out
        out = ugettext(string)
        if autoescape:
            out = Markup(out)  # noqa: S704 - the catalogue's text, marked as Jinja's gettext marks it
        out = out % variables
        if not variables and len(done) < _TEXTS_MAX:
            done[key] = out
        return out

    @pass_context
    def ngettext(context, singular: str, plural: str, num: int, **variables):
        variables.setdefault("num", num)
        out = ungettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            out = Markup(out)  # noqa: S704 - the catalogue's text, marked as Jinja's gettext marks it
        return out % variables

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def author_lang(user) -> str:
    """The language a person writes in, stored beside what they write: their saved locale,
    else the page's."""
    return normalise(getattr(user, "locale", None)) or current_locale()


def in_time(seconds: int) -> str:
    """When something ``seconds`` from now can be done, in words: "in 5 minutes", "5분 후",
    "5分钟后" (CLDR's relative units), rounded up to the unit it is said in: a person who comes
    back when told is not early (by more than the 2 seconds that whole-second clocks such as
    Retry-After and a rate limit's reset add: 3601 seconds is "in 1 hour")."""
    import math
    from datetime import timedelta

    from flask_babel import format_timedelta

    seconds = max(1, math.ceil(seconds))
    for unit in (86400, 3600, 60):
        if seconds > unit:
            seconds = max(1, math.ceil((seconds - 2) / unit)) * unit
            break
    return format_timedelta(timedelta(seconds=seconds), threshold=1, add_direction=True)
