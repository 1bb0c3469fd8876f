"""Booking references, and the signed tokens that let a message's links open a booking."""

from __future__ import annotations

import secrets

from flask import current_app

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
REFERENCE_LENGTH = 8


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def normalise_reference(reference: str | None) -> str:
    return (reference or "").strip().upper().replace("-", "").replace(" ", "")


def _signer():
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="tourism-booking")


def access_token(reference: str) -> str:
    """A token for links in messages that opens the booking without an email in the URL."""
    return _signer().dumps(reference)


def token_matches(token: str | None, reference: str) -> bool:
    from itsdangerous import BadSignature

    if not token:
        return False
    try:
        return _signer().loads(token) == normalise_reference(reference)
    except BadSignature:
        return False
