"""What the portal refuses to read, before any service sees it.

- Text with NUL bytes or lone surrogates (PostgreSQL cannot store the first, no encoder can
  write the second): 422, naming the field.
- JSON nested deeper than ``MAX_JSON_DEPTH``: refused before it is parsed recursively.
- Ids beyond the database's integer range: no route matches (404), see ``BoundedInt``.
- Text a person reads (a title, a name) made only of invisible or bidi-control characters.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter

MAX_JSON_DEPTH = 32
MAX_ID = 2**31 - 1  # PostgreSQL integer

_UNREADABLE = re.compile("[\x00\ud800-\udfff]")


class TooDeep(ValueError):
    """A JSON document nested deeper than MAX_JSON_DEPTH."""


def json_depth_ok(data: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `data` nests at most `limit` arrays/objects, read without recursion (brackets
    inside strings do not count)."""
    if isinstance(data, bytes | bytearray):
        opening = data.count(b"[") + data.count(b"{")
        if opening <= limit:
            return True
        data = data.decode("utf-8", "replace")
    elif data.count("[") + data.count("{") <= limit:
        return True
    depth = 0
    in_string = escaped = False
    for ch in data:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


class PortalJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing documents nested deeper than MAX_JSON_DEPTH before parsing."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if not json_depth_ok(s):
            raise TooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return json.loads(s, **kwargs)


def up_to(limit: int) -> str:
    """A regular expression for the decimal numbers 1 .. `limit` (leading zeros allowed), so
    ``up_to(2**31 - 1)`` matches ``2147483647`` and ``007`` but not ``2147483648`` or ``0``."""
    digits = str(limit)
    shorter = [rf"[1-9]\d{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    same = []
    for i, d in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(d) > low:
            rest = len(digits) - i - 1
            same.append(f"{digits[:i]}[{low}-{int(d) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    return "0*(?:" + "|".join([*shorter, *same, digits]) + ")"


class BoundedInt(IntegerConverter):
    """``<int:...>`` in a route: 1 .. 2**31 - 1, what an id column holds; anything else is
    not a route (404) rather than a database error.

    The range is in the converter's regex, not only in ``to_python``: Werkzeug checks the range
    after it has picked a rule by method, so an id out of range on a path whose first rule takes
    another method (``PUT`` and ``DELETE .../follow``) was a 405 naming that method, not a 404."""

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
        if not fixed_digits and not signed and min == 1 and max is not None:
            self.regex = up_to(max)


def unreadable(value: str) -> bool:
    """NUL bytes or lone surrogates."""
    return bool(_UNREADABLE.search(value))


def first_unreadable(data: Any, path: str = "") -> str | None:
    """The path (``guest.name``, ``items.0``) of the first string in a parsed JSON document that
    holds NUL bytes or lone surrogates, keys included; None when there is none."""
    stack = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if unreadable(value):
                return where or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                key_path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and unreadable(key):
                    return where or "body"
                stack.append((key_path, item))
        elif isinstance(value, list):
            stack.extend((f"{where}.{i}" if where else str(i), item) for i, item in enumerate(value))
    return None


_INVISIBLE = {"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me", "Co", "Cn"}
# Letters and symbols that draw nothing: Hangul fillers, the blank braille pattern.
_BLANK = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def visible(text: str | None) -> bool:
    """Whether `text` has at least one character a person can see: not only spaces, control
    or format characters (zero-width spaces, bidi controls), or combining marks."""
    return any(ch not in _BLANK and unicodedata.category(ch) not in _INVISIBLE for ch in text or "")


def _visible_class(shortest_run: int = 32) -> str:
    """A regular-expression class of characters ``visible`` accepts: the runs of at least
    ``shortest_run`` such characters in the Basic Multilingual Plane (letters, digits,
    punctuation and symbols of every common script). A subset on purpose, so a text the pattern
    matches is always one the service accepts; short runs and the other planes are left out only
    to keep the document small."""
    runs, start = [], None
    for cp in range(0x10000):
        ok = not 0xD800 <= cp <= 0xDFFF and visible(chr(cp))
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            if cp - start >= shortest_run:
                runs.append((start, cp - 1))
            start = None
    return "[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in runs) + "]"


# JSON Schema ``pattern`` (searched, not anchored) of a text that must be ``visible``: it holds
# at least one letter, digit, punctuation mark or symbol. The API documents say so with it;
# the services still check ``visible`` (which accepts a little more) with their own message.
VISIBLE_PATTERN = _visible_class()


# Text a person reads (a name, a title, a reason) needs a character they can see.
INVISIBLE = _l("Write it with characters a person can see, not only spaces or invisible characters.")


def clean_text(value, errors: dict, field: str, *, hi: int, lo: int = 0, required: bool = False) -> str | None:
    """`value` stripped, or None with a message in ``errors[field]`` when it is missing (if
    `required`), not text, made only of invisible characters (zero-width spaces, bidi controls,
    Hangul fillers: see :func:`visible`), or its length is outside lo..hi. None, without a
    message, for an empty optional value. The one check of free text every service makes."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = _l("This field is required.")
        return None
    if not isinstance(value, str):
        errors[field] = _l("Wrong type or format.")
        return None
    value = value.strip()
    if not visible(value):
        errors[field] = INVISIBLE
    elif len(value) < lo:
        errors[field] = _l("Too short: at least %(n)s characters.", n=lo)
    elif len(value) > hi:
        errors[field] = _l("Too long: at most %(n)s characters.", n=hi)
    else:
        return value
    return None
