"""Tourism booking rules: listings, holds, payments, cancellations, waiting lists, staff work.

Plain functions on a SQLAlchemy session; they take the acting user where it matters and
commit their own unit of work. Seat counts only move through conditional UPDATEs on
``tourism_slots.taken`` (see models.py), never through read-then-write in Python.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request
from flask_babel import force_locale, format_currency, format_date, format_time
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from portal import audit
from portal.accounts.service import require_role
from portal.errors import Conflict, Invalid, NotFound
from portal.i18n import LOCALES, missing_locales, normalise, pick
from portal.types import utcnow

from ..models import KINDS, TEXT_FIELDS, Booking, Listing, Payment, Slot, WaitlistEntry
from .gateways import SandboxProvider, get_provider

SEOUL = ZoneInfo("Asia/Seoul")
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
REFERENCE_LENGTH = 8
MAX_QUANTITY = 10


# --- settings -------------------------------------------------------------------------------

def _int_setting(name: str, default: int) -> int:
    try:
        return int(current_app.config.get(name, default))
    except (TypeError, ValueError):
        return default


def hold_minutes() -> int:
    return _int_setting("BOOKING_HOLD_MINUTES", 15)


def offer_minutes() -> int:
    """How long a waiting-list offer holds its seats."""
    return _int_setting("TOURISM_OFFER_MINUTES", 60)


# --- small helpers --------------------------------------------------------------------------

def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def normalise_reference(reference: str | None) -> str:
    return (reference or "").strip().upper().replace("-", "").replace(" ", "")


def text(listing: Listing, field: str, lang: str | None = None) -> tuple[str, str | None]:
    """A listing's text in `lang` with the fallback requested -> en -> ko."""
    return pick(getattr(listing, field) or {}, lang)


def area_name(listing: Listing, lang: str | None = None) -> tuple[str, str | None]:
    """The listing's area as people read it: its name in `lang` (requested -> en -> ko), else
    the area key itself (served language None: the key is in no particular language)."""
    name, served = pick(listing.area_name or {}, lang)
    if name:
        return name, served
    return listing.area or "", None


def missing_translations(listing: Listing) -> list[str]:
    """Locales in which the listing's name, description or (when it has an area) area name is missing."""
    missing = set(missing_locales(listing.name)) | set(missing_locales(listing.description))
    if listing.area:
        missing |= set(missing_locales(listing.area_name))
    return [code for code in LOCALES if code in missing]


def available(slot: Slot) -> int:
    return max(slot.capacity - slot.taken, 0)


def refund_for(listing: Listing, slot: Slot, paid: int, now: datetime | None = None) -> int:
    """What the policy gives back of `paid` when cancelling at `now`."""
    now = now or utcnow()
    if slot.starts_at - now >= timedelta(hours=listing.free_cancel_hours):
        return paid
    return paid * listing.late_refund_percent // 100


def format_when(dt: datetime | None) -> str:
    """A slot's time for people: the full date with weekday and the time, in Asia/Seoul."""
    if dt is None:
        return ""
    return f"{format_date(dt, 'full')} {format_time(dt, 'short')}"


def _search_text(listing: Listing) -> str:
    parts = [listing.area or ""]
    for field in ("area_name", "name", "description", "address"):
        parts.extend((getattr(listing, field) or {}).values())
    return " ".join(parts).lower()


def _clean_email(email: str | None) -> str:
    return (email or "").strip().lower()


def _absolute(path: str) -> str:
    if has_request_context():
        return request.host_url.rstrip("/") + path
    return str(current_app.config.get("PORTAL_BASE_URL") or "").rstrip("/") + path


# --- listings -------------------------------------------------------------------------------

def listings_query(*, kind: str | None = None, area: str | None = None, q: str | None = None,
                   on_date: date | None = None, include_inactive: bool = False):
    """A select of listings matching the filters (ordered by the caller)."""
    stmt = select(Listing)
    if not include_inactive:
        stmt = stmt.where(Listing.active.is_(True))
    if kind:
        if kind not in KINDS:
            raise Invalid(fields={"kind": _l("Unknown kind.")})
        stmt = stmt.where(Listing.kind == kind)
    if area:
        stmt = stmt.where(func.lower(Listing.area) == area.strip().lower())
    if q and q.strip():
        stmt = stmt.where(Listing.search_text.contains(q.strip().lower(), autoescape=True))
    if on_date:
        start = datetime.combine(on_date, time.min, SEOUL)
        end = start + timedelta(days=1)
        stmt = stmt.where(exists().where(Slot.listing_id == Listing.id, Slot.starts_at >= start,
                                         Slot.starts_at < end))
    return stmt


