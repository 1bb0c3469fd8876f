"""What gates and offline verifiers download, and the keys behind it: the status document,
the published signing keys (JWKS), key rotation, and the secret the private keys are kept
encrypted with."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.eid import keys, settings
from portal.eid.models import Card
from portal.eid.service.common import now_or


def status_document(session: Session, now: datetime | None = None) -> tuple[dict, str]:
    """Revoked (not yet past their validity) and suspended card ids, with a content ETag."""
    now = now_or(now)
    rows = session.execute(
        select(Card.public_id, Card.status)
        .where((Card.status == "suspended") | ((Card.status == "revoked") & (Card.expires_at > now)))
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


def fernet():
    """The Fernet that encrypts the private signing keys (``settings.key_encryption_secret``),
    made once per secret."""
    secret = settings.key_encryption_secret()
    cached = current_app.extensions.get("eid_fernet")
    if cached is None or cached[0] != secret:
        cached = (secret, keys.fernet_for(secret))
        current_app.extensions["eid_fernet"] = cached
    return cached[1]
