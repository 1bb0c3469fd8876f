"""Staff at the e-ID desk: find a card, suspend it, resume it (each with a reason, audited)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.audit import record
from portal.eid.errors import INVISIBLE, NoSuchCard, WrongCardStatus
from portal.eid.limits import CARD_SEARCH_MAX, STATUS_REASON_MAX
from portal.eid.models import Card
from portal.eid.service.common import now_or, require_staff
from portal.errors import Invalid
from portal.inputs import visible

# A card's public id: 16 random bytes in base64url (``cards``), never longer than its column.
_CARD_ID = re.compile(r"[A-Za-z0-9_-]{1,32}\Z")


def check_card_id(public_id) -> str:
    """``public_id`` if a card could have it; 404 ``no_card`` otherwise (NUL bytes, a path
    longer than the column: nothing to look up)."""
    if not isinstance(public_id, str) or not _CARD_ID.match(public_id):
        raise NoSuchCard()
    return public_id


def find_cards(session: Session, staff, query: str, limit: int = CARD_SEARCH_MAX) -> list[Card]:
    """Staff search: by card number, card id, or the holder's e-mail."""
    require_staff(staff)
    from portal.accounts.models import User

    query = (query or "").strip()
    if not query:
        return []
    digits = re.sub(r"[\s-]", "", query)
    stmt = select(Card).join(User, User.id == Card.user_id)
    if digits.isdigit() and len(digits) == 16:
        stmt = stmt.where(Card.number == digits)
    elif "@" in query:
        stmt = stmt.where(User.email == query.lower())
    else:
        stmt = stmt.where(Card.public_id == query)
    return list(session.scalars(stmt.order_by(Card.issued_at.desc()).limit(limit)))


def _set_status(session, staff, public_id, reason, from_status, to_status, action, now=None):
    require_staff(staff)
    check_card_id(public_id)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(fields={"reason": _l("Please give a reason.")})
    if not visible(reason):
        raise Invalid(fields={"reason": INVISIBLE})
    if len(reason) > STATUS_REASON_MAX:
        raise Invalid(fields={"reason": _l("Too long: at most %(n)s characters.", n=STATUS_REASON_MAX)})
    now = now_or(now)
    # Conditional UPDATE: of two staff acting on one card at once, only one finds it in
    # ``from_status``; the other gets 409 wrong_status.
    card_id = session.execute(
        update(Card).where(Card.public_id == public_id, Card.status == from_status)
        .values(status=to_status, status_changed_at=now, status_reason=reason)
        .returning(Card.id)
    ).scalar()
    if card_id is None:
        session.rollback()
        if session.scalar(select(Card.id).where(Card.public_id == public_id)) is None:
            raise NoSuchCard()
        raise WrongCardStatus()
    record(session, staff, action, "eid_card", public_id, reason=reason,
           from_status=from_status, to_status=to_status)
    session.commit()
    return session.get(Card, card_id)


def suspend_card(session: Session, staff, public_id: str, reason: str, now=None) -> Card:
    return _set_status(session, staff, public_id, reason, "active", "suspended",
                       "eid.card_suspended", now)


def resume_card(session: Session, staff, public_id: str, reason: str, now=None) -> Card:
    return _set_status(session, staff, public_id, reason, "suspended", "active",
                       "eid.card_resumed", now)
