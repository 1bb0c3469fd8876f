"""Absolute links in messages: always from PORTAL_BASE_URL, never from the request (a forged
Host header must not write our emails)."""

from __future__ import annotations

from flask import current_app

DEV_BASE_URL = "http://127.0.0.1:5000"


def absolute(path: str) -> str:
    """`path` (starting with "/") on the portal's configured base URL."""
    base = current_app.config.get("PORTAL_BASE_URL") or DEV_BASE_URL
    return str(base).rstrip("/") + path