def search_listings(session: Session, *, limit: int = 60, **filters) -> list[Listing]:
    stmt = listings_query(**filters).order_by(Listing.kind, Listing.id).limit(limit)
    return list(session.scalars(stmt))


def areas(session: Session, lang: str | None = None) -> list[tuple[str, str, str | None]]:
    """The areas of active listings for the area filter: (key, name in `lang`, served language).

    Listings that share a key share its names: for each locale the first listing (by id) that
    names the area in it gives the name, then `pick` falls back as for any text, then to the key.
    Sorted by the name people read.
    """
    rows = session.execute(select(Listing.area, Listing.area_name)
                           .where(Listing.active.is_(True), Listing.area != "").order_by(Listing.id))
    names: dict[str, dict] = {}
    for key, stored in rows:
        merged = names.setdefault(key, {})
        for code, value in (stored or {}).items():
            if code in LOCALES and value and not merged.get(code):
                merged[code] = value
    out = []
    for key, merged in names.items():
        name, served = pick(merged, lang)
        out.append((key, name, served) if name else (key, key, None))
    return sorted(out, key=lambda row: (row[1].casefold(), row[0]))


def get_listing(session: Session, listing_id: int, *, include_inactive: bool = False) -> Listing:
    listing = session.get(Listing, listing_id)
    if listing is None or (not listing.active and not include_inactive):
        raise NotFound(_l("This listing does not exist."))
    return listing


def upcoming_slots(session: Session, listing: Listing, *, now: datetime | None = None,
                   limit: int = 60) -> list[Slot]:
    """Slots still to come; expired holds give their seats back before the counts are read."""
    now = now or utcnow()
    release_expired(session, listing_id=listing.id, now=now)
    stmt = (select(Slot).where(Slot.listing_id == listing.id, Slot.starts_at > now)
            .order_by(Slot.starts_at, Slot.id).limit(limit))
    return list(session.scalars(stmt))


def slot_summary(session: Session, listing_ids: list[int], now: datetime | None = None) -> dict[int, dict]:
    """For listing cards: the next start, the lowest price and the seats left of upcoming slots."""
    if not listing_ids:
        return {}
    now = now or utcnow()
    rows = session.execute(
        select(Slot.listing_id, func.min(Slot.starts_at), func.min(Slot.price),
               func.sum(Slot.capacity - Slot.taken))
        .where(Slot.listing_id.in_(listing_ids), Slot.starts_at > now).group_by(Slot.listing_id)).all()
    return {lid: {"next": nxt, "price_from": price, "seats": int(seats or 0)}
            for lid, nxt, price, seats in rows}


def get_slot(session: Session, slot_id: int) -> Slot:
    slot = session.get(Slot, slot_id)
    if slot is None or not slot.listing.active:
        raise NotFound(_l("This time slot does not exist."))
    return slot


# --- holds and their expiry ------------------------------------------------------------------

