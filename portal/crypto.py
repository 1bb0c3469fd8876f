"""Keys at rest: a Fernet key from a configured secret, for what the portal stores encrypted
(e-ID signing keys, a vote's private key)."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def fernet_from_secret(secret: str | bytes, *, salt: bytes, info: bytes) -> Fernet:
    """The secret itself when it is already a Fernet key; else a key derived from it with
    HKDF-SHA256 under `salt` and `info` (one per purpose, so one secret never yields the same
    key for two uses)."""
    if isinstance(secret, str):
        secret = secret.encode()
    try:
        return Fernet(secret)  # already a Fernet key
    except (ValueError, TypeError):
        pass
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret)
    return Fernet(base64.urlsafe_b64encode(derived))
