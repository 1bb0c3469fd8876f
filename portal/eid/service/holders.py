"""What a card says of its holder, and what becomes of the holder's cards when the account is
no longer verified.

A card attests verified facts only. The facts are the register entry the account holds
(``user.register_id``): imported from the city's register, or made by staff at the counter
from the identity document they checked. An account an operator made verified on the command
line (``flask --app portal users create --verified``) holds no entry: its birth date and
district are the ones the operator gave. What a resident types into their profile is never
read here, and an account that is not verified gets no card and no token at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from portal.accounts import roles
from portal.accounts.models import ResidentRecord
from portal.accounts.service import require_verified
from portal.audit import record
from portal.eid.models import LIVE_STATUSES, Card
from portal.eid.service.common import now_or

# The status reason of a card revoked because its holder's register entry was released.
RELEASED = "verification_released"


@dataclass(frozen=True)
class Holder:
    """The facts a card may attest of its holder (the name is shown on the card page, never
    put in a token)."""

    name: str
    resident: bool
    birth_date: date | None
    district: str | None


def holder_facts(session: Session, user) -> Holder:
    """The verified facts of ``user`` (403 ``not_verified`` for an account that is not)."""
    require_verified(user)
    resident = roles.RESIDENT in user.roles
    entry = session.get(ResidentRecord, user.register_id) if user.register_id is not None else None
    if entry is not None:
        return Holder(entry.name, resident, entry.birth_date, entry.district)
    return Holder(user.name, resident, user.birth_date, user.district)


def revoke_on_release(session: Session, actor, user, now: datetime | None = None) -> list[str]:
    """``portal.accounts.service.ON_RELEASE``: staff took the register entry from ``user``, who
    is no longer verified, so their live cards (active or suspended) are revoked, each audited,
    in the transaction of the release (flushes; the release commits). Returns the card ids."""
    now = now_or(now)
    revoked = list(session.execute(
        update(Card).where(Card.user_id == user.id, Card.status.in_(LIVE_STATUSES))
        .values(status="revoked", status_changed_at=now, status_reason=RELEASED)
        .returning(Card.public_id)
    ).scalars())
    for public_id in revoked:
        record(session, actor, "eid.card_revoked", "eid_card", public_id, reason=RELEASED)
    return revoked