def _give_back(session: Session, booking_id: int, slot_id: int, quantity: int, new_status: str,
               from_statuses: tuple[str, ...], now: datetime) -> bool:
    """Move a booking out of `from_statuses` and return its seats: true exactly once."""
    values = {"status": new_status, "hold_expires_at": None}
    if new_status == "cancelled":
        values["cancelled_at"] = now
    res = session.execute(
        update(Booking).where(Booking.id == booking_id, Booking.status.in_(from_statuses))
        .values(**values).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        return False
    session.execute(update(Slot).where(Slot.id == slot_id).values(taken=Slot.taken - quantity)
                    .execution_options(synchronize_session=False))
    return True


def release_expired(session: Session, *, slot_id: int | None = None, listing_id: int | None = None,
                    now: datetime | None = None, limit: int = 500) -> int:
    """Expire unpaid holds whose time is up and give their seats back (each exactly once).

    Freed seats go to the waiting list first. Returns how many holds expired.
    """
    now = now or utcnow()
    stmt = select(Booking.id, Booking.slot_id, Booking.quantity).where(
        Booking.status == "held", Booking.hold_expires_at < now)
    if slot_id is not None:
        stmt = stmt.where(Booking.slot_id == slot_id)
    if listing_id is not None:
        stmt = stmt.where(Booking.slot_id.in_(select(Slot.id).where(Slot.listing_id == listing_id)))
    rows = session.execute(stmt.order_by(Booking.id).limit(limit)).all()
    if not rows:
        return 0
    released = 0
    touched: set[int] = set()
    for booking_id, sid, quantity in rows:
        if _give_back(session, booking_id, sid, quantity, "expired", ("held",), now):
            released += 1
            touched.add(sid)
    for sid in sorted(touched):
        _offer_waitlist(session, sid, now)
    session.commit()
    return released


# --- bookings -------------------------------------------------------------------------------

def _check_guest(name: str, email: str, phone: str | None, quantity, locale: str | None) -> dict:
    fields = {}
    if not (name or "").strip() or len(name.strip()) > 120:
        fields["name"] = _l("Enter your name.")
    email = _clean_email(email)
    if "@" not in email or len(email) > 254 or " " in email:
        fields["email"] = _l("Enter a valid email address.")
    if phone and len(phone.strip()) > 40:
        fields["phone"] = _l("Enter a valid phone number.")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        fields["quantity"] = _l("Choose between 1 and %(n)d seats.", n=MAX_QUANTITY)
    if locale is not None and normalise(locale) != locale:
        fields["locale"] = _l("Choose ko, en or zh.")
    if fields:
        raise Invalid(fields=fields)
    return {"name": name.strip(), "email": email, "phone": (phone or "").strip() or None}


def create_booking(session: Session, *, user, slot_id: int, quantity: int, name: str, email: str,
                   phone: str | None = None, locale: str | None = None,
                   idempotency_key: str | None = None, now: datetime | None = None
                   ) -> tuple[Booking, bool]:
    """Hold `quantity` seats of a slot for a guest or a signed-in user.

    Returns (booking, created). The same `idempotency_key` always answers with the first
    booking made with it, also when the retries race each other. Raises Conflict `sold_out`
    when too few seats remain.
    """
    key = (idempotency_key or "").strip() or None
    if key and len(key) > 200:
        raise Invalid(fields={"Idempotency-Key": _l("At most 200 characters.")})
    if key:
        existing = session.scalar(select(Booking).where(Booking.idempotency_key == key))
        if existing is not None:
            return existing, False
    if getattr(user, "is_authenticated", False):
        name = name or user.name
        email = email or user.email
        locale = locale or user.locale
    guest = _check_guest(name, email, phone, quantity, locale)
    locale = normalise(locale) or "ko"
    now = now or utcnow()
    slot = get_slot(session, slot_id)
    if slot.starts_at <= now:
        raise Conflict(_l("This time slot has already started."), code="slot_closed")
    price = slot.price
    release_expired(session, slot_id=slot_id, now=now)

    for _attempt in range(3):
        try:
            res = session.execute(
                update(Slot).where(Slot.id == slot_id, Slot.taken + quantity <= Slot.capacity)
                .values(taken=Slot.taken + quantity).execution_options(synchronize_session=False))
            if res.rowcount != 1:
                session.rollback()
                raise Conflict(_l("Sorry, not enough seats are left for this time."), code="sold_out")
            booking = Booking(
                reference=new_reference(), slot_id=slot_id,
                user_id=user.id if getattr(user, "is_authenticated", False) else None,
                guest_name=guest["name"], guest_email=guest["email"], guest_phone=guest["phone"],
                locale=locale, quantity=quantity, total=price * quantity, status="held",
                hold_expires_at=now + timedelta(minutes=hold_minutes()), idempotency_key=key,
                created_at=now)
            session.add(booking)
            session.commit()
            return booking, True
        except IntegrityError:
            # The seats taken above are rolled back with the failed insert.
            session.rollback()
            if key:
                existing = session.scalar(select(Booking).where(Booking.idempotency_key == key))
                if existing is not None:
                    return existing, False
    raise Conflict(_l("The booking could not be saved. Please try again."), code="retry")


def _signer():
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="tourism-booking")


