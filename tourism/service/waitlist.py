"""Joining a sold-out slot's waiting list. Offers to those waiting are made where seats come
back (seats.offer_waitlist)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import insert_ignore
from portal.types import utcnow

from ..errors import AlreadyWaiting, SeatsAvailable, SlotClosed
from ..models import WaitlistEntry
from . import seats
from .guests import guest_details
from .listings import get_slot


def join_waitlist(session: Session, *, user, slot_id: int, quantity: int, name: str, email: str,
                  phone: str | None = None, locale: str | None = None) -> WaitlistEntry:
    """Put a guest in line for a sold-out slot. Holds of the slot whose time is up are expired
    first, and stay released whatever the answer."""
    guest = guest_details(user, name=name, email=email, phone=phone, quantity=quantity, locale=locale)
    slot = get_slot(session, slot_id)
    now = utcnow()
    if slot.starts_at <= now:
        raise SlotClosed()
    seats.expire_holds(session, slot_id=slot_id, now=now)
    session.refresh(slot)
    if seats.available(slot) >= quantity:
        session.commit()
        raise SeatsAvailable()
    # Once per slot and email: the UNIQUE (slot_id, email) decides, also between racing joins.
    joined = insert_ignore(session, WaitlistEntry, {
        "slot_id": slot_id, "user_id": guest["user_id"], "name": guest["name"], "email": guest["email"],
        "phone": guest["phone"], "locale": guest["locale"], "quantity": quantity, "created_at": now})
    session.commit()
    if not joined:
        raise AlreadyWaiting()
    return session.scalar(select(WaitlistEntry).where(WaitlistEntry.slot_id == slot_id,
                                                      WaitlistEntry.email == guest["email"]))
