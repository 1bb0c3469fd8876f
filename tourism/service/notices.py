"""The messages a booker gets (confirmed, cancelled, waiting-list offer), in their language."""

from __future__ import annotations

from flask import current_app, has_request_context, request
from flask_babel import force_locale, format_currency
from sqlalchemy.orm import Session

from portal.i18n import pick

from ..models import Booking
from .references import access_token
from .texts import format_when


def booking_path(booking: Booking) -> str:
    return f"/tourism/bookings/{booking.reference}"


def _absolute(path: str) -> str:
    if has_request_context():
        return request.host_url.rstrip("/") + path
    return str(current_app.config.get("PORTAL_BASE_URL") or "").rstrip("/") + path


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


def notify(session: Session, booking: Booking, event: str) -> None:
    """Write the `event` message's outbox row in the caller's transaction (sent after commit)."""
    from portal.notify import service as notify_service  # late import: notify imports other services

    notify_service.send(session, template=f"tourism.{event}", context=notice_context(booking),
                        idempotency_key=f"tourism.{event}:{booking.id}", email=booking.guest_email,
                        channel="email", locale=booking.locale)