def access_token(reference: str) -> str:
    """A token for links in messages that opens the booking without an email in the URL."""
    return _signer().dumps(reference)


def token_matches(token: str | None, reference: str) -> bool:
    from itsdangerous import BadSignature

    if not token:
        return False
    try:
        return _signer().loads(token) == normalise_reference(reference)
    except BadSignature:
        return False


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
        if remembered or (email is not None and _clean_email(email) == booking.guest_email):
            return booking
        if getattr(user, "is_authenticated", False) and (
                user.id == booking.user_id or user.has_role("staff")):
            return booking
    raise NotFound(_l("No booking matches this reference and email."))


def refresh_hold(session: Session, booking: Booking, now: datetime | None = None) -> Booking:
    """Expire the booking's hold if its time is up (lazily, as when capacity is read)."""
    now = now or utcnow()
    if booking.status == "held" and booking.hold_expires_at and booking.hold_expires_at < now:
        release_expired(session, slot_id=booking.slot_id, now=now)
        session.refresh(booking)
    return booking


def paid_payment(booking: Booking) -> Payment | None:
    for payment in booking.payments:
        if payment.status in ("paid", "refunded"):
            return payment
    return None


# --- payments -------------------------------------------------------------------------------

def start_payment(session: Session, reference: str, provider_name: str, *,
                  email: str | None = None, user=None) -> tuple[Payment, str]:
    """Register a payment for a held booking; returns (payment, URL the payer goes to)."""
    provider = get_provider(provider_name)
    if email is not None:
        booking = find_booking(session, reference, email=email, user=user)
    else:  # the reference alone lets anyone pay (not read or change) a booking
        booking = session.scalar(select(Booking).where(Booking.reference == normalise_reference(reference)))
        if booking is None:
            raise NotFound(_l("No booking matches this reference and email."))
    refresh_hold(session, booking)
    if booking.status == "confirmed":
        raise Conflict(_l("This booking is already paid."), code="already_paid")
    if booking.status != "held":
        raise Conflict(_l("This booking can no longer be paid."), code="not_payable")
    payment = Payment(public_id=uuid.uuid4().hex, booking_id=booking.id, provider=provider.name,
                      amount=booking.total, status="pending")
    session.add(payment)
    session.flush()
    url = provider.start(payment)
    session.commit()
    return payment, url


def get_payment(session: Session, public_id: str) -> Payment:
    payment = session.scalar(select(Payment).where(Payment.public_id == public_id))
    if payment is None:
        raise NotFound(_l("This payment does not exist."))
    return payment


