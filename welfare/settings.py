"""Welfare settings: each read here, each with its only default (README lists them)."""

from __future__ import annotations

from portal.settings import Setting, as_str

# Anonymous self-checks (the screener page and POST /api/v1/welfare/screener) per client address.
SCREENER_RATE_LIMIT = Setting("WELFARE_SCREENER_RATE_LIMIT", "60 per minute", as_str)
