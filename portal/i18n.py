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
    return best_accepted(request.accept_languages)


def best_accepted(accept) -> str:
    """The locale an Accept-Language header (parsed) prefers among ours; ko when none."""
    return accept.best_match(LOCALES, default="ko") or "ko"


_accept_cache: dict[str, str] = {}


def anonymous_locale(query_string: str, accept_language: str) -> str:
    """``select_locale`` for a raw WSGI request with no user and no session (the gate fast
    path): ?lang=, then Accept-Language. Parsed headers are remembered (a gate sends the same
    one every time)."""
    if query_string:
        from urllib.parse import parse_qsl

        for name, value in parse_qsl(query_string, keep_blank_values=True):
            if name == "lang":
                lang = normalise(value)
                if lang:
                    return lang
                break
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
    return normalise(str(loc)) or "ko" if loc else "ko"


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
