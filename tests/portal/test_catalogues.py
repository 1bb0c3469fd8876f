"""Every string a person reads exists in ko, en and zh, and the catalogues are current."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("ko", "en", "zh")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2), "_n": (1, 2), "pgettext": ((1, "c"), 2)}
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2"),
           ("**/templates/**.ics", "jinja2")]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _source_msgids() -> set[str]:
    ids = set()
    for package in ("portal", "proposals", "welfare", "tourism"):
        for _fn, _lineno, message, _comments, _ctx in extract_from_dir(
                str(ROOT / package), METHODS, keywords=KEYWORDS, options_map={}):
            ids.add(message[0] if isinstance(message, tuple) else message)
    ids.discard("")
    return ids


def _catalog(locale: str):
    with open(ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def test_every_source_string_is_in_every_catalogue():
    source = _source_msgids()
    for locale in LOCALES:
        catalog = _catalog(locale)
        known = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}
        missing = sorted(source - known)
        assert not missing, f"{locale}: not extracted (run `python tools/i18n.py update`): {missing[:10]}"


def test_every_catalogue_entry_is_translated_with_its_placeholders():
    problems = []
    for locale in LOCALES:
        for message in _catalog(locale):
            if not message.id:
                continue
            ident = message.id[0] if isinstance(message.id, tuple) else message.id
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not all(strings):
                problems.append(f"{locale}: untranslated: {ident}")
                continue
            wanted = set(PLACEHOLDER.findall(ident))
            for text in strings:
                if set(PLACEHOLDER.findall(text)) - wanted:
                    problems.append(f"{locale}: unknown placeholder in translation of: {ident}")
    assert not problems, "\n".join(problems[:30])


def test_korean_and_chinese_differ_from_the_english_source():
    """A 'translation' that repeats the English msgid is not a translation (names excepted)."""
    same = []
    for locale in ("ko", "zh"):
        for message in _catalog(locale):
            words = PLACEHOLDER.sub("", message.id) if message.id and not isinstance(message.id, tuple) else ""
            # placeholders are no English ("%(channel)s: %(state)s" reads the same in Korean)
            if words and message.string == message.id and re.search(r"[A-Za-z]{4,}", words) and " " in words:
                same.append(f"{locale}: {message.id}")
    assert not same, "\n".join(same[:30])


def test_english_plurals_say_the_plural():
    """English has two forms: the second is the source's plural ("202 endorsements", never
    "202 endorsement")."""
    wrong = [message.id[0] for message in _catalog("en")
             if isinstance(message.id, tuple) and message.string and message.string[1] != message.id[1]]
    assert not wrong, wrong
