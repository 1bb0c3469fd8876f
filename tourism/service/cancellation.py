"""Cancelling a held or confirmed booking: seats back, refund per the listing's policy, once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal import audit
from portal.types import utcnow

from ..errors import AlreadyStarted, NotCancellable
from ..models import Booking, Listing, Payment, Slot
from . import seats
from .bookings import find_booking, refresh_hold
from .notices import notify
from .payments import refund


def refund_for(listing: Listing, slot: Slot, paid: int, now: datetime | None = None) -> int:
    """What the policy gives back of `paid` when cancelling at `now`."""
    now = now or utcnow()
    if slot.starts_at - now >= timedelta(hours=listing.free_cancel_hours):
        return paid
    return paid * listing.late_refund_percent // 100


def cancel_booking(session: Session, reference: str, *, email: str | None = None, user=None,
                   remembered: bool = False, now: datetime | None = None) -> Booking:
    """Cancel a held or confirmed booking; refund per the listing's policy, exactly once.

    Cancelling an already cancelled booking answers with it unchanged. Whatever the answer, a
    hold of the slot found expired stays released (committed).
    """
    now = now or utcnow()
    booking = find_booking(session, reference, email=email, user=user, remembered=remembered)
    refresh_hold(session, booking, now)
    if booking.status == "cancelled":
        session.commit()
        return booking
    if booking.status not in ("held", "confirmed"):
        session.commit()
        raise NotCancellable()
    slot = booking.slot
    if slot.starts_at <= now:
        session.commit()
        raise AlreadyStarted()
    # Lock order payment -> booking -> slot, as a payment callback takes them: no deadlock when a
    # callback and a cancellation of the same booking arrive together.
    session.execute(select(Payment.id).where(Payment.booking_id == booking.id)
                    .order_by(Payment.id).with_for_update()).all()
    if not seats.give_back(session, booking.id, slot.id, booking.quantity, "cancelled",
                           ("held", "confirmed"), now):
        session.commit()
        session.refresh(booking)
        if booking.status == "cancelled":
            return booking
        raise NotCancellable()
    refunded = 0
    payment = session.scalar(select(Payment).where(Payment.booking_id == booking.id,
                                                   Payment.status == "paid"))
    if payment is not None:
        refunded = refund(session, payment, refund_for(slot.listing, slot, payment.amount, now), now)
    session.execute(update(Booking).where(Booking.id == booking.id).values(refund_amount=refunded)
                    .execution_options(synchronize_session=False))
    seats.offer_waitlist(session, slot.id, now)
    audit.record(session, user, "tourism.booking.cancel", "tourism_booking", booking.id,
                 refunded=refunded)
    session.flush()
    session.refresh(booking)
    notify(session, booking, "cancelled")  # the outbox row commits with the cancellation
    session.commit()
    return booking
