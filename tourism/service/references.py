"""Booking references, and the signed tokens that let a message's links open a booking."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import current_app

from portal.types import utcnow

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
REFERENCE_LENGTH = 8


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def normalise_reference(reference: str | None) -> str:
    return (reference or "").strip().upper().replace("-", "").replace(" ", "")


def _signer():
    from itsdangerous import URLSafeSerializer

    # The salt differs from the one of the first tokens (a bare reference, never expiring):
    # those are refused, so that the ones a forged Host header harvested open nothing.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="tourism-booking-link")


def access_token(reference: str, until: datetime) -> str:
    """A token for links in messages that opens the booking without an email in the URL, until
    `until` (it carries its expiry, signed with the reference)."""
    return _signer().dumps([reference, int(until.timestamp())])


def token_matches(token: str | None, reference: str, now: datetime | None = None) -> bool:
    """The token was signed for this booking and its time is not up."""
    from itsdangerous import BadSignature

    if not token:
        return False
    try:
        signed_reference, until = _signer().loads(token)
    except (BadSignature, TypeError, ValueError):
        return False
    return (signed_reference == normalise_reference(reference) and isinstance(until, int)
            and (now or utcnow()).timestamp() < until)
