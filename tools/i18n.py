"""Translation catalogues: extract, update, fill, compile, check. Run with the project's Python.

  python tools/i18n.py update            extract -> messages.pot, update ko/en/zh (no fuzzy), compile
  python tools/i18n.py compile           compile .po -> .mo (install and test commands run this)
  python tools/i18n.py fill FILE.json    apply {"msgid": {"ko": "...", "zh": "...", "en": "..."}}
                                         (a pgettext entry's key: "context\u0004msgid")
  python tools/i18n.py missing           list untranslated or fuzzy entries; exit 1 if any

Every command that writes holds a file lock, so several people can run it at once.
"""

from __future__ import annotations

import fcntl
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALES = ("ko", "en", "zh")
SOURCES = ("portal", "proposals", "welfare", "tourism")
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2", "-k", "_n:1,2"]


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


@contextmanager
def locked():
    TRANSLATIONS.mkdir(exist_ok=True)
    with open(TRANSLATIONS / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def compile_all() -> None:
    for locale in LOCALES:
        if po_path(locale).exists():
            pybabel("compile", "-d", str(TRANSLATIONS), "-l", locale, "--use-fuzzy")


def update() -> None:
    with locked():
        sources = [str(ROOT / s) for s in SOURCES if (ROOT / s).is_dir()]
        pybabel("extract", "-F", str(ROOT / "babel.cfg"), *KEYWORDS, "--no-location", "--sort-output",
                "--project", "civic-portal", "-o", str(POT), *sources)
        for locale in LOCALES:
            if po_path(locale).exists():
                pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", locale,
                        "--no-fuzzy-matching", "--ignore-obsolete", "-w", "110")
            else:
                pybabel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", locale)
        _fill_english()
        compile_all()


def _fill_english() -> None:
    """msgids are English: the en catalogue repeats them unless someone wrote otherwise."""
    path = po_path("en")
    with open(path, "rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            if not any(message.string or ()):
                message.string = tuple(message.id)
        elif not message.string:
            message.string = message.id
    with open(path, "wb") as fh:
        write_po(fh, catalog, width=110)


def fill(json_path: str) -> None:
    data = json.loads(Path(json_path).read_text(encoding="utf-8"))
    with locked():
        unknown = set(data)
        for locale in LOCALES:
            path = po_path(locale)
            with open(path, "rb") as fh:
                catalog = read_po(fh, locale=locale)
            for key, per_locale in data.items():
                context, _eot, msgid = key.rpartition("\x04")
                message = catalog.get(msgid, context=context or None)
                if message is None:
                    continue
                unknown.discard(key)
                value = per_locale.get(locale)
                if value is None and locale == "en":
                    value = msgid
                if value is None:
                    continue
                if isinstance(message.id, tuple):
                    values = value if isinstance(value, list) else [value]
                    n = catalog.num_plurals
                    values = (values + values[-1:] * n)[:n]
                    message.string = tuple(values)
                else:
                    message.string = value[0] if isinstance(value, list) else value
                message.flags.discard("fuzzy")
            with open(path, "wb") as fh:
                write_po(fh, catalog, width=110)
        compile_all()
    if unknown:
        print(f"not in the catalogue (run update first, or the msgid differs): {len(unknown)}")
        for msgid in sorted(unknown)[:20]:
            print("  ", msgid)


def missing() -> int:
    count = 0
    for locale in LOCALES:
        with open(po_path(locale), "rb") as fh:
            catalog = read_po(fh, locale=locale)
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not all(strings):
                count += 1
                ident = message.id[0] if isinstance(message.id, tuple) else message.id
                print(f"{locale}: {'fuzzy' if message.fuzzy else 'untranslated'}: {ident}")
    return 1 if count else 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    command = argv[0]
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "fill" and len(argv) == 2:
        fill(argv[1])
    elif command == "missing":
        return missing()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
