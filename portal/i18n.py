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
    return request.accept_languages.best_match(LOCALES, default="ko") or "ko"


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
