"""Typed settings with one default each.

A service declares its settings once, in its own ``settings.py``::

    HOLD_MINUTES = Setting("BOOKING_HOLD_MINUTES", 15, int, minimum=1)

and reads them as ``settings.HOLD_MINUTES()`` (inside an app context) or
``settings.HOLD_MINUTES.get(config)``. ``portal.config.load`` passes every environment variable
of a service's prefix through to ``app.config`` as a string; the setting parses it. Nothing
else writes a default: not ``app.config.setdefault``, not ``config.get(name, default)``.
A value that does not parse falls back to the default (and is clamped to minimum/maximum).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from flask import current_app

T = TypeVar("T")

TRUE = {"1", "true", "yes", "on"}


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in TRUE
    return bool(value)


def as_str(value: Any) -> str:
    return str(value).strip()


class Setting(Generic[T]):
    """One setting: its name, its only default, how to read it."""

    def __init__(self, name: str, default: T, parse: Callable[[Any], T] = int, *,
                 minimum: Any = None, maximum: Any = None, environ: bool = False, doc: str = ""):
        self.name = name
        self.default = default
        self.parse = parse
        self.minimum = minimum
        self.maximum = maximum
        self.environ = environ  # also read os.environ (settings needed before an app exists)
        self.doc = doc

    def get(self, config: Mapping | None = None) -> T:
        cfg = current_app.config if config is None else config
        raw = cfg.get(self.name)
        if (raw is None or raw == "") and self.environ:
            raw = os.environ.get(self.name)
        if raw is None or raw == "":
            return self.default
        try:
            value = self.parse(raw)
        except (TypeError, ValueError):
            return self.default
        if self.minimum is not None and value < self.minimum:
            value = self.minimum
        if self.maximum is not None and value > self.maximum:
            value = self.maximum
        return value

    __call__ = get

    def __repr__(self) -> str:
        return f"Setting({self.name!r}, default={self.default!r})"
