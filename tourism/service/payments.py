"""Paying for a held booking: start a payment, apply the gateway's signed callback, refund.

The gateways themselves (the interface and the sandbox) are in gateways.py. A payment moves
pending -> paid and paid -> refunded by conditional UPDATEs, so a repeated callback confirms
once and a repeated cancellation refunds once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal.errors import Invalid
from portal.types import utcnow

from ..errors import AlreadyPaid, AmountMismatch, BadCallback, NoSuchBooking, NoSuchPayment, NotPayable
from ..models import Booking, Payment, Slot
from . import seats
from .bookings import find_booking, refresh_hold
from .gateways import SandboxProvider, get_provider
from .notices import notify
from .references import normalise_reference

# The callback's statements, built once with bound parameters (building a statement and its
# cache key cost more than running it). The UPDATEs are the tables' own (no ORM bookkeeping:
# what they write is noted on the loaded objects by _note).
_PAYMENT_WITH_BOOKING = (
    select(Payment)
    .options(joinedload(Payment.booking).joinedload(Booking.slot).joinedload(Slot.listing))
    .where(Payment.public_id == bindparam("public_id")))
_payments, _bookings = Payment.__table__, Booking.__table__
_PAYMENT_FAILED = (
    _payments.update()
    .where(_payments.c.id == bindparam("pid"), _payments.c.status == "pending")
    .values(status="failed").returning(_payments.c.id))
_PAYMENT_PAID = (
    _payments.update()
    .where(_payments.c.id == bindparam("pid"), _payments.c.status == "pending")
    .values(status="paid", paid_at=bindparam("paid_at"), transaction_id=bindparam("transaction_id"))
    .returning(_payments.c.id))
_BOOKING_CONFIRMED = (
    _bookings.update()
    .where(_bookings.c.id == bindparam("bid"), _bookings.c.status == "held")
    .values(status="confirmed", confirmed_at=bindparam("confirmed_at"), hold_expires_at=None,
            client_key=None, confirmation_sent=True))
_CONFIRMATION_NOT_SENT = (
    _bookings.update().where(_bookings.c.id == bindparam("bid")).values(confirmation_sent=False))


def paid_payment(booking: Booking) -> Payment | None:
    for payment in booking.payments:
        if payment.status in ("paid", "refunded"):
            return payment
    return None


def get_payment(session: Session, public_id: str) -> Payment:
    payment = session.scalar(select(Payment).where(Payment.public_id == public_id))
    if payment is None:
        raise NoSuchPayment()
    return payment


def _open_payment(session: Session, reference: str, provider_name: str, *,
                  email: str | None = None, user=None) -> tuple[Payment, str]:
    """Step: a pending payment for a held booking, and the URL the payer goes to."""
    provider = get_provider(provider_name)
    if email is not None:
        booking = find_booking(session, reference, email=email, user=user)
    else:  # the reference alone lets anyone pay (not read or change) a booking
        booking = session.scalar(select(Booking).where(Booking.reference == normalise_reference(reference)))
        if booking is None:
            raise NoSuchBooking()
    refresh_hold(session, booking)
    if booking.status != "held":
        session.commit()  # a hold found expired stays released
        raise AlreadyPaid() if booking.status == "confirmed" else NotPayable()
    payment = Payment(public_id=uuid.uuid4().hex, booking_id=booking.id, provider=provider.name,
                      amount=booking.total, status="pending")
    session.add(payment)
    session.flush()
    return payment, provider.start(payment)


def start_payment(session: Session, reference: str, provider_name: str, *,
                  email: str | None = None, user=None) -> tuple[Payment, str]:
    """Register a payment for a held booking; returns (payment, URL the payer goes to)."""
    payment, url = _open_payment(session, reference, provider_name, email=email, user=user)
    session.commit()
    return payment, url


def _settle(session: Session, provider_name: str, body: bytes, signature: str | None) -> Payment:
    """Step: apply a gateway's signed callback; the booking is confirmed once, whatever the
    number of calls. Lock order payment -> booking -> slot (as cancel_booking)."""
    provider = get_provider(provider_name)
    data = provider.verify_callback(body, signature)
    # With the booking, its slot and listing (the notice names them): one SELECT.
    payment = session.scalar(_PAYMENT_WITH_BOOKING, {"public_id": data["payment_id"]})
    if payment is None:
        raise NoSuchPayment()
    if payment.provider != provider.name:
        raise NoSuchPayment()
    if data["amount"] != payment.amount:
        raise AmountMismatch()
    now = utcnow()
    if data["status"] == "failed":
        values, stmt = {"status": "failed"}, _PAYMENT_FAILED
    elif data["status"] == "paid":
        values = {"status": "paid", "paid_at": now, "transaction_id": data["transaction_id"] or None}
        stmt = _PAYMENT_PAID
    else:
        raise BadCallback()
    # RETURNING says whether it moved; what it wrote is noted on the payment (no reload).
    moved = session.execute(stmt, {"pid": payment.id, **values}).first()
    if moved is None:  # a repeated callback: already handled; answer with the payment as it is
        session.refresh(payment)
        return payment
    _note(payment, values)
    if data["status"] == "failed":
        return payment
    booking_id = payment.booking_id
    # confirmation_sent is set with the confirmation, and taken back below in the same
    # transaction when the address has had its fill of mails (notify writes nothing then).
    confirming = {"status": "confirmed", "confirmed_at": now, "hold_expires_at": None, "client_key": None,
                  "confirmation_sent": True}
    confirmed = session.execute(_BOOKING_CONFIRMED, {"bid": booking_id, "confirmed_at": now}).rowcount == 1
    booking = payment.booking
    if confirmed:
        # The booking as loaded above, with what the UPDATE wrote: nothing else of a held booking
        # changes (a booking never comes back to held, and whatever moves it out of held makes
        # the UPDATE above match nothing), so it is the row as confirmed, without a reload.
        _note(booking, confirming)
    else:
        booking = session.get(Booking, booking_id, populate_existing=True)
        if booking.status == "expired" and seats.take(session, booking.slot_id, booking.quantity):
            # Paid after the hold ran out, and the seats were still there: taken again.
            confirmed = session.execute(
                update(Booking).where(Booking.id == booking_id, Booking.status == "expired")
                .values(status="confirmed", confirmed_at=now, confirmation_sent=True)
                .execution_options(synchronize_session=False)).rowcount == 1
            if confirmed:
                session.refresh(booking)
        if not confirmed:
            # Cancelled, paid twice, or sold out meanwhile: the money goes back in full.
            session.refresh(payment)
            refund(session, payment, payment.amount, now)
    if confirmed and not notify(session, booking, "confirmed"):
        session.execute(_CONFIRMATION_NOT_SENT, {"bid": booking_id})
    return payment


def _note(payment: Payment, values: dict) -> None:
    """Set on the loaded payment what an UPDATE that matched its row wrote."""
    for key, value in values.items():
        set_committed_value(payment, key, value)


def handle_callback(session: Session, provider_name: str, body: bytes, signature: str | None) -> Payment:
    """A gateway's signed callback: confirm the booking once, whatever the number of calls.

    Answers with the payment as this transaction left it (_settle keeps it: each UPDATE that
    moved it is noted on it, a repeated callback reads it again), not loaded after the commit."""
    payment = _settle(session, provider_name, body, signature)
    public_id, status = payment.public_id, payment.status
    session.commit()  # expires every object; the answer's two fields are set again as committed
    _note(payment, {"public_id": public_id, "status": status})
    return payment


def _sandbox_callback(session: Session, public_id: str, outcome: str) -> tuple[bytes, str]:
    """The signed callback the sandbox gateway sends when the payer pays or declines."""
    if outcome not in ("pay", "fail"):
        raise Invalid(fields={"outcome": _l("Choose pay or fail.")})
    payment = get_payment(session, public_id)
    if payment.provider != "sandbox":
        raise NoSuchPayment()
    provider = get_provider("sandbox")
    assert isinstance(provider, SandboxProvider)
    return provider.callback_for(payment, outcome)


def sandbox_complete(session: Session, public_id: str, outcome: str) -> Payment:
    """The sandbox gateway finishing a payment: it signs its callback and delivers it to the
    app's own handler (as it would over HTTP to /api/v1/tourism/payments/sandbox/callback)."""
    return handle_callback(session, "sandbox", *_sandbox_callback(session, public_id, outcome))


def pay(session: Session, reference: str, provider_name: str, *, outcome: str = "pay",
        email: str | None = None, user=None) -> Booking:
    """API: pay a held booking; the sandbox completes at once (or fails when asked to), in the
    same unit of work."""
    payment, _url = _open_payment(session, reference, provider_name, email=email, user=user)
    if payment.provider == "sandbox":
        _settle(session, "sandbox", *_sandbox_callback(session, payment.public_id, outcome))
    session.commit()
    booking = session.get(Booking, payment.booking_id)
    session.refresh(booking)
    return booking


def refund(session: Session, payment: Payment, amount: int, now: datetime) -> int:
    """Refund `amount` of a paid payment exactly once (a step); returns what was refunded."""
    if amount <= 0:
        return 0
    res = session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status == "paid")
        .values(status="refunded", refunded_amount=amount, refunded_at=now)
        .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        return 0
    _note(payment, {"status": "refunded", "refunded_amount": amount, "refunded_at": now})
    refund_id = get_provider(payment.provider).refund(payment, amount)
    session.execute(update(Payment).where(Payment.id == payment.id).values(refund_id=refund_id)
                    .execution_options(synchronize_session=False))
    _note(payment, {"refund_id": refund_id})
    return amount
