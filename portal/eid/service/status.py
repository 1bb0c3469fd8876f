"""What gates and offline verifiers download, and the keys behind it: the status document,
the published signing keys (JWKS), key rotation, and the secret the private keys are kept
encrypted with."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.eid import keys, settings, verifier
from portal.eid.models import Card, SigningKey
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
