"""Dates and times shown are remembered (portal.i18n.format_datetime) per language and zone:
the same value says each language's words, also under force_locale()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from flask_babel import force_locale, refresh

from portal import i18n


def _fresh(value, fmt: str, zone: bool) -> str:
    return i18n._format_datetime(value, fmt, zone)


def test_the_same_time_in_each_language(app):
    naive = datetime(2026, 11, 13, 23, 12)  # UTC, as the database keeps it
    aware = naive.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=-5)))
    shown = {}
    for lang in ("ko", "zh", "en", "ko"):
        with app.test_request_context(f"/?lang={lang}"):
            refresh()  # the app context (and its g) may outlive a request, as the shell knows
            for fmt in ("short", "medium"):
                for zone in (False, True):
                    first = i18n.format_datetime(naive, fmt, zone=zone)
                    assert first == _fresh(naive, fmt, zone)
                    assert i18n.format_datetime(naive, fmt, zone=zone) == first  # from memory
                    assert i18n.format_datetime(aware, fmt, zone=zone) == first  # the same instant
                    shown.setdefault((fmt, zone), {})[lang] = first
            assert i18n.format_datetime_tz(naive) == i18n.format_datetime(naive, zone=True)
            with force_locale("en" if lang != "en" else "zh"):
                other = "en" if lang != "en" else "zh"
                assert i18n.format_datetime(naive, zone=True) == _fresh(naive, "medium", True)
                shown[("forced", other)] = i18n.format_datetime(naive, zone=True)
    for by_lang in shown.values():
        if isinstance(by_lang, dict):
            assert len(set(by_lang.values())) == 3, by_lang
    assert shown[("forced", "en")] == shown[("medium", True)]["en"]
    assert shown[("forced", "zh")] == shown[("medium", True)]["zh"]
    assert "Korean Time" in shown[("medium", True)]["en"]
