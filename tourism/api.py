"""Tourism JSON API under /api/v1/tourism: parse, call the service, answer with schemas.py."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.api import api_login_required, paginate, parse_body, parse_query
from portal.apidoc import doc
from portal.errors import Invalid, Unauthorized
from portal.extensions import csrf, db
from portal.i18n import current_locale, normalise
from portal.idempotency import current_token, idempotent, openapi_operation

from . import schemas, service
from .models import Listing
from .schemas import (
    BookingIn,
    BookingOut,
    CallbackIn,
    CallbackOut,
    CancelIn,
    CheckInIn,
    ListingsOut,
    ListingsQuery,
    ListingWithSlotsOut,
    LookupIn,
    PaymentIn,
    WaitlistEntryOut,
    WaitlistIn,
)

bp = Blueprint("tourism_api", __name__)

_TAGS = ("tourism",)
_NO_BOOKING = "no booking with this reference (and email)"


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


# --- what the document says beyond the models ----------------------------------------------

def _hold_limit_retry_after(operation: dict) -> dict:
    operation["responses"]["429"].setdefault("headers", {})["Retry-After"] = {
        "description": "seconds until the first of those holds ends", "schema": {"type": "integer"}}
    return openapi_operation(operation)


def _signed_callback(operation: dict) -> dict:
    for name in ("X-Sandbox-Signature", "X-Signature"):
        operation["parameters"].append({
            "name": name, "in": "header", "required": False, "schema": {"type": "string"},
            "description": "hex HMAC-SHA256 of the raw body under the gateway's secret (one of "
                           "the two headers; 403 bad_signature otherwise)"})
    for parameter in operation["parameters"]:
        if parameter["name"] == "provider" and parameter["in"] == "path":
            parameter["schema"] = {"type": "string", "enum": list(service.gateways.PROVIDERS)}
    return operation


# --- listings -------------------------------------------------------------------------------

@bp.get("/listings")
@doc(query=ListingsQuery, answers={200: ListingsOut}, public=True, tags=_TAGS)
def listings():
    """Search listings"""
    q = parse_query(ListingsQuery)
    on_date = service.parse_day(q.date)  # 422 outside the days the portal books
    stmt = service.listings.listing_cards_query(kind=q.kind or None, area=q.area or None, q=q.q or None,
                                                on_date=on_date)
    # without area, search or day the statement is built once per kind (listing_cards_query),
    # and so may its first page be
    shared = not (q.area or q.q or on_date)
    rows, next_cursor = paginate(db.session, stmt, _BY_ID, q.cursor or None, q.limit,
                                 order_key="id" if shared else None)
    return jsonify(schemas.listings_json(rows, next_cursor, _lang()))


_BY_ID = [(Listing.id, "asc")]


@bp.get("/listings/<int:listing_id>")
@doc(answers={200: ListingWithSlotsOut}, public=True, tags=_TAGS)
def listing(listing_id: int):
    """A listing with its upcoming slots"""
    item = service.get_listing(db.session, listing_id)
    slots = service.upcoming_slots(db.session, item)
    return jsonify(schemas.listing_with_slots_json(item, slots, _lang()))


# --- bookings -------------------------------------------------------------------------------

# The POSTs that change something take an Idempotency-Key (portal.idempotency): the caller's
# key, bound to the request; the first success is replayed to a retry.

@bp.post("/bookings")
@doc(body=BookingIn,
     answers={201: (BookingOut, "held"), 404: "no such slot",
              409: "sold_out, slot_closed, retry (the booking could not be saved)",
              429: "hold_limit: the guest's email or client address already holds as many unpaid "
                   "seats as allowed at once (BOOKING_MAX_HELD_SEATS_PER_EMAIL, ..._PER_CLIENT)"},
     public=True, amend=_hold_limit_retry_after, tags=_TAGS)
@csrf.exempt
@idempotent
def create_booking():
    """Hold seats (guest or signed in)"""
    body = parse_body(BookingIn)
    booking, _created = service.create_booking(
        db.session, user=current_user, slot_id=body.slot_id, quantity=body.quantity,
        name=body.guest.name, email=str(body.guest.email), phone=body.guest.phone,
        locale=body.locale or _lang(), idempotency_key=current_token(), client=request.remote_addr)
    return jsonify(schemas.booking_json(booking, _lang())), 201


@bp.get("/bookings/<reference>")
@doc(answers={200: BookingOut, 404: _NO_BOOKING,
              422: "an email in the query string (send it to .../lookup)"}, tags=_TAGS)
def get_booking(reference: str):
    """A booking, for the signed-in booker or staff (guests: POST .../lookup)"""
    if "email" in request.args:  # an address in a URL lands in logs and histories
        raise Invalid(fields={"email": _("Send the email in the body of a POST to "
                                         "/api/v1/tourism/bookings/<reference>/lookup.")})
    if not current_user.is_authenticated:
        raise Unauthorized()
    booking = service.read_booking(db.session, reference, user=current_user)
    return jsonify(schemas.booking_json(booking, _lang()))


@bp.post("/bookings/<reference>/lookup")
@doc(body=LookupIn, answers={200: BookingOut, 404: _NO_BOOKING}, public=True, tags=_TAGS)
@csrf.exempt
def lookup_booking(reference: str):
    """A booking, for the guest who gives the email it was booked with (a read: writes nothing)"""
    body = parse_body(LookupIn)
    booking = service.read_booking(db.session, reference, email=str(body.email), user=current_user)
    return jsonify(schemas.booking_json(booking, _lang()))


@bp.post("/bookings/<reference>/payment")
@doc(body=PaymentIn,
     answers={200: (BookingOut, "the booking (confirmed, or still held when the payment failed)"),
              404: _NO_BOOKING, 409: "already_paid, not_payable"},
     public=True, amend=openapi_operation, tags=_TAGS)
@csrf.exempt
@idempotent
def pay(reference: str):
    """Pay a held booking; the sandbox completes at once"""
    body = parse_body(PaymentIn)
    booking = service.pay(db.session, reference, body.provider, outcome=body.sandbox_outcome,
                          email=str(body.email) if body.email else None, user=current_user)
    return jsonify(schemas.booking_json(booking, _lang()))


@bp.post("/bookings/<reference>/cancel")
@doc(body=CancelIn,
     answers={200: (BookingOut, "the cancelled booking"), 404: _NO_BOOKING,
              409: "not_cancellable, already_started"},
     public=True, amend=openapi_operation, tags=_TAGS)
@csrf.exempt
@idempotent
def cancel(reference: str):
    """Cancel; refund per the listing's policy (exactly once)"""
    body = parse_body(CancelIn)
    email = _email_arg(str(body.email) if body.email else None)
    booking = service.cancel_booking(db.session, reference, email=email, user=current_user)
    return jsonify(schemas.booking_json(booking, _lang()))


