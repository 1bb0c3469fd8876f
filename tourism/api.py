"""Tourism JSON API under /api/v1/tourism: parse, call the service, answer with schemas.py."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import api_login_required, paginate, parse_body, parse_limit
from portal.errors import Invalid, Unauthorized
from portal.extensions import csrf, db
from portal.i18n import current_locale, normalise
from portal.idempotency import current_token, idempotent

from . import schemas, service
from .models import Listing
from .schemas import BookingIn, CancelIn, CheckInIn, LookupIn, PaymentIn, WaitlistIn

bp = Blueprint("tourism_api", __name__)


@bp.before_request
def _csrf_for_cookie_sessions():
    # Guests book without an account, so the POSTs here are CSRF-exempt unless the request is
    # signed in by the session cookie: then the CSRF token is required as everywhere else.
    if request.method == "POST" and current_user.is_authenticated and not g.get("bearer"):
        csrf.protect()


def _lang() -> str:
    return normalise(request.args.get("lang")) or current_locale()


def _email_arg(value: str | None) -> str | None:
    if value is None and not current_user.is_authenticated:
        raise Invalid(fields={"email": _("This field is required.")})
    return value


# --- listings -------------------------------------------------------------------------------

@bp.get("/listings")
def listings():
    on_date = service.parse_day(request.args.get("date"))  # 422 outside the days the portal books
    stmt = service.listings_query(kind=request.args.get("kind") or None,
                                  area=request.args.get("area") or None,
                                  q=request.args.get("q") or None, on_date=on_date)
    rows, next_cursor = paginate(db.session, stmt, [(Listing.id, "asc")], request.args.get("cursor"),
                                 parse_limit())
    return jsonify(schemas.listings_json(rows, next_cursor, _lang()))


@bp.get("/listings/<int:listing_id>")
def listing(listing_id: int):
    item = service.get_listing(db.session, listing_id)
    slots = service.upcoming_slots(db.session, item)
    return jsonify(schemas.listing_with_slots_json(item, slots, _lang()))


# --- bookings -------------------------------------------------------------------------------

# The POSTs that change something take an Idempotency-Key (portal.idempotency): the caller's
# key, bound to the request; the first success is replayed to a retry.

@bp.post("/bookings")
@csrf.exempt
@idempotent
def create_booking():
    body = parse_body(BookingIn)
    booking, _created = service.create_booking(
        db.session, user=current_user, slot_id=body.slot_id, quantity=body.quantity,
        name=body.guest.name, email=str(body.guest.email), phone=body.guest.phone,
        locale=body.locale or _lang(), idempotency_key=current_token(), client=request.remote_addr)
    return jsonify(schemas.booking_json(booking, _lang())), 201


@bp.get("/bookings/<reference>")
def get_booking(reference: str):
    """For the signed-in booker and staff; a guest proves the booking with its email by POST."""
    if "email" in request.args:  # an address in a URL lands in logs and histories
        raise Invalid(fields={"email": _("Send the email in the body of a POST to "
                                         "/api/v1/tourism/bookings/<reference>/lookup.")})
    if not current_user.is_authenticated:
        raise Unauthorized()
    booking = service.read_booking(db.session, reference, user=current_user)
    return jsonify(schemas.booking_json(booking, _lang()))


@bp.post("/bookings/<reference>/lookup")
@csrf.exempt
def lookup_booking(reference: str):
    """A booking for the guest who gives its email (a read: it writes nothing)."""
    body = parse_body(LookupIn)
    booking = service.read_booking(db.session, reference, email=str(body.email), user=current_user)
    return jsonify(schemas.booking_json(booking, _lang()))


@bp.post("/bookings/<reference>/payment")
@csrf.exempt
@idempotent
def pay(reference: str):
    body = parse_body(PaymentIn)
    booking = service.pay(db.session, reference, body.provider, outcome=body.sandbox_outcome,
                          email=str(body.email) if body.email else None, user=current_user)
    return jsonify(schemas.booking_json(booking, _lang()))


@bp.post("/bookings/<reference>/cancel")
@csrf.exempt
@idempotent
def cancel(reference: str):
    body = parse_body(CancelIn)
    email = _email_arg(str(body.email) if body.email else None)
    booking = service.cancel_booking(db.session, reference, email=email, user=current_user)
    return jsonify(schemas.booking_json(booking, _lang()))


@bp.post("/slots/<int:slot_id>/waitlist")
@csrf.exempt
@idempotent
def join_waitlist(slot_id: int):
    body = parse_body(WaitlistIn)
    entry = service.join_waitlist(db.session, user=current_user, slot_id=slot_id, quantity=body.quantity,
                                  name=body.guest.name, email=str(body.guest.email),
                                  phone=body.guest.phone, locale=body.locale or _lang())
    return jsonify(schemas.waitlist_entry_json(entry)), 201


# --- payment gateway callbacks --------------------------------------------------------------

@bp.post("/payments/<provider>/callback")
@csrf.exempt
def payment_callback(provider: str):
    signature = request.headers.get("X-Sandbox-Signature") or request.headers.get("X-Signature")
    payment = service.handle_callback(db.session, provider, request.get_data(cache=False), signature)
    return jsonify(schemas.callback_json(payment))


# --- staff ----------------------------------------------------------------------------------

@bp.post("/slots/<int:slot_id>/check-in")
@csrf.exempt  # cookie sessions still need the token (see _csrf_for_cookie_sessions)
@api_login_required
@idempotent
def check_in(slot_id: int):
    body = parse_body(CheckInIn)
    booking = service.check_in(db.session, current_user, slot_id, body.reference)
    return jsonify(schemas.booking_json(booking, _lang()))
