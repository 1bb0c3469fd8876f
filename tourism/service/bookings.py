"""Bookings: holding seats for a guest or a signed-in user, and finding a booking again.

Plain functions on a SQLAlchemy session; they take the acting user where it matters. A use
case commits once, in its top-level function; the steps it calls only flush. Seats move in
seats.py only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from portal.accounts.roles import STAFF
from portal.db import commit_keeping_loaded, dialect_name
from portal.errors import Invalid
from portal.types import utcnow

from .. import settings
from ..errors import HoldLimit, NoSuchBooking, NoSuchSlot, Retry, SlotClosed, SoldOut
from ..limits import IDEMPOTENCY_KEY_MAX
from ..models import Booking, Slot
from . import hold_limits, seats
from .guests import clean_email, guest_details, signed_in
from .references import new_reference, normalise_reference


def _by_key(session: Session, key: str) -> Booking | None:
    return session.scalar(select(Booking).where(Booking.idempotency_key == key))


_HOLD_SLOT: dict[bool, object] = {}


def _hold_slot_statement(locks: bool):
    """The statement of _slot_for_hold, built once per dialect kind (its values are bound
    parameters: slot_id, now and, with the locks, ids)."""
    stmt = _HOLD_SLOT.get(locks)
    if stmt is None:
        columns = [Slot, seats.expired_seats(bindparam("now", type_=Booking.__table__.c.created_at.type))]
        if locks:
            columns.append(hold_limits.holders_locked())
        stmt = _HOLD_SLOT[locks] = (
            select(*columns).options(joinedload(Slot.listing)).where(Slot.id == bindparam("slot_id"))
            .execution_options(populate_existing=True))
    return stmt


def _slot_for_hold(session: Session, slot_id: int, email: str, holder: str | None,
                   now: datetime) -> tuple[Slot, int]:
    """Step, first of the hold's transaction, in one statement: the slot with its listing (as
    get_slot), the seats of its holds whose time is up (only then has the hold to expire them),
    and the holders' locks (hold_limits.lock_holders, PostgreSQL; SQLite: the hold's first
    write locks the whole database until commit)."""
    params = {"slot_id": slot_id, "now": now}
    locks = dialect_name(session) == "postgresql"
    if locks:
        params.update(hold_limits.lock_params(email, holder))
    row = session.execute(_hold_slot_statement(locks), params).first()
    if row is None or not row[0].listing.active:
        raise NoSuchSlot()
    return row[0], int(row[1])


def create_booking(session: Session, *, user, slot_id: int, quantity: int, name: str, email: str,
                   phone: str | None = None, locale: str | None = None,
                   idempotency_key: str | None = None, client: str | None = None,
                   now: datetime | None = None) -> tuple[Booking, bool]:
    """Hold `quantity` seats of a slot for a guest or a signed-in user, asking from the client
    address `client` (the request's remote address).

    Returns (booking, created). `idempotency_key` is a token unique to one request and its
    retries (the claim of its Idempotency-Key: portal.idempotency, which scopes keys to their
    caller and binds them to the request): the same token always answers with the booking made
    with it, also when the retries race each other. Raises SoldOut when too few seats remain,
    HoldLimit when the guest's email or client address already holds too many.
    """
    key = (idempotency_key or "").strip() or None
    if key and len(key) > IDEMPOTENCY_KEY_MAX:
        raise Invalid(fields={"Idempotency-Key": _l("At most 200 characters.")})
    if key:
        existing = _by_key(session, key)
        if existing is not None:
            return existing, False
    guest = guest_details(user, name=name, email=email, phone=phone, quantity=quantity, locale=locale)
    now = now or utcnow()
    holder = hold_limits.client_key(client)
    slot, expired = _slot_for_hold(session, slot_id, guest["email"], holder, now)  # locks taken
    if slot.starts_at <= now:
        raise SlotClosed()
    price = slot.price

    for attempt in range(3):
        try:
            if attempt:  # the rollback below released the locks
                hold_limits.lock_holders(session, guest["email"], holder)
            if attempt or expired:
                seats.expire_holds(session, slot_id=slot_id, now=now)
            if not seats.take(session, slot_id, quantity):
                session.commit()  # the holds expired above stay released
                raise SoldOut()
            values = {
                "reference": new_reference(), "slot_id": slot_id, "user_id": guest["user_id"],
                "guest_name": guest["name"], "guest_email": guest["email"], "guest_phone": guest["phone"],
                "locale": guest["locale"], "quantity": quantity, "total": price * quantity, "status": "held",
                "hold_expires_at": now + timedelta(minutes=settings.HOLD_MINUTES()),
                "idempotency_key": key, "created_at": now, "confirmed_at": None, "cancelled_at": None,
                "checked_in_at": None, "refund_amount": 0, "client_key": holder,
                "confirmation_sent": False}
            booking_id = hold_limits.insert_within(session, values, quantity, now)
            if booking_id is None:
                try:
                    hold_limits.check(session, guest["email"], holder, quantity, now)
                    raise HoldLimit(retry_after=1)  # not reached: check counts as the INSERT did
                except HoldLimit:
                    session.rollback()  # the seats taken above go back with it...
                    existing = _by_key(session, key) if key else None
                    seats.expire_holds(session, slot_id=slot_id, now=now)  # ...the releases stay
                    session.commit()
                    if existing is not None:
                        return existing, False
                    raise
            # The answer is built from what this transaction wrote, with no SELECT after the
            # commit: the booking as inserted (no payment yet), its slot's seats as the taking
            # UPDATE returned them (seats.take), the slot's expired holds released above.
            booking = Booking(id=booking_id, **values)
            make_transient_to_detached(booking)
            session.add(booking)
            set_committed_value(booking, "slot", slot)
            set_committed_value(booking, "payments", [])
            slot.expired_held = 0  # released above, if there were any
            commit_keeping_loaded(session)
            return booking, True
        except IntegrityError:
            # The seats taken above are rolled back with the failed insert (the key is UNIQUE:
            # of racing retries with one key, one inserts and the others find its booking).
            session.rollback()
            if key:
                existing = _by_key(session, key)
                if existing is not None:
                    return existing, False
    raise Retry()


def find_booking(session: Session, reference: str, *, email: str | None = None, user=None,
                 remembered: bool = False) -> Booking:
    """A booking by reference, for the person who booked it or staff.

    The booker proves it with the email given when booking, by being the signed-in user who
    booked, or (`remembered`) by the browser session that made or looked up the booking.
    A wrong email answers the same as an unknown reference.
    """
    booking = session.scalar(select(Booking).options(joinedload(Booking.slot))
                             .where(Booking.reference == normalise_reference(reference)))
    if booking is not None:
        if remembered or (email is not None and clean_email(email) == booking.guest_email):
            return booking
        if signed_in(user) and (user.id == booking.user_id or user.has_role(STAFF)):
            return booking
    raise NoSuchBooking()


def read_booking(session: Session, reference: str, *, email: str | None = None, user=None,
                 remembered: bool = False) -> Booking:
    """find_booking for a page or an API answer: writes nothing. Its slot's seats are counted as
    a read sees them, and a hold whose time is up reads as expired (seats.status_now)."""
    booking = find_booking(session, reference, email=email, user=user, remembered=remembered)
    seats.reread(session, booking.slot)
    return booking


def refresh_hold(session: Session, booking: Booking, now: datetime | None = None) -> Booking:
    """A step of the write paths: expire the booking's hold (and its slot's others) if its time
    is up, so that what follows sees it expired."""
    now = now or utcnow()
    if seats.hold_is_over(booking, now):
        seats.expire_holds(session, slot_id=booking.slot_id, now=now)
        session.refresh(booking)
    return booking
