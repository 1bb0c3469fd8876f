"""Settings of tourism (app.config, or the environment through `portal.config`), each with its
only default."""

from __future__ import annotations

from flask import current_app

from portal.settings import Setting, as_bool


def _rate(value) -> str:
    """A counted limit such as "5 per hour"; one that does not parse falls back to the default."""
    from limits import parse

    spec = str(value).strip()
    parse(spec)  # ValueError when it is not a limit
    return spec


HOLD_MINUTES = Setting(
    "BOOKING_HOLD_MINUTES", 15, int,
    doc="how long a new booking holds its seats while the guest pays")
OFFER_MINUTES = Setting(
    "TOURISM_OFFER_MINUTES", 60, int,
    doc="how long a waiting-list offer holds its seats (never past the slot's start)")
MAX_HELD_PER_EMAIL = Setting(
    "BOOKING_MAX_HELD_SEATS_PER_EMAIL", 10, int, minimum=1,
    doc="seats one guest email may hold unpaid at once; beyond, 429 hold_limit")
MAX_HELD_PER_CLIENT = Setting(
    "BOOKING_MAX_HELD_SEATS_PER_CLIENT", 20, int, minimum=1,
    doc="seats one client address may hold unpaid at once; beyond, 429 hold_limit")
MAILS_PER_RECIPIENT = Setting(
    "BOOKING_MAILS_PER_RECIPIENT", "5 per hour", _rate,
    doc="tourism mails one address (as a guest typed it) may receive; beyond, the mail is not sent")
SANDBOX_ENABLED = Setting(
    "TOURISM_SANDBOX_ENABLED", None, as_bool,
    doc="the sandbox payment gateway (it takes no money); unset: on, except in production")
SANDBOX_SECRET = Setting(
    "TOURISM_SANDBOX_SECRET", "", str,
    doc="HMAC key of the sandbox gateway's callbacks; must be set in production")

DEV_SANDBOX_SECRET = "dev-sandbox-secret"  # noqa: S105 - development only: refused in production


def _production() -> bool:
    return current_app.config.get("PORTAL_ENV") == "production"


def sandbox_enabled() -> bool:
    """TOURISM_SANDBOX_ENABLED when set; otherwise on, except in production."""
    enabled = SANDBOX_ENABLED()
    return not _production() if enabled is None else enabled


def sandbox_secret() -> bytes:
    """TOURISM_SANDBOX_SECRET; outside production a development key when unset."""
    secret = SANDBOX_SECRET()
    if not secret and _production():
        raise RuntimeError("TOURISM_SANDBOX_SECRET must be set in production")
    return (secret or DEV_SANDBOX_SECRET).encode()