def handle_callback(session: Session, provider_name: str, body: bytes, signature: str | None) -> Payment:
    """A gateway's signed callback: confirm the booking once, whatever the number of calls."""
    provider = get_provider(provider_name)
    data = provider.verify_callback(body, signature)
    payment = get_payment(session, data["payment_id"])
    if payment.provider != provider.name:
        raise NotFound(_l("This payment does not exist."))
    if data["amount"] != payment.amount:
        raise Invalid(_l("The paid amount does not match."), code="amount_mismatch")
    now = utcnow()
    if data["status"] == "failed":
        session.execute(update(Payment).where(Payment.id == payment.id, Payment.status == "pending")
                        .values(status="failed").execution_options(synchronize_session=False))
        session.commit()
        session.refresh(payment)
        return payment
    if data["status"] != "paid":
        raise Invalid(_l("The payment callback is malformed."), code="bad_callback")

    res = session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status == "pending")
        .values(status="paid", paid_at=now, transaction_id=data["transaction_id"] or None)
        .execution_options(synchronize_session=False))
    if res.rowcount != 1:  # a repeated callback: already handled
        session.rollback()
        session.refresh(payment)
        return payment
    booking_id = payment.booking_id
    confirmed = session.execute(
        update(Booking).where(Booking.id == booking_id, Booking.status == "held")
        .values(status="confirmed", confirmed_at=now, hold_expires_at=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not confirmed:
        booking = session.get(Booking, booking_id)
        session.refresh(booking)
        if booking.status == "expired":
            # Paid after the hold ran out: take the seats again if they are still there.
            took = session.execute(
                update(Slot).where(Slot.id == booking.slot_id, Slot.taken + booking.quantity <= Slot.capacity)
                .values(taken=Slot.taken + booking.quantity)
                .execution_options(synchronize_session=False)).rowcount == 1
            if took:
                confirmed = session.execute(
                    update(Booking).where(Booking.id == booking_id, Booking.status == "expired")
                    .values(status="confirmed", confirmed_at=now)
                    .execution_options(synchronize_session=False)).rowcount == 1
        if not confirmed:
            # Cancelled, paid twice, or sold out meanwhile: the money goes back in full.
            session.refresh(payment)
            _refund(session, payment, payment.amount, now)
    if confirmed:
        booking = session.get(Booking, booking_id)
        session.refresh(booking)
        _notify(session, booking, "confirmed")
    session.commit()
    session.refresh(payment)
    return payment


def sandbox_complete(session: Session, public_id: str, outcome: str) -> Payment:
    """The sandbox gateway finishing a payment: it signs its callback and delivers it to the
    app's own handler (as it would over HTTP to /api/v1/tourism/payments/sandbox/callback)."""
    if outcome not in ("pay", "fail"):
        raise Invalid(fields={"outcome": _l("Choose pay or fail.")})
    payment = get_payment(session, public_id)
    if payment.provider != "sandbox":
        raise NotFound(_l("This payment does not exist."))
    provider = get_provider("sandbox")
    assert isinstance(provider, SandboxProvider)
    body, signature = provider.callback_for(payment, outcome)
    return handle_callback(session, "sandbox", body, signature)


def pay(session: Session, reference: str, provider_name: str, *, outcome: str = "pay",
        email: str | None = None, user=None) -> Booking:
    """API: pay a held booking; the sandbox completes at once (or fails when asked to)."""
    payment, _url = start_payment(session, reference, provider_name, email=email, user=user)
    if payment.provider == "sandbox":
        sandbox_complete(session, payment.public_id, outcome)
    booking = session.get(Booking, payment.booking_id)
    session.refresh(booking)
    return booking


def _refund(session: Session, payment: Payment, amount: int, now: datetime) -> int:
    """Refund `amount` of a paid payment exactly once; returns what was refunded."""
    if amount <= 0:
        return 0
    res = session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status == "paid")
        .values(status="refunded", refunded_amount=amount, refunded_at=now)
        .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        return 0
    refund_id = get_provider(payment.provider).refund(payment, amount)
    session.execute(update(Payment).where(Payment.id == payment.id).values(refund_id=refund_id)
                    .execution_options(synchronize_session=False))
    return amount


# --- cancellation ---------------------------------------------------------------------------

def cancel_booking(session: Session, reference: str, *, email: str | None = None, user=None,
                   remembered: bool = False, now: datetime | None = None) -> Booking:
    """Cancel a held or confirmed booking; refund per the listing's policy, exactly once.

    Cancelling an already cancelled booking answers with it unchanged.
    """
    now = now or utcnow()
    booking = find_booking(session, reference, email=email, user=user, remembered=remembered)
    refresh_hold(session, booking, now)
    if booking.status == "cancelled":
        return booking
    if booking.status not in ("held", "confirmed"):
        raise Conflict(_l("This booking can no longer be cancelled."), code="not_cancellable")
    slot = booking.slot
    if slot.starts_at <= now:
        raise Conflict(_l("This time slot has already started."), code="already_started")
    # Lock order payment -> booking -> slot, as a payment callback takes them: no deadlock when a
    # callback and a cancellation of the same booking arrive together.
    session.execute(select(Payment.id).where(Payment.booking_id == booking.id)
                    .order_by(Payment.id).with_for_update()).all()
    if not _give_back(session, booking.id, slot.id, booking.quantity, "cancelled",
                      ("held", "confirmed"), now):
        session.rollback()
        session.refresh(booking)
        if booking.status == "cancelled":
            return booking
        raise Conflict(_l("This booking can no longer be cancelled."), code="not_cancellable")
    refunded = 0
    payment = session.scalar(select(Payment).where(Payment.booking_id == booking.id,
                                                   Payment.status == "paid"))
    if payment is not None:
        refunded = _refund(session, payment, refund_for(slot.listing, slot, payment.amount, now), now)
    session.execute(update(Booking).where(Booking.id == booking.id).values(refund_amount=refunded)
                    .execution_options(synchronize_session=False))
    _offer_waitlist(session, slot.id, now)
    audit.record(session, user, "tourism.booking.cancel", "tourism_booking", booking.id,
                 refunded=refunded)
    session.flush()
    session.refresh(booking)
    _notify(session, booking, "cancelled")  # the outbox row commits with the cancellation
    session.commit()
    return booking


# --- waiting list ---------------------------------------------------------------------------

def join_waitlist(session: Session, *, user, slot_id: int, quantity: int, name: str, email: str,
                  phone: str | None = None, locale: str | None = None) -> WaitlistEntry:
    if getattr(user, "is_authenticated", False):
        name = name or user.name
        email = email or user.email
        locale = locale or user.locale
    guest = _check_guest(name, email, phone, quantity, locale)
    slot = get_slot(session, slot_id)
    now = utcnow()
    if slot.starts_at <= now:
        raise Conflict(_l("This time slot has already started."), code="slot_closed")
    release_expired(session, slot_id=slot_id, now=now)
    session.refresh(slot)
    if available(slot) >= quantity:
        raise Conflict(_l("Seats are available: you can book now."), code="seats_available")
    entry = WaitlistEntry(slot_id=slot_id, user_id=user.id if getattr(user, "is_authenticated", False) else None,
                          name=guest["name"], email=guest["email"], phone=guest["phone"],
                          locale=normalise(locale) or "ko", quantity=quantity, created_at=now)
    session.add(entry)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(_l("You are already on the waiting list for this time."),
                       code="already_waiting") from exc
    return entry


def _offer_waitlist(session: Session, slot_id: int, now: datetime) -> list[Booking]:
    """Offer freed seats to the first in line, as holds with a deadline (in the caller's
    transaction). Strictly first come, first served: stops at the first who does not fit."""
    offered = []
    queue = session.execute(
        select(WaitlistEntry.id, WaitlistEntry.quantity).where(
            WaitlistEntry.slot_id == slot_id, WaitlistEntry.status == "waiting")
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id).limit(20)).all()
    for entry_id, quantity in queue:
        claimed = session.execute(
            update(WaitlistEntry).where(WaitlistEntry.id == entry_id, WaitlistEntry.status == "waiting")
            .values(status="offered").execution_options(synchronize_session=False)).rowcount == 1
        if not claimed:
            continue
        took = session.execute(
            update(Slot).where(Slot.id == slot_id, Slot.taken + quantity <= Slot.capacity)
            .values(taken=Slot.taken + quantity).execution_options(synchronize_session=False)).rowcount == 1
        if not took:
            session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry_id)
                            .values(status="waiting").execution_options(synchronize_session=False))
            break
        entry = session.get(WaitlistEntry, entry_id)
        slot = session.get(Slot, slot_id)
        deadline = min(now + timedelta(minutes=offer_minutes()), slot.starts_at)
        booking = Booking(reference=new_reference(), slot_id=slot_id, user_id=entry.user_id,
                          guest_name=entry.name, guest_email=entry.email, guest_phone=entry.phone,
                          locale=entry.locale, quantity=quantity, total=slot.price * quantity,
                          status="held", hold_expires_at=deadline, created_at=now)
        session.add(booking)
        session.flush()
        session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry_id)
                        .values(booking_id=booking.id).execution_options(synchronize_session=False))
        _notify(session, booking, "waitlist_offer")
        offered.append(booking)
    return offered


