"""Staff work: listings and their translations, slots and capacity, check-in, reports."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal import audit, places
from portal.accounts.roles import STAFF
from portal.accounts.service import require_role
from portal.errors import Invalid
from portal.i18n import LOCALES
from portal.inputs import visible
from portal.types import utcnow

from ..errors import AlreadyCheckedIn, BelowTaken, NoSuchSlot, NotBookedForSlot, NotConfirmed
from ..limits import CAPACITY_MAX, FREE_CANCEL_HOURS_MAX, PRICE_MAX, REFUND_PERCENT_MAX
from ..models import KINDS, TEXT_FIELDS, Booking, Listing, Payment, Slot, WaitlistEntry
from . import seats
from .days import check_start, day_range
from .listings import get_listing
from .references import normalise_reference
from .texts import SEOUL, missing_translations, search_text


def require_staff(user):
    return require_role(user, STAFF)


def _staff_slot(session: Session, slot_id: int) -> Slot:
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise NoSuchSlot()
    return slot


def _range_errors(*checks: tuple) -> dict:
    """{field: message} of the (field, value, low, high, message) whose value is not a whole
    number from low to high."""
    return {field: message for field, value, low, high, message in checks
            if not (isinstance(value, int) and low <= value <= high)}


def staff_listings(session: Session, user) -> list[tuple[Listing, list[str]]]:
    require_staff(user)
    listings = session.scalars(select(Listing).order_by(Listing.kind, Listing.id))
    return [(listing, missing_translations(listing)) for listing in listings]


def _locale_texts(values: dict | None) -> dict[str, str]:
    """{locale: text} of the portal's locales with a text a person can see, stripped (a text made
    only of invisible or bidi-control characters counts as blank)."""
    return {k: v.strip() for k, v in (values or {}).items() if k in LOCALES and isinstance(v, str) and visible(v)}


def save_listing(session: Session, user, data: dict, listing_id: int | None = None) -> Listing:
    """Create or update a listing from {kind, area, slug?, name/description/address/policy:
    {ko, en, zh}, free_cancel_hours, late_refund_percent, active}. `area` is an area of the
    places table, by its code or its name in any language (stored as the code; empty for none);
    people read its name from the table."""
    require_staff(user)
    fields = {}
    if data.get("kind") not in KINDS:
        fields["kind"] = _l("Unknown kind.")
    area = places.clean(data.get("area"), "area", fields, "area")
    if not _locale_texts(data.get("name")):
        fields["name"] = _l("Give a name in at least one language.")
    hours = data.get("free_cancel_hours", 24)
    percent = data.get("late_refund_percent", 0)
    fields.update(_range_errors(
        ("free_cancel_hours", hours, 0, FREE_CANCEL_HOURS_MAX, _l("Enter a number of hours.")),
        ("late_refund_percent", percent, 0, REFUND_PERCENT_MAX, _l("Enter a percentage between 0 and 100."))))
    if fields:
        raise Invalid(fields=fields)
    if listing_id is None:
        listing = Listing(slug=data.get("slug") or None)
        session.add(listing)
    else:
        listing = get_listing(session, listing_id, include_inactive=True)
    listing.kind = data["kind"]
    listing.area = area or ""
    for field in TEXT_FIELDS:
        setattr(listing, field, _locale_texts(data.get(field)))
    listing.free_cancel_hours = hours
    listing.late_refund_percent = percent
    listing.active = bool(data.get("active", True))
    listing.search_text = search_text(listing)
    session.flush()
    audit.record(session, user, "tourism.listing.save", "tourism_listing", listing.id,
                 created=listing_id is None)
    session.commit()
    return listing


def add_slot(session: Session, user, listing_id: int, *, starts_at: datetime, capacity: int,
             price: int) -> Slot:
    require_staff(user)
    listing = get_listing(session, listing_id, include_inactive=True)
    fields = {}
    try:
        if check_start(starts_at) <= utcnow():  # with an offset, on a day the portal books
            fields["starts_at"] = _l("Choose a time in the future.")
    except Invalid as exc:
        fields.update(exc.fields)
    fields.update(_range_errors(
        ("capacity", capacity, 1, CAPACITY_MAX, _l("Enter a capacity of at least 1.")),
        ("price", price, 0, PRICE_MAX, _l("Enter a price in whole won."))))
    if fields:
        raise Invalid(fields=fields)
    slot = Slot(listing_id=listing.id, starts_at=starts_at, capacity=capacity, price=price, taken=0)
    session.add(slot)
    session.flush()
    audit.record(session, user, "tourism.slot.add", "tourism_slot", slot.id, capacity=capacity, price=price)
    session.commit()
    return slot


def set_capacity(session: Session, user, slot_id: int, capacity: int) -> Slot:
    """Change a slot's capacity; never below the seats already held or confirmed."""
    require_staff(user)
    fields = _range_errors(("capacity", capacity, 0, CAPACITY_MAX, _l("Enter a capacity of at least 1.")))
    if fields:
        raise Invalid(fields=fields)
    slot = _staff_slot(session, slot_id)
    # Never below `taken`, also when a booking races the change: the UPDATE checks it.
    res = session.execute(update(Slot).where(Slot.id == slot_id, Slot.taken <= capacity)
                          .values(capacity=capacity).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        session.rollback()
        raise BelowTaken()
    seats.offer_waitlist(session, slot_id, utcnow())
    audit.record(session, user, "tourism.slot.capacity", "tourism_slot", slot_id, capacity=capacity)
    session.commit()
    session.refresh(slot)
    return slot


def slot_bookings(session: Session, user, slot_id: int) -> tuple[Slot, list[Booking], list[WaitlistEntry]]:
    """A slot (its seats counted as a read sees them), its bookings and its waiting list."""
    require_staff(user)
    slot = seats.reread(session, _staff_slot(session, slot_id))
    bookings = list(session.scalars(select(Booking).where(Booking.slot_id == slot_id)
                                    .order_by(Booking.created_at, Booking.id)))
    waiting = list(session.scalars(select(WaitlistEntry).where(WaitlistEntry.slot_id == slot_id)
                                   .order_by(WaitlistEntry.created_at, WaitlistEntry.id)))
    return slot, bookings, waiting


def check_in(session: Session, user, slot_id: int, reference: str) -> Booking:
    """Check a confirmed booking in by its reference (scanned from the QR code or typed)."""
    require_staff(user)
    ref = normalise_reference(reference)
    booking = session.scalar(select(Booking).where(Booking.reference == ref, Booking.slot_id == slot_id))
    if booking is None:
        raise NotBookedForSlot()
    # Once: the UPDATE checks the booking is confirmed and not yet checked in.
    res = session.execute(
        update(Booking).where(Booking.id == booking.id, Booking.status == "confirmed",
                              Booking.checked_in_at.is_(None))
        .values(checked_in_at=utcnow()).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        session.rollback()
        session.refresh(booking)
        if booking.checked_in_at is not None:
            raise AlreadyCheckedIn()
        raise NotConfirmed()
    audit.record(session, user, "tourism.booking.check_in", "tourism_booking", booking.id)
    session.commit()
    session.refresh(booking)
    return booking


def report(session: Session, user, *, start: date, end: date) -> list[dict]:
    """Bookings and revenue per listing and day (Asia/Seoul) of the slots between start and end.

    Revenue is what was paid less what was refunded.
    """
    require_staff(user)
    lo, hi = day_range(start, end)  # 422 for a day outside the range the portal books
    paid = (select(Payment.booking_id, func.sum(Payment.amount - Payment.refunded_amount).label("net"))
            .where(Payment.status.in_(("paid", "refunded"))).group_by(Payment.booking_id).subquery())
    rows = session.execute(
        select(Listing, Slot.starts_at, Booking.status, Booking.quantity, paid.c.net)
        .join(Slot, Slot.listing_id == Listing.id).join(Booking, Booking.slot_id == Slot.id)
        .outerjoin(paid, paid.c.booking_id == Booking.id)
        .where(Slot.starts_at >= lo, Slot.starts_at < hi, Booking.status.in_(("confirmed", "cancelled")))
    ).all()
    table: dict[tuple[int, date], dict] = defaultdict(
        lambda: {"bookings": 0, "seats": 0, "cancelled": 0, "revenue": 0})
    listings = {}
    for listing, starts_at, status, quantity, net in rows:
        day = starts_at.astimezone(SEOUL).date()
        cell = table[(listing.id, day)]
        listings[listing.id] = listing
        if status == "confirmed":
            cell["bookings"] += 1
            cell["seats"] += quantity
        else:
            cell["cancelled"] += 1
        cell["revenue"] += int(net or 0)
    return [{"listing": listings[lid], "day": day, **cell}
            for (lid, day), cell in sorted(table.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