@bp.post("/slots/<int:slot_id>/waitlist")
@doc(body=WaitlistIn,
     answers={201: (WaitlistEntryOut, "on the list"), 404: "no such slot",
              409: "seats_available, already_waiting, slot_closed"},
     public=True, amend=openapi_operation, tags=_TAGS)
@csrf.exempt
@idempotent
def join_waitlist(slot_id: int):
    """Join a sold-out slot's waiting list"""
    body = parse_body(WaitlistIn)
    entry = service.join_waitlist(db.session, user=current_user, slot_id=slot_id, quantity=body.quantity,
                                  name=body.guest.name, email=str(body.guest.email),
                                  phone=body.guest.phone, locale=body.locale or _lang())
    return jsonify(schemas.waitlist_entry_json(entry)), 201


# --- payment gateway callbacks --------------------------------------------------------------

@bp.post("/payments/<provider>/callback")
@doc(body=CallbackIn,
     answers={200: (CallbackOut, "handled (a repeated callback changes nothing)"),
              403: "bad_signature", 404: "no such payment",
              422: "unknown provider, bad_callback, amount_mismatch"},
     public=True, amend=_signed_callback, tags=_TAGS)
@csrf.exempt
def payment_callback(provider: str):
    """Payment gateway callback (HMAC-SHA256 of the body in X-Sandbox-Signature)"""
    signature = request.headers.get("X-Sandbox-Signature") or request.headers.get("X-Signature")
    payment = service.handle_callback(db.session, provider, request.get_data(cache=False), signature)
    return jsonify(schemas.callback_json(payment))


# --- staff ----------------------------------------------------------------------------------

@bp.post("/slots/<int:slot_id>/check-in")
@doc(body=CheckInIn,
     answers={200: (BookingOut, "the checked-in booking"),
              404: "no such slot, or no booking with this reference for it",
              409: "already_checked_in, not_confirmed"},
     amend=openapi_operation, tags=_TAGS)
@csrf.exempt  # cookie sessions still need the token (see _csrf_for_cookie_sessions)
@api_login_required
@idempotent
def check_in(slot_id: int):
    """Staff: check a confirmed booking in by its reference (scanned or typed)"""
    body = parse_body(CheckInIn)
    booking = service.check_in(db.session, current_user, slot_id, body.reference)
    return jsonify(schemas.booking_json(booking, _lang()))
