"""The short-lived signed token a card shows as its QR code: what it claims, and signing it.

Its attributes are the holder's verified facts (``holders.holder_facts``), read when it is
signed. Signing writes nothing: the signing key exists before the first token (the first
card issued, the demo seeding or ``eid rotate-key``/``ensure-key`` make it), and without one
the answer is 503 ``signing_key_missing``.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

import jwt
from sqlalchemy.orm import Session

from portal.accounts.service import require_verified
from portal.eid import keys, settings, verifier
from portal.eid.errors import CardSuspended, NoActiveCard, NoSigningKey
from portal.eid.models import Card
from portal.eid.service.cards import live_card, shown_status
from portal.eid.service.common import now_or
from portal.eid.service.holders import Holder, holder_facts
from portal.eid.service.status import fernet

SEOUL = ZoneInfo("Asia/Seoul")


def ages_met(birth_date: date | None, thresholds, today: date) -> list[int]:
    if birth_date is None:
        return []
    age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    return [t for t in thresholds if age >= t]


def card_token(session: Session, user, now: datetime | None = None) -> tuple[str, int]:
    """A short-lived signed token for the holder's active card: (token, expires_in)."""
    require_verified(user)
    now = now_or(now)
    card = live_card(session, user)
    status = shown_status(card, now) if card is not None else None
    if status != "active":
        if status == "suspended":
            raise CardSuspended()
        raise NoActiveCard()
    return sign_token(session, card, now)


def sign_token(session: Session, card: Card, now: datetime | None = None) -> tuple[str, int]:
    """Sign a token for ``card`` with its holder's verified facts (403 ``not_verified`` if the
    holder is not verified, 503 ``signing_key_missing`` before the first key). A read."""
    claims = token_claims(card, holder_facts(session, card.user), now_or(now))
    row = keys.active_key(session)
    if row is None:
        raise NoSigningKey()
    token = jwt.encode(claims, keys.signer(row, fernet()), algorithm=verifier.ALGORITHM,
                       headers={"kid": row.kid, "typ": "JWT"})
    return token, claims["exp"] - claims["iat"]


def token_claims(card: Card, holder: Holder, now: datetime) -> dict:
    """The claims of a card token: a pseudonymous subject and the gate attributes only, from
    the holder's verified facts."""
    iat = int(now.timestamp())
    return {
        "iss": settings.ISSUER(),
        "sub": card.public_id,
        "iat": iat,
        "exp": iat + settings.TOKEN_SECONDS(),
        "jti": verifier.b64url_encode(secrets.token_bytes(16)),
        "resident": holder.resident,
        "district": holder.district,
        "age_over": ages_met(holder.birth_date, settings.AGE_THRESHOLDS(),
                             now.astimezone(SEOUL).date()),
        "status_idx": card.status_idx,  # where an offline gate's status list speaks of the card
    }