# --- notices --------------------------------------------------------------------------------

def booking_path(booking: Booking) -> str:
    return f"/tourism/bookings/{booking.reference}"


def notice_context(booking: Booking) -> dict:
    """What the confirmation, cancellation and offer messages show, in the booker's language."""
    slot = booking.slot
    listing = slot.listing
    token = access_token(booking.reference)
    with force_locale(booking.locale):
        name, _lang = pick(listing.name, booking.locale)
        address, _lang = pick(listing.address, booking.locale)
        policy, _lang = pick(listing.policy, booking.locale)
        return {
            "reference": booking.reference,
            "guest_name": booking.guest_name,
            "listing": name,
            "address": address,
            "policy": policy,
            "starts_at": format_when(slot.starts_at),
            "quantity": booking.quantity,
            "total": format_currency(booking.total, "KRW"),
            "refund": format_currency(booking.refund_amount or 0, "KRW"),
            "hold_expires_at": format_when(booking.hold_expires_at),
            "booking_url": _absolute(f"{booking_path(booking)}?lang={booking.locale}&t={token}"),
            "qr_url": _absolute(f"{booking_path(booking)}/qr.svg?t={token}"),
            "ics_url": _absolute(f"{booking_path(booking)}.ics?t={token}"),
        }


def _notify(session: Session, booking: Booking, event: str) -> None:
    from portal.notify import service as notify  # late import: notify imports other services

    notify.send(session, template=f"tourism.{event}", context=notice_context(booking),
                idempotency_key=f"tourism.{event}:{booking.id}", email=booking.guest_email,
                channel="email", locale=booking.locale)


