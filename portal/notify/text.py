"""Text that cannot be stored: NUL bytes (PostgreSQL refuses them in text and JSON columns) and
lone surrogates (no encoder writes them). Notify and welfare refuse such text where they take it
in, as a 422 naming the field, so it never reaches the database as a 500 whose error would carry
the other values of the statement. (Small and on purpose: the portal's own input check will
take its place.)
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l

MESSAGE = _l("Contains characters that are not allowed (such as NUL).")

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: Any) -> bool:
    """Whether ``value`` is text holding a NUL byte or a lone surrogate."""
    return isinstance(value, str) and _UNSTORABLE.search(value) is not None


def unstorable_at(data: Any, path: str = "") -> str | None:
    """The path (``context.name``, ``rules.all.0.district.in.1``) of the first string in a JSON-like
    value (dicts, lists, strings) that cannot be stored, keys included; None when there is none.
    Walks without recursion, so no nesting depth breaks it."""
    stack = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if unstorable(value):
                return where or "value"
        elif isinstance(value, dict):
            for key, item in value.items():
                if unstorable(key):
                    return where or "value"
                stack.append((f"{where}.{key}" if where else str(key), item))
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}.{i}" if where else str(i), item) for i, item in enumerate(value))
    return None
