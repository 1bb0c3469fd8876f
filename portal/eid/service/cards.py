"""A resident's card: issue, show, report lost (its token is ``tokens``).

A card is "live" while active or suspended; one live card per user (a partial unique index
decides races). A live card past its validity counts as expired wherever it is read
(``shown_status``); the write paths and the hourly ``expire_cards`` task mark it so.

A resident has at most ``EID_CARD_ISSUES_PER_DAY`` cards issued in any 24 hours, counted in
the cards table under a lock on their account row (``_hold_account``), so the limit holds
across processes and restarts however the requests race. Revoking is never limited: a lost
card can always be stopped.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from portal.accounts.errors import NotVerified
from portal.accounts.models import User
from portal.accounts.service import require_verified
from portal.audit import record
from portal.eid import keys, settings, verifier
from portal.eid.errors import CardExists, CardIssueLimit, CardSuspended, NoActiveCard, NoCardYet
from portal.eid.models import LIVE_STATUSES, Card
from portal.eid.service.common import now_or
from portal.eid.service.status import fernet

# The window of ``EID_CARD_ISSUES_PER_DAY``.
ISSUE_WINDOW = timedelta(days=1)

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


def _hold_account(session: Session, user) -> None:
    """Lock the holder's account row for the rest of the transaction and re-read whether it
    is verified (flush only). Every use case that issues a card takes this lock first, so one
    account's issues run one after another: each counts the cards the previous ones committed
    (``_check_issue_limit``), and a release committed meanwhile is seen (no card for an account
    that stopped being verified). ``FOR NO KEY UPDATE``: rows that merely reference the account
    (cards, audit rows) are not held up."""
    verified_at = session.scalar(select(User.verified_at).where(User.id == user.id)
                                 .with_for_update(key_share=True))
    if verified_at is None:
        session.rollback()
        raise NotVerified()


def issue_wait(session: Session, user, now: datetime) -> int:
    """Seconds until ``user`` may have another card issued (0: now). A read."""
    issued = list(session.scalars(
        select(Card.issued_at).where(Card.user_id == user.id, Card.issued_at > now - ISSUE_WINDOW)
        .order_by(Card.issued_at)))
    over = len(issued) - settings.CARD_ISSUES_PER_DAY()
    if over < 0:
        return 0
    # The window frees a place when the oldest card beyond the allowance leaves it.
    return max(1, math.ceil((issued[over] + ISSUE_WINDOW - now).total_seconds()))


def _check_issue_limit(session: Session, user, now: datetime) -> None:
    """429 ``card_issue_limit`` when ``user`` had their day's cards (under ``_hold_account``)."""
    wait = issue_wait(session, user, now)
    if wait:
        session.rollback()
        raise CardIssueLimit(wait)


def _issue(session: Session, user, now: datetime) -> Card:
    _expire_due(session, user, now)
    keys.ensure_active_key(session, fernet())  # a token can be signed from the first read on
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
    """Issue a card to a verified resident; 409 ``card_exists`` if they hold a live one, 429
    ``card_issue_limit`` past ``EID_CARD_ISSUES_PER_DAY``."""
    require_verified(user)
    now = now_or(now)
    _hold_account(session, user)
    live = live_card(session, user)
    if live is not None and shown_status(live, now) != "expired":
        session.rollback()
        raise CardExists()  # before the limit: "you have a card" says more than "wait"
    _check_issue_limit(session, user, now)
    card = _issue(session, user, now)
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


@dataclass(frozen=True)
class LostReport:
    """What reporting a card lost did: the revoked card, and the new one, or None with the
    seconds until one can be issued (the day's cards were issued)."""

    revoked: Card
    new_card: Card | None
    retry_after: int = 0


def report_lost(session: Session, user, now: datetime | None = None) -> LostReport:
    """Revoke the active card and issue a new one, in one commit. Past the day's cards the
    card is still revoked (a lost card can always be stopped) and no new card is issued."""
    require_verified(user)
    now = now_or(now)
    _hold_account(session, user)
    revoked = _revoke(session, user, now)
    wait = issue_wait(session, user, now)
    card = None if wait else _issue(session, user, now)
    session.commit()
    return LostReport(revoked, card, wait)


def expire_cards(session: Session, now: datetime | None = None) -> int:
    """Mark every live card past its validity expired (the hourly beat task)."""
    now = now_or(now)
    n = session.execute(update(Card).where(Card.status.in_(LIVE_STATUSES), Card.expires_at <= now)
                        .values(status="expired", status_changed_at=now)).rowcount
    session.commit()
    return n
