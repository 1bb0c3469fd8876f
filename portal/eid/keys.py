"""Signing keys: generate Ed25519 keys, keep the private half encrypted, publish a JWKS.

The private key is stored Fernet-encrypted in ``eid_signing_key``; the Fernet key comes from
config ``EID_KEY_ENCRYPTION_KEY`` (a Fernet key, or any secret, stretched with HKDF) or else
from ``SECRET_KEY``. One key is active (signs); ``rotate`` retires it and keeps its public half
published until every token it signed has expired (token lifetime + clock-skew allowance).
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.crypto import fernet_from_secret
from portal.eid import verifier
from portal.eid.models import SigningKey
from portal.types import utcnow

# A retired key stays published this long after retirement: the longest token lifetime plus
# the verifier's clock-skew allowance, plus a minute of margin for cached JWKS copies.
PUBLISH_GRACE = timedelta(seconds=verifier.MAX_LIFETIME + verifier.LEEWAY + 60)


class KeyDecryptError(RuntimeError):
    """The stored private key cannot be decrypted with the configured secret."""


def fernet_for(secret: str | bytes) -> Fernet:
    return fernet_from_secret(secret, salt=b"portal.eid", info=b"signing-key-encryption")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def kid_for(public_raw: bytes) -> str:
    """A key id derived from the public key (RFC 7638-like thumbprint, shortened)."""
    return verifier.b64url_encode(hashlib.sha256(public_raw).digest()[:12])


def new_key(fernet: Fernet, now: datetime | None = None) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    public_raw = _raw_public(private.public_key())
    return SigningKey(kid=kid_for(public_raw), status="active", public_key=public_raw,
                      private_key_encrypted=fernet.encrypt(_raw_private(private)),
                      created_at=now or utcnow())


def private_key(row: SigningKey, fernet: Fernet) -> Ed25519PrivateKey:
    try:
        raw = fernet.decrypt(row.private_key_encrypted)
    except InvalidToken:
        raise KeyDecryptError(f"cannot decrypt e-ID signing key {row.kid}: "
                              "wrong EID_KEY_ENCRYPTION_KEY?") from None
    return Ed25519PrivateKey.from_private_bytes(raw)


def rotate(session: Session, fernet: Fernet, now: datetime | None = None) -> SigningKey:
    """Retire the active key (still published for ``PUBLISH_GRACE``) and make a new one.
    Runs in the caller's transaction; commit afterwards."""
    now = now or utcnow()
    session.execute(
        update(SigningKey).where(SigningKey.status == "active")
        .values(status="retired", retired_at=now, publish_until=now + PUBLISH_GRACE)
    )
    row = new_key(fernet, now)
    session.add(row)
    session.flush()
    _cache.clear()
    return row


def active_key(session: Session) -> SigningKey | None:
    """The active signing key, or None before the first one exists (a read: never creates one)."""
    return session.scalar(select(SigningKey).where(SigningKey.status == "active"))


def ensure_active_key(session: Session, fernet: Fernet) -> SigningKey:
    """The active signing key, made now if there is none yet (the first card issued, the demo
    seeding, ``eid ensure-key``: writes, never a read). Flushes only; the partial unique index
    makes two racing creators end with one key."""
    row = active_key(session)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = new_key(fernet)
            session.add(row)
    except IntegrityError:
        row = active_key(session)
    return row


def published(session: Session, now: datetime | None = None) -> list[SigningKey]:
    """Keys in the JWKS: the active one and retired ones whose tokens may still be valid."""
    now = now or utcnow()
    return list(session.scalars(
        select(SigningKey)
        .where(or_(SigningKey.status == "active", SigningKey.publish_until > now))
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
    ))


def jwks(session: Session, now: datetime | None = None) -> dict:
    return {"keys": [verifier.public_jwk(row.kid, row.public_key) for row in published(session, now)]}


class _KeyCache:
    """Per-process cache of the published public keys for the verify endpoint: reloaded every
    ``TTL`` seconds, and a kid it does not know is looked up at once (a key rotated in by
    another process is usable immediately)."""

    TTL = 10.0

    def __init__(self):
        self._lock = threading.Lock()
        self.clear()

    def clear(self):
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._loaded = float("-inf")
        self._signers: dict[str, Ed25519PrivateKey] = {}

    def public_keys(self, session: Session, kid: str | None = None) -> dict[str, Ed25519PublicKey]:
        now = time.monotonic()
        if now - self._loaded > self.TTL:
            keys = {row.kid: Ed25519PublicKey.from_public_bytes(row.public_key)
                    for row in published(session)}
            with self._lock:
                self._keys, self._loaded = keys, now
        elif kid is not None and kid not in self._keys and len(kid) <= 64:
            row = session.scalar(select(SigningKey).where(
                SigningKey.kid == kid,
                or_(SigningKey.status == "active", SigningKey.publish_until > utcnow())))
            if row is not None:
                with self._lock:
                    self._keys = {**self._keys,
                                  row.kid: Ed25519PublicKey.from_public_bytes(row.public_key)}
        return self._keys

    def fresh(self) -> dict[str, Ed25519PublicKey] | None:
        """The cached public keys if loaded within ``TTL`` seconds, else None (no database)."""
        if time.monotonic() - self._loaded > self.TTL:
            return None
        return self._keys

    def signer(self, row: SigningKey, fernet: Fernet) -> Ed25519PrivateKey:
        key = self._signers.get(row.kid)
        if key is None:
            key = private_key(row, fernet)
            with self._lock:
                self._signers[row.kid] = key
        return key


_cache = _KeyCache()


def public_keys(session: Session, kid: str | None = None) -> dict[str, Ed25519PublicKey]:
    return _cache.public_keys(session, kid)


def fresh_public_keys() -> dict[str, Ed25519PublicKey] | None:
    return _cache.fresh()


def signer(row: SigningKey, fernet: Fernet) -> Ed25519PrivateKey:
    return _cache.signer(row, fernet)


def clear_cache() -> None:
    _cache.clear()
