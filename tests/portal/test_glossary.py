"""One vocabulary (issue 13): every catalogue entry whose English says a glossary term says it
in Korean and Chinese with the glossary's word, and never with a word the glossary rules out.

translations/glossary.csv: term, ko, en, zh, note, ko_avoid, zh_avoid, context. ``en`` is a
regular expression over the msgid (case-insensitive); ``ko``/``zh`` the word the translation
must hold (alternatives separated by |); ``*_avoid`` words it must not hold; ``context`` a
msgctxt the row is for (an entry with a context some row names is judged by that row only).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "translations" / "glossary.csv"


def _rows() -> list[dict]:
    with open(GLOSSARY, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _entries(locale: str) -> list[tuple[str | None, str, str]]:
    with open(ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale=locale)
    out = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for ident, string in zip(ids * len(strings), strings, strict=False):
            if string:  # untranslated entries are test_catalogues' business
                out.append((message.context, ident, string))
    return out


def _alternatives(cell: str) -> list[str]:
    return [word for word in (cell or "").split("|") if word]


def problems_in(rows: list[dict], locale: str, entries) -> list[str]:
    named_contexts = {row["context"] for row in rows if row["context"]}
    found = []
    for row in rows:
        pattern = re.compile(row["en"], re.IGNORECASE)
        wanted, avoid = _alternatives(row[locale]), _alternatives(row[f"{locale}_avoid"])
        for context, msgid, string in entries:
            if row["context"] and context != row["context"]:
                continue
            if not row["context"] and context in named_contexts:
                continue
            if not pattern.search(msgid):
                continue
            if wanted and not any(word in string for word in wanted):
                found.append(f"{row['term']}: {locale} lacks {'/'.join(wanted)}: {msgid!r} -> {string!r}")
            for word in avoid:
                if word in string:
                    found.append(f"{row['term']}: {locale} says {word!r}: {msgid!r} -> {string!r}")
    return found


def test_the_glossary_has_the_domain_words_in_three_languages():
    rows = _rows()
    terms = {row["term"] for row in rows}
    for term in ("endorse", "report (abuse)", "standard median income", "cancellation and refund policy",
                 "living lab", "e-ID card", "the city (acting)", "waiting list", "capacity"):
        assert term in terms, term
    for row in rows:
        assert row["ko"] and row["en"] and row["zh"], row
        re.compile(row["en"])


@pytest.mark.parametrize("locale", ["ko", "zh"])
def test_the_catalogues_use_the_glossary_words(locale):
    found = problems_in(_rows(), locale, _entries(locale))
    assert not found, f"{len(found)} entries off the glossary:\n" + "\n".join(found[:60])


def test_a_wrong_word_is_caught():
    """The check itself can fail: 附议 for endorse, 보고서 for report, 城市 for the city."""
    rows = [r for r in _rows() if r["term"] in ("endorse", "report (abuse)", "the city (acting)")]
    assert problems_in(rows, "zh", [(None, "Endorse", "附议")])
    assert problems_in(rows, "ko", [(None, "Reports", "보고서")])
    assert problems_in(rows, "zh", [(None, "The city's answer", "城市的答复")])
    assert not problems_in(rows, "zh", [(None, "The city's answer", "市政府的答复")])