# --- calendar and QR ------------------------------------------------------------------------

def _ics_escape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _ics_fold(line: str) -> str:
    out, current = [], ""
    for ch in line:
        if len((current + ch).encode()) > 73:
            out.append(current)
            current = " " + ch
        else:
            current += ch
    out.append(current)
    return "\r\n".join(out)


def ics(booking: Booking, duration_minutes: int = 120) -> str:
    """An iCalendar (RFC 5545) event for the booking, in the booker's language."""
    slot = booking.slot
    name, _lang = pick(slot.listing.name, booking.locale)
    address, _lang = pick(slot.listing.address, booking.locale)
    stamp = "%Y%m%dT%H%M%SZ"
    start = slot.starts_at.astimezone(ZoneInfo("UTC"))
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Civic portal//Tourism//EN", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:{booking.reference}@tourism.portal",
        f"DTSTAMP:{utcnow().strftime(stamp)}",
        f"DTSTART:{start.strftime(stamp)}",
        f"DTEND:{(start + timedelta(minutes=duration_minutes)).strftime(stamp)}",
        f"SUMMARY:{_ics_escape(name)} ({booking.reference})",
        f"LOCATION:{_ics_escape(address)}",
        f"DESCRIPTION:{_ics_escape(booking.reference)}",
        "STATUS:" + ("CANCELLED" if booking.status in ("cancelled", "expired") else "CONFIRMED"),
        "END:VEVENT", "END:VCALENDAR",
    ]
    return "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"


def qr_svg(reference: str, *, inline: bool = True) -> str:
    """The reference as a QR code: an <svg> element to put in a page, or a standalone file."""
    import io

    import segno

    code = segno.make(reference, error="m")
    if inline:
        return code.svg_inline(scale=6, border=2, omitsize=True)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=6, border=2)
    return out.getvalue().decode()


# --- staff ----------------------------------------------------------------------------------

def require_staff(user):
    return require_role(user, "staff")


def staff_listings(session: Session, user) -> list[tuple[Listing, list[str]]]:
    require_role(user, "staff")
    listings = session.scalars(select(Listing).order_by(Listing.kind, Listing.id))
    return [(listing, missing_translations(listing)) for listing in listings]


def _locale_texts(values: dict | None) -> dict[str, str]:
    """{locale: text} of the portal's locales with a non-blank text, stripped."""
    return {k: v.strip() for k, v in (values or {}).items() if k in LOCALES and v and v.strip()}


def save_listing(session: Session, user, data: dict, listing_id: int | None = None) -> Listing:
    """Create or update a listing from {kind, area, slug?, area_name/name/description/address/policy:
    {ko, en, zh}, free_cancel_hours, late_refund_percent, active}. `area` is the key filters use;
    `area_name` what people read."""
    require_role(user, "staff")
    fields = {}
    if data.get("kind") not in KINDS:
        fields["kind"] = _l("Unknown kind.")
    area = (data.get("area") or "").strip()
    area_names = _locale_texts(data.get("area_name"))
    if area_names and not area:
        fields["area"] = _l("Give the area a key (such as Dolsan) to go with its names.")
    if not _locale_texts(data.get("name")):
        fields["name"] = _l("Give a name in at least one language.")
    hours = data.get("free_cancel_hours", 24)
    percent = data.get("late_refund_percent", 0)
    if not isinstance(hours, int) or not 0 <= hours <= 24 * 60:
        fields["free_cancel_hours"] = _l("Enter a number of hours.")
    if not isinstance(percent, int) or not 0 <= percent <= 100:
        fields["late_refund_percent"] = _l("Enter a percentage between 0 and 100.")
    if fields:
        raise Invalid(fields=fields)
    if listing_id is None:
        listing = Listing(slug=data.get("slug") or None)
        session.add(listing)
    else:
        listing = get_listing(session, listing_id, include_inactive=True)
    listing.kind = data["kind"]
    listing.area = area
    listing.area_name = area_names
    for field in TEXT_FIELDS:
        setattr(listing, field, _locale_texts(data.get(field)))
    listing.free_cancel_hours = hours
    listing.late_refund_percent = percent
    listing.active = bool(data.get("active", True))
    listing.search_text = _search_text(listing)
    session.flush()
    audit.record(session, user, "tourism.listing.save", "tourism_listing", listing.id,
                 created=listing_id is None)
    session.commit()
    return listing


