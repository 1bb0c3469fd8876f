"""What gates and offline verifiers download, and the keys behind it: the status document,
the status list (draft-ietf-oauth-status-list), the published signing keys (JWKS), key
rotation, and the secret the private keys are kept encrypted with."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from portal.eid import keys, settings, statuslist, verifier
from portal.eid.errors import NoSigningKey
from portal.eid.models import STATUS_LIST_SIZE, Card, SigningKey
from portal.eid.service.common import now_or

# How long a revoked or suspended card stays listed after its validity ended: a token signed
# just before the card expired lives up to the longest token lifetime, and a gate accepts it up
# to the clock-skew allowance after that. Later no token of the card can pass anywhere (none is
# signed for a card past its validity), so listing it would only grow the document.
LISTED_AFTER_EXPIRY = timedelta(seconds=verifier.MAX_LIFETIME + verifier.LEEWAY)


def status_document(session: Session, now: datetime | None = None) -> tuple[dict, str]:
    """Revoked and suspended card ids, with a content ETag: every such card whose validity
    ended less than ``LISTED_AFTER_EXPIRY`` ago (the document grows with cards revoked within
    a card's validity, no longer)."""
    now = now_or(now)
    rows = session.execute(
        select(Card.public_id, Card.status)
        .where(Card.status.in_(("revoked", "suspended")),
               Card.expires_at > now - LISTED_AFTER_EXPIRY)
        .order_by(Card.public_id)
    ).all()
    doc = {
        "revoked": [r.public_id for r in rows if r.status == "revoked"],
        "suspended": [r.public_id for r in rows if r.status == "suspended"],
    }
    body = json.dumps(doc, separators=(",", ":"), sort_keys=True)
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    return doc, etag


# The rows of the status list that are not 0 (valid): revoked, expired and suspended cards, read
# by ``ix_eid_card_status`` (a few milliseconds for 1,000 such cards among 1,000,000; the whole
# table is not scanned). A card still "active" in its row after its validity ended reads 0 until
# the hourly ``expire_cards`` marks it expired: nothing it could show is valid by then, since a
# credential never outlives its card (``credentials``: exp <= the card's expires_at) and a
# legacy token is signed only for a card within its validity and lives 60 seconds. Built once
# (HACKING: statements of a hot path).
_STATUS_LIST_ROWS = (
    select(Card.status_idx,
           case((Card.status == "suspended", statuslist.SUSPENDED), else_=statuslist.INVALID))
    .where(Card.status.in_(("revoked", "expired", "suspended")))
)
# ``iat`` of the status list, rounded down to this many seconds: within one such window the same
# cards sign to the same token (Ed25519 is deterministic), in every process, so its ETag holds
# and a gate's If-None-Match gets a 304; past it the token is new and carries a new ``exp``.
STATUS_LIST_IAT_STEP = 60


def status_list_uri() -> str:
    return settings.ISSUER().rstrip("/") + "/api/v1/eid/status-list"


def status_list(session: Session, now: datetime | None = None) -> tuple[str, str]:
    """The status list token (``statuslist+jwt``, 2 bits a card at its ``status_idx``: 0 active,
    1 revoked or expired, 2 suspended) and its ETag. Signed with the
    active key; 503 ``signing_key_missing`` before the first one. Built on every call: one read
    of the non-valid rows into a bytearray of 262,144 bytes, zlib (skipped when the bytes are
    those of this process's previous call) and one signature."""
    now = now_or(now)
    row = keys.active_key(session)
    if row is None:
        raise NoSigningKey()
    packed = bytearray(STATUS_LIST_SIZE // statuslist.PER_BYTE)
    for idx, value in session.execute(_STATUS_LIST_ROWS):
        packed[idx >> 2] |= value << ((idx & 3) << 1)
    iat = int(now.timestamp()) // STATUS_LIST_IAT_STEP * STATUS_LIST_IAT_STEP
    token = statuslist.sign_lst(_compressed(bytes(packed)), key=keys.signer(row, fernet()),
                                kid=row.kid, uri=status_list_uri(), iat=iat,
                                exp=iat + settings.STATUS_LIST_VALID_SECONDS(),
                                ttl=settings.STATUS_LIST_TTL_SECONDS())
    return token, hashlib.sha256(token.encode("ascii")).hexdigest()[:32]


# The last list compressed in this process, (packed bytes, lst): zlib at level 9 is most of a
# build (0.3 s of 0.45 s for 1,000,000 cards with 10 % listed), and the cards change far less
# often than gates ask. Compared byte for byte, so it is never out of date.
_last_compressed: tuple[bytes, str] = (b"", "")


def _compressed(packed: bytes) -> str:
    global _last_compressed
    last_packed, last_lst = _last_compressed
    if packed == last_packed:
        return last_lst
    lst = statuslist.compress(packed)
    _last_compressed = (packed, lst)
    return lst


def jwks(session: Session, now: datetime | None = None) -> dict:
    return keys.jwks(session, now)


def rotate_key(session: Session, now: datetime | None = None):
    row = keys.rotate(session, fernet(), now)
    session.commit()
    return row


def ensure_signing_key(session: Session) -> tuple[SigningKey, bool]:
    """The first signing key, made if there is none yet (``eid ensure-key``, the demo
    seeding): (the active key, whether it was made now). Idempotent."""
    existing = keys.active_key(session)
    row = existing or keys.ensure_active_key(session, fernet())
    session.commit()
    return row, existing is None


def fernet():
    """The Fernet that encrypts the private signing keys (``settings.key_encryption_secret``),
    made once per secret."""
    secret = settings.key_encryption_secret()
    cached = current_app.extensions.get("eid_fernet")
    if cached is None or cached[0] != secret:
        cached = (secret, keys.fernet_for(secret))
        current_app.extensions["eid_fernet"] = cached
    return cached[1]
