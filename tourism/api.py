"""Tourism JSON API under /api/v1/tourism: parse, call service.py, serialise.

  GET  /listings?kind=&area=&date=&q=&lang=&cursor=&limit=   listings (paginated)
  GET  /listings/<id>?lang=                                 one listing with its upcoming slots
  POST /bookings                      (Idempotency-Key)     hold seats -> 201 held / 409 sold_out
  GET  /bookings/<reference>?email=                         a booking
  POST /bookings/<reference>/payment  {provider, sandbox_outcome?}
  POST /bookings/<reference>/cancel   {email}
  POST /slots/<id>/waitlist           {quantity, guest, locale?}
  POST /payments/<provider>/callback  (signed by the gateway)
  POST /slots/<id>/check-in           {reference}  staff: a scanner or a typed reference

Guests book without an account, so these POSTs are CSRF-exempt unless the request is signed in
by the session cookie, in which case the CSRF token is required as everywhere else.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import api_login_required, iso, money, paginate, parse_body, parse_limit
from portal.errors import Invalid
from portal.extensions import csrf, db
from portal.i18n import current_locale, normalise

from . import service
from .models import Booking, Listing, Slot
from .schemas import BookingIn, CancelIn, CheckInIn, PaymentIn, WaitlistIn

bp = Blueprint("tourism_api", __name__)


@bp.before_request
def _csrf_for_cookie_sessions():
    if request.method == "POST" and current_user.is_authenticated and not g.get("bearer"):
        csrf.protect()


def _lang() -> str:
    return normalise(request.args.get("lang")) or current_locale()


def listing_json(listing: Listing, lang: str) -> dict:
    name, served = service.text(listing, "name", lang)
    out = {"id": listing.id, "kind": listing.kind, "area": listing.area, "name": name, "lang": served}
    for field in ("description", "address", "policy"):
        out[field], _served = service.text(listing, field, served or lang)
    # `area` is the key to filter by (?area=); `area_name` the area in the served language
    # (falling back like every text, and to the key when no name is stored).
    out["area_name"], _served = service.area_name(listing, served or lang)
    out["cancellation"] = {"free_until_hours_before": listing.free_cancel_hours,
                           "late_refund_percent": listing.late_refund_percent}
    out["missing_locales"] = service.missing_translations(listing)
    return out


def slot_json(slot: Slot) -> dict:
    return {"id": slot.id, "starts_at": iso(slot.starts_at), "capacity": slot.capacity,
            "available": service.available(slot), "price": money(slot.price)}


def booking_json(booking: Booking, lang: str) -> dict:
    slot = booking.slot
    name, served = service.text(slot.listing, "name", lang)
    payment = booking.payments[-1] if booking.payments else None
    path = service.booking_path(booking)
    return {
        "reference": booking.reference,
        "status": booking.status,
        "hold_expires_at": iso(booking.hold_expires_at) if booking.status == "held" else None,
        "total": money(booking.total),
        "quantity": booking.quantity,
        "locale": booking.locale,
        "slot": slot_json(slot),
        "listing": {"id": slot.listing_id, "kind": slot.listing.kind, "name": name, "lang": served},
        "confirmed_at": iso(booking.confirmed_at),
        "cancelled_at": iso(booking.cancelled_at),
        "checked_in_at": iso(booking.checked_in_at),
        "refund": money(booking.refund_amount or 0),
        "payment": ({"provider": payment.provider, "status": payment.status,
                     "amount": money(payment.amount), "refunded": money(payment.refunded_amount)}
                    if payment else None),
        "links": {"page": path, "ics": path + ".ics", "qr": path + "/qr.svg"},
    }


def _email_arg(value: str | None) -> str | None:
    if value is None and not current_user.is_authenticated:
        raise Invalid(fields={"email": _("This field is required.")})
    return value


# --- listings -------------------------------------------------------------------------------

@bp.get("/listings")
def listings():
    on_date = None
    if request.args.get("date"):
        try:
            on_date = date.fromisoformat(request.args["date"])
        except ValueError:
            raise Invalid(fields={"date": _("Wrong type or format.")}) from None
    stmt = service.listings_query(kind=request.args.get("kind") or None,
                                  area=request.args.get("area") or None,
                                  q=request.args.get("q") or None, on_date=on_date)
    rows, next_cursor = paginate(db.session, stmt, [(Listing.id, "asc")], request.args.get("cursor"),
                                 parse_limit())
    lang = _lang()
    return jsonify({"items": [listing_json(listing, lang) for listing in rows], "next_cursor": next_cursor})


@bp.get("/listings/<int:listing_id>")
def listing(listing_id: int):
    item = service.get_listing(db.session, listing_id)
    out = listing_json(item, _lang())
    out["slots"] = [slot_json(slot) for slot in service.upcoming_slots(db.session, item)]
    return jsonify(out)


# --- bookings -------------------------------------------------------------------------------

@bp.post("/bookings")
@csrf.exempt
def create_booking():
    body = parse_body(BookingIn)
    booking, _created = service.create_booking(
        db.session, user=current_user, slot_id=body.slot_id, quantity=body.quantity,
        name=body.guest.name, email=str(body.guest.email), phone=body.guest.phone,
        locale=body.locale or _lang(), idempotency_key=request.headers.get("Idempotency-Key"))
    # Same Idempotency-Key, same answer: a retry gets the first booking with the same status code.
    return jsonify(booking_json(booking, _lang())), 201


@bp.get("/bookings/<reference>")
def get_booking(reference: str):
    booking = service.find_booking(db.session, reference, email=_email_arg(request.args.get("email")),
                                   user=current_user)
    service.refresh_hold(db.session, booking)
    return jsonify(booking_json(booking, _lang()))


@bp.post("/bookings/<reference>/payment")
@csrf.exempt
def pay(reference: str):
    body = parse_body(PaymentIn)
    booking = service.pay(db.session, reference, body.provider, outcome=body.sandbox_outcome,
                          email=str(body.email) if body.email else None, user=current_user)
    return jsonify(booking_json(booking, _lang()))


@bp.post("/bookings/<reference>/cancel")
@csrf.exempt
def cancel(reference: str):
    body = parse_body(CancelIn)
    email = _email_arg(str(body.email) if body.email else None)
    booking = service.cancel_booking(db.session, reference, email=email, user=current_user)
    return jsonify(booking_json(booking, _lang()))


@bp.post("/slots/<int:slot_id>/waitlist")
@csrf.exempt
def join_waitlist(slot_id: int):
    body = parse_body(WaitlistIn)
    entry = service.join_waitlist(db.session, user=current_user, slot_id=slot_id, quantity=body.quantity,
                                  name=body.guest.name, email=str(body.guest.email),
                                  phone=body.guest.phone, locale=body.locale or _lang())
    return jsonify({"id": entry.id, "slot_id": entry.slot_id, "quantity": entry.quantity,
                    "status": entry.status}), 201


# --- payment gateway callbacks --------------------------------------------------------------

@bp.post("/payments/<provider>/callback")
@csrf.exempt
def payment_callback(provider: str):
    signature = request.headers.get("X-Sandbox-Signature") or request.headers.get("X-Signature")
    payment = service.handle_callback(db.session, provider, request.get_data(cache=False), signature)
    return jsonify({"payment_id": payment.public_id, "status": payment.status})


# --- staff ----------------------------------------------------------------------------------

@bp.post("/slots/<int:slot_id>/check-in")
@csrf.exempt  # cookie sessions still need the token (see _csrf_for_cookie_sessions)
@api_login_required
def check_in(slot_id: int):
    body = parse_body(CheckInIn)
    booking = service.check_in(db.session, current_user, slot_id, body.reference)
    return jsonify(booking_json(booking, _lang()))