def add_slot(session: Session, user, listing_id: int, *, starts_at: datetime, capacity: int,
             price: int) -> Slot:
    require_role(user, "staff")
    listing = get_listing(session, listing_id, include_inactive=True)
    fields = {}
    if starts_at.tzinfo is None:
        fields["starts_at"] = _l("Enter a date and time.")
    elif starts_at <= utcnow():
        fields["starts_at"] = _l("Choose a time in the future.")
    if not isinstance(capacity, int) or not 1 <= capacity <= 100000:
        fields["capacity"] = _l("Enter a capacity of at least 1.")
    if not isinstance(price, int) or not 0 <= price <= 100_000_000:
        fields["price"] = _l("Enter a price in whole won.")
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
    require_role(user, "staff")
    if not isinstance(capacity, int) or not 0 <= capacity <= 100000:
        raise Invalid(fields={"capacity": _l("Enter a capacity of at least 1.")})
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise NotFound(_l("This time slot does not exist."))
    res = session.execute(update(Slot).where(Slot.id == slot_id, Slot.taken <= capacity)
                          .values(capacity=capacity).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        session.rollback()
        raise Conflict(_l("More seats are already booked than this capacity."), code="below_taken")
    _offer_waitlist(session, slot_id, utcnow())
    audit.record(session, user, "tourism.slot.capacity", "tourism_slot", slot_id, capacity=capacity)
    session.commit()
    session.refresh(slot)
    return slot


def slot_bookings(session: Session, user, slot_id: int) -> tuple[Slot, list[Booking], list[WaitlistEntry]]:
    require_role(user, "staff")
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise NotFound(_l("This time slot does not exist."))
    release_expired(session, slot_id=slot_id)
    session.refresh(slot)
    bookings = list(session.scalars(select(Booking).where(Booking.slot_id == slot_id)
                                    .order_by(Booking.created_at, Booking.id)))
    waiting = list(session.scalars(select(WaitlistEntry).where(WaitlistEntry.slot_id == slot_id)
                                   .order_by(WaitlistEntry.created_at, WaitlistEntry.id)))
    return slot, bookings, waiting


def check_in(session: Session, user, slot_id: int, reference: str) -> Booking:
    """Check a confirmed booking in by its reference (scanned from the QR code or typed)."""
    require_role(user, "staff")
    ref = normalise_reference(reference)
    booking = session.scalar(select(Booking).where(Booking.reference == ref, Booking.slot_id == slot_id))
    if booking is None:
        raise NotFound(_l("No booking with this reference for this time slot."))
    res = session.execute(
        update(Booking).where(Booking.id == booking.id, Booking.status == "confirmed",
                              Booking.checked_in_at.is_(None))
        .values(checked_in_at=utcnow()).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        session.rollback()
        session.refresh(booking)
        if booking.checked_in_at is not None:
            raise Conflict(_l("This booking is already checked in."), code="already_checked_in")
        raise Conflict(_l("Only confirmed bookings can be checked in."), code="not_confirmed")
    audit.record(session, user, "tourism.booking.check_in", "tourism_booking", booking.id)
    session.commit()
    session.refresh(booking)
    return booking


def report(session: Session, user, *, start: date, end: date) -> list[dict]:
    """Bookings and revenue per listing and day (Asia/Seoul) of the slots between start and end.

    Revenue is what was paid less what was refunded.
    """
    require_role(user, "staff")
    lo = datetime.combine(start, time.min, SEOUL)
    hi = datetime.combine(end, time.min, SEOUL) + timedelta(days=1)
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
