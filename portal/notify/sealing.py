"""What the outbox keeps from its readers: sealed parts of a notice's context, and the references
that providers and logs see instead of idempotency keys.

- A producer hands what must not lie readable in the database (a link holding a live token) as
  ``send(..., sealed={"link": ...})``. It is stored encrypted (Fernet: AES-128-CBC with
  HMAC-SHA256) under a key derived from ``SECRET_KEY`` with HKDF, opened only to render the
  notice for delivery, never shown by the API or the dashboard, and erased once the notice is
  delivered or has failed for good. Keys of ``SECRET_KEY_FALLBACKS`` still open what older
  keys sealed, so rotating ``SECRET_KEY`` loses no notice still in the queue.
- An idempotency key such as ``welfare:<programme>:<user id>`` says who qualifies for what. What
  leaves the outbox (the ``log`` provider's file, the HTTP providers' ``Idempotency-Key``, an
  e-mail's ``Message-ID``) carries :func:`reference` instead: a keyed hash of the key (HMAC-SHA256
  under another HKDF key), the same on every attempt, which nobody without ``SECRET_KEY`` can
  link to a programme or a person by hashing guesses.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import settings

_SEAL_INFO = b"portal.notify.sealed-context.v1"
_REFERENCE_INFO = b"portal.notify.reference.v1"
REFERENCE_LENGTH = 32  # hex digits: 128 bits


class SealBroken(Exception):
    """A sealed part no configured key opens (``SECRET_KEY`` changed without a fallback)."""


@functools.lru_cache(maxsize=16)
def _derive(secret: str | bytes, info: bytes) -> bytes:
    material = secret.encode() if isinstance(secret, str) else secret
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)


def _secrets() -> list[str | bytes]:
    current = settings.SECRET_KEY()
    if not current:
        raise RuntimeError("SECRET_KEY is not set: notices cannot be sealed")
    return [current, *settings.SECRET_KEY_FALLBACKS()]


def _fernet() -> MultiFernet:
    # the first key seals; every key opens
    return MultiFernet([Fernet(base64.urlsafe_b64encode(_derive(s, _SEAL_INFO))) for s in _secrets()])


def seal(data: dict) -> str:
    """``data`` (a JSON object) as a Fernet token (text)."""
    return _fernet().encrypt(json.dumps(data, ensure_ascii=False).encode()).decode()


def unseal(token: str) -> dict:
    """What :func:`seal` sealed; :class:`SealBroken` when no configured key opens it."""
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except (InvalidToken, ValueError):
        raise SealBroken() from None


def reference(idempotency_key: str) -> str:
    """The keyed hash of an idempotency key that providers and log lines see."""
    key = _derive(_secrets()[0], _REFERENCE_INFO)
    return hmac.new(key, idempotency_key.encode(), hashlib.sha256).hexdigest()[:REFERENCE_LENGTH]
