"""A resident's card: issue, show, report lost, and the short-lived signed token for the QR.

A card is "live" while active or suspended; one live card per user (a partial unique index
decides races). A live card past its validity counts as expired wherever it is read
(``shown_status``); the write paths and the hourly ``expire_cards`` task mark it so.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import jwt
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from portal.accounts import roles
from portal.accounts.service import require_verified
from portal.audit import record
from portal.eid import keys, settings, verifier
from portal.eid.errors import CardExists, CardSuspended, NoActiveCard, NoCardYet
from portal.eid.models import LIVE_STATUSES, Card
from portal.eid.service.common import now_or
from portal.eid.service.status import fernet

SEOUL = ZoneInfo("Asia/Seoul")

STATUS_LABELS = {
    "active": _l("Valid"),
    "suspended": _l("Suspended"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
}


def live_card(session: Session, user) -> Card | None:
    return session.scalar(select(Card).where(Card.user_id == user.id,
                                             Card.status.in_(LIVE_STATUSES)))


def shown_status(card: Card, now: datetime) -> str:
    """The card's status at ``now``: a live card past its validity is expired."""
    if card.status in LIVE_STATUSES and card.expires_at <= now:
        return "expired"
    return card.status


def my_card(session: Session, user, now: datetime | None = None) -> Card:
    """The user's card: the live one (active or suspended), else the latest one. A read: a
    card past its validity is shown expired, not written so."""
    require_verified(user)
    card = live_card(session, user) or session.scalar(
        select(Card).where(Card.user_id == user.id)
        .order_by(Card.issued_at.desc(), Card.id.desc()).limit(1))
    if card is None:
        raise NoCardYet()
    status = shown_status(card, now_or(now))
    if status != card.status:
        set_committed_value(card, "status", status)  # shown, never flushed
    return card


def _expire_due(session: Session, user, now: datetime) -> None:
    """Mark the user's live card expired if it is past its validity (flush only)."""
    session.execute(update(Card).where(Card.user_id == user.id, Card.status.in_(LIVE_STATUSES),
                                       Card.expires_at <= now)
                    .values(status="expired", status_changed_at=now))


def _issue(session: Session, user, now: datetime) -> Card:
    _expire_due(session, user, now)
    card = Card(public_id=verifier.b64url_encode(secrets.token_bytes(16)),
                user_id=user.id, number="".join(secrets.choice("0123456789") for _ in range(16)),
                status="active", issued_at=now, status_changed_at=now,
                expires_at=now + timedelta(days=settings.CARD_VALID_DAYS()))
    try:
        # The partial unique index on (user_id) WHERE status IN (active, suspended) decides
        # two racing requests: one card, one 409.
        with session.begin_nested():
            session.add(card)
    except IntegrityError:
        session.rollback()
        raise CardExists() from None
    record(session, user, "eid.card_issued", "eid_card", card.public_id)
    return card


def issue_card(session: Session, user, now: datetime | None = None) -> Card:
    """Issue a card to a verified resident; 409 ``card_exists`` if they hold a live one."""
    require_verified(user)
    card = _issue(session, user, now_or(now))
    session.commit()
    return card


def _revoke(session: Session, user, now: datetime) -> Card:
    # Only an active card: a suspended one cannot be revoked by its holder (that would lift
    # the suspension).
    card_id = session.execute(
        update(Card).where(Card.user_id == user.id, Card.status == "active")
        .values(status="revoked", status_changed_at=now, status_reason="reported_lost")
        .returning(Card.id)
    ).scalar()
    if card_id is None:
        suspended = live_card(session, user) is not None
        session.rollback()
        raise CardSuspended() if suspended else NoActiveCard()
    card = session.get(Card, card_id)
    record(session, user, "eid.card_revoked", "eid_card", card.public_id, reason="reported_lost")
    return card


def revoke_my_card(session: Session, user, now: datetime | None = None) -> Card:
    """Report the card lost: the active card becomes revoked (a new one can then be issued)."""
    require_verified(user)
    card = _revoke(session, user, now_or(now))
    session.commit()
    session.refresh(card)
    return card


def report_lost(session: Session, user, now: datetime | None = None) -> Card:
    """Revoke the active card and issue a new one, in one commit."""
    require_verified(user)
    now = now_or(now)
    _revoke(session, user, now)
    card = _issue(session, user, now)
    session.commit()
    return card


def expire_cards(session: Session, now: datetime | None = None) -> int:
    """Mark every live card past its validity expired (the hourly beat task)."""
    now = now_or(now)
    n = session.execute(update(Card).where(Card.status.in_(LIVE_STATUSES), Card.expires_at <= now)
                        .values(status="expired", status_changed_at=now)).rowcount
    session.commit()
    return n


# --- the token ------------------------------------------------------------------------------


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
    return sign_token(session, card, user, now)


def sign_token(session: Session, card: Card, user, now: datetime | None = None) -> tuple[str, int]:
    """Sign a token for ``card``. The first token ever creates the signing key, so this
    commits (nothing else is written)."""
    claims = token_claims(card, user, now_or(now))
    f = fernet()
    row = keys.active_key(session, f)
    session.commit()
    token = jwt.encode(claims, keys.signer(row, f), algorithm=verifier.ALGORITHM,
                       headers={"kid": row.kid, "typ": "JWT"})
    return token, claims["exp"] - claims["iat"]


def token_claims(card: Card, user, now: datetime) -> dict:
    """The claims of a card token: a pseudonymous subject and the gate attributes only."""
    iat = int(now.timestamp())
    return {
        "iss": settings.ISSUER(),
        "sub": card.public_id,
        "iat": iat,
        "exp": iat + settings.TOKEN_SECONDS(),
        "jti": verifier.b64url_encode(secrets.token_bytes(16)),
        "resident": bool(user.is_verified and roles.RESIDENT in user.roles),
        "district": user.district,
        "age_over": ages_met(user.birth_date, settings.AGE_THRESHOLDS(),
                             now.astimezone(SEOUL).date()),
    }
