"""Seats of a slot: the only places they change, who gets the freed ones, how a read counts them.

``tourism_slots.taken`` counts held + confirmed seats and changes in two statements only:
:func:`take` (never past the capacity) and :func:`give_back` (a booking leaving held or
confirmed, exactly once). Seats that come back go to the waiting list first
(:func:`offer_waitlist`).

An unpaid hold whose time is up is expired by a write: :func:`expire_holds`, which the beat task
runs every minute and booking, joining the waiting list, paying and cancelling run for their
slot. Until then a read counts its seats as free and the booking as expired (:func:`load`,
:func:`status_now`), and leaves them where they are: a read never writes, nor asks for a write.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, and_, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from portal.types import utcnow

from .. import settings
from ..models import Booking, Slot, WaitlistEntry
from .notices import notify
from .references import new_reference

# --- where seats change -----------------------------------------------------------------------

def _note_taken(session: Session, slot_id: int, value: int | None) -> None:
    """The slot's new seat count, from the RETURNING of the UPDATE that changed it, on the slot
    this session holds (if it holds it): a commit that keeps loaded objects answers with the
    count as written, without loading the slot again."""
    slot = session.identity_map.get(identity_key(Slot, slot_id))
    if slot is not None and value is not None:
        set_committed_value(slot, "taken", value)


_ASKED = bindparam("quantity", type_=Integer)
# take()'s statement, built once (its values are bound parameters)
_TAKE = (update(Slot.__table__)
         .where(Slot.__table__.c.id == bindparam("slot_id", type_=Integer),
                Slot.__table__.c.taken + _ASKED <= Slot.__table__.c.capacity)
         .values(taken=Slot.__table__.c.taken + _ASKED).returning(Slot.__table__.c.taken))


def take(session: Session, slot_id: int, quantity: int) -> bool:
    """Take `quantity` seats of the slot if that many are left; true when taken."""
    # Never overbook, whatever the number of web processes: the UPDATE checks the seats left on
    # the row it changes (PostgreSQL locks the row and re-checks the condition on its newest
    # version when a concurrent taker commits first); the CHECK taken <= capacity backs it up.
    now_taken = session.execute(_TAKE, {"slot_id": slot_id, "quantity": quantity}).scalar_one_or_none()
    _note_taken(session, slot_id, now_taken)
    return now_taken is not None


def give_back(session: Session, booking_id: int, slot_id: int, quantity: int, new_status: str,
              from_statuses: tuple[str, ...], now: datetime) -> bool:
    """Move a booking out of `from_statuses` and return its seats: true exactly once."""
    values = {"status": new_status, "hold_expires_at": None, "client_key": None}
    if new_status == "cancelled":
        values["cancelled_at"] = now
    # Exactly once however many expiries and cancellations race: only the one whose conditional
    # UPDATE moves the booking gives its seats back.
    res = session.execute(
        update(Booking).where(Booking.id == booking_id, Booking.status.in_(from_statuses))
        .values(**values).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        return False
    _note_taken(session, slot_id, session.execute(
        update(Slot).where(Slot.id == slot_id).values(taken=Slot.taken - quantity).returning(Slot.taken)
        .execution_options(synchronize_session=False)).scalar_one_or_none())
    return True


def offer_waitlist(session: Session, slot_id: int, now: datetime) -> list[Booking]:
    """Offer freed seats to the first in line, as holds with a deadline (in the caller's
    transaction). Strictly first come, first served: stops at the first who does not fit."""
    offered = []
    queue = session.execute(
        select(WaitlistEntry.id, WaitlistEntry.quantity).where(
            WaitlistEntry.slot_id == slot_id, WaitlistEntry.status == "waiting")
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id).limit(20)).all()
    for entry_id, quantity in queue:
        # An entry is offered once: claimed by a conditional UPDATE, handed back if no seats.
        claimed = session.execute(
            update(WaitlistEntry).where(WaitlistEntry.id == entry_id, WaitlistEntry.status == "waiting")
            .values(status="offered").execution_options(synchronize_session=False)).rowcount == 1
        if not claimed:
            continue
        if not take(session, slot_id, quantity):
            session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry_id)
                            .values(status="waiting").execution_options(synchronize_session=False))
            break
        entry = session.get(WaitlistEntry, entry_id)
        slot = session.get(Slot, slot_id)
        deadline = min(now + timedelta(minutes=settings.OFFER_MINUTES()), slot.starts_at)
        booking = Booking(reference=new_reference(), slot_id=slot_id, user_id=entry.user_id,
                          guest_name=entry.name, guest_email=entry.email, guest_phone=entry.phone,
                          locale=entry.locale, quantity=quantity, total=slot.price * quantity,
                          status="held", hold_expires_at=deadline, created_at=now)
        session.add(booking)
        session.flush()
        session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry_id)
                        .values(booking_id=booking.id).execution_options(synchronize_session=False))
        notify(session, booking, "waitlist_offer")
        offered.append(booking)
    return offered


# --- holds whose time is up -------------------------------------------------------------------

def holds_over(now: datetime):
    """SQL: the unpaid holds whose time is up (see hold_is_over)."""
    return and_(Booking.status == "held", Booking.hold_expires_at < now)


def hold_is_over(booking: Booking, now: datetime | None = None) -> bool:
    """An unpaid hold whose time is up (see holds_over)."""
    return (booking.status == "held" and booking.hold_expires_at is not None
            and booking.hold_expires_at < (now or utcnow()))


def expire_holds(session: Session, *, slot_id: int | None = None, now: datetime | None = None,
                 limit: int = 500) -> int:
    """Expire unpaid holds whose time is up (of one slot, or all) and give their seats back, each
    exactly once; freed seats go to the waiting list first. A step in the caller's transaction:
    a use case that refuses afterwards commits what this released before it raises, so the seats
    and the offers stand. Returns how many holds expired."""
    now = now or utcnow()
    stmt = select(Booking.id, Booking.slot_id, Booking.quantity).where(holds_over(now))
    if slot_id is not None:
        stmt = stmt.where(Booking.slot_id == slot_id)
    released = 0
    touched: set[int] = set()
    for booking_id, sid, quantity in session.execute(stmt.order_by(Booking.id).limit(limit)).all():
        if give_back(session, booking_id, sid, quantity, "expired", ("held",), now):
            released += 1
            touched.add(sid)
    for sid in sorted(touched):
        offer_waitlist(session, sid, now)
    return released


def release_expired(session: Session, *, slot_id: int | None = None, now: datetime | None = None,
                    limit: int = 500) -> int:
    """expire_holds as a unit of work of its own: the beat task's (and the CLI's)."""
    released = expire_holds(session, slot_id=slot_id, now=now, limit=limit)
    session.commit()
    return released


# --- seats as a read sees them ----------------------------------------------------------------

def expired_seats(now: datetime):
    """SQL, for each slot row: the seats of its holds whose time is up."""
    return (select(func.coalesce(func.sum(Booking.quantity), 0))
            .where(Booking.slot_id == Slot.id, holds_over(now)).correlate(Slot).scalar_subquery())


def with_expired_seats(stmt, now):
    """`stmt` (a select of Slot) as ``load`` runs it: each slot reloaded, with the seats of its
    holds whose time is up at `now` (a time or a bound parameter)."""
    return stmt.add_columns(expired_seats(now)).execution_options(populate_existing=True)


def load(session: Session, stmt, now: datetime | None = None) -> list[Slot]:
    """The slots of `stmt` (a select of Slot) with their seats counted as a read sees them.
    Writes nothing."""
    return counted(session, with_expired_seats(stmt, now or utcnow()))


def counted(session: Session, stmt, params: dict | None = None) -> list[Slot]:
    """The slots of a ``with_expired_seats`` statement (one built once, its values in
    `params`), each noting its expired holds' seats. Writes nothing."""
    rows = session.execute(stmt, params).all()
    for slot, over in rows:
        slot.expired_held = int(over)  # after the reload, which forgets an older count
    return [slot for slot, _over in rows]


def reread(session: Session, slot: Slot, now: datetime | None = None) -> Slot:
    """`slot` loaded again with its seats counted as a read sees them."""
    return load(session, select(Slot).where(Slot.id == slot.id), now)[0]


def taken(slot: Slot) -> int:
    """Seats held or confirmed; those of holds whose time is up are free for a read (load)."""
    return slot.taken - slot.expired_held


def available(slot: Slot) -> int:
    return max(slot.capacity - taken(slot), 0)


def status_now(booking: Booking, now: datetime | None = None) -> str:
    """A booking's status as a read sees it: an unpaid hold whose time is up is expired."""
    return "expired" if hold_is_over(booking, now) else booking.status
