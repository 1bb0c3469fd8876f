"""Cancelling a held or confirmed booking: seats back, refund per the listing's policy, once."""

from __future__ import annotations

from dataclasses import dataclass
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


def free_cancel_until(listing: Listing, slot: Slot) -> datetime:
    """The last moment a cancellation gives everything back: `free_cancel_hours` before the start."""
    return slot.starts_at - timedelta(hours=listing.free_cancel_hours)


def refund_for(listing: Listing, slot: Slot, paid: int, now: datetime | None = None) -> int:
    """What the policy gives back of `paid` when cancelling at `now`: the one rule, which
    cancel_booking applies and every preview of a refund (refund_steps) asks."""
    now = now or utcnow()
    if now <= free_cancel_until(listing, slot):
        return paid
    return paid * listing.late_refund_percent // 100


@dataclass(frozen=True)
class RefundStep:
    """Cancelling from `since` (None: from now) until `until` gives back `amount`."""

    since: datetime | None
    until: datetime
    amount: int


def refund_steps(listing: Listing, slot: Slot, amount: int, now: datetime | None = None) -> list[RefundStep]:
    """What a cancellation would give back of `amount` at each step from `now` until the start
    (after it nothing can be cancelled): one step, or two when the free cancellation has not
    ended yet. The amounts are refund_for's at a moment of each step."""
    now = now or utcnow()
    if now >= slot.starts_at:
        return []
    deadline = free_cancel_until(listing, slot)
    if now <= deadline:
        steps = [RefundStep(None, deadline, refund_for(listing, slot, amount, now))]
        later = deadline + timedelta(microseconds=1)
        if later < slot.starts_at:
            steps.append(RefundStep(deadline, slot.starts_at, refund_for(listing, slot, amount, later)))
        return steps
    return [RefundStep(None, slot.starts_at, refund_for(listing, slot, amount, now))]


def paid_amount(booking: Booking) -> int:
    """What the booker has paid and not had back: 0 for a hold."""
    payment = next((p for p in booking.payments if p.status == "paid"), None)
    return payment.amount if payment is not None else 0


def refund_now(booking: Booking, now: datetime | None = None) -> int:
    """What cancelling `booking` at `now` gives back (what cancel_booking would refund)."""
    return refund_for(booking.slot.listing, booking.slot, paid_amount(booking), now)


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
