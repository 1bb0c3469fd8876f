"""The messages a booker gets (confirmed, cancelled, waiting-list offer), in their language.

The address is one a guest typed, so each address gets a limited number of them
(BOOKING_MAILS_PER_RECIPIENT), and what the guest typed (their name) goes in as inert plain
text. Links come from PORTAL_BASE_URL only, never from the request.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from flask_babel import force_locale, format_currency
from sqlalchemy.orm import Session

from portal import links, throttle
from portal.i18n import pick

from .. import settings
from ..models import Booking
from .references import access_token
from .texts import format_when

log = logging.getLogger(__name__)

LINK_DAYS_AFTER_EVENT = 7  # a booking's links open it until its event plus this many days

# Characters that show nothing or turn text around (controls, zero-width, bidi overrides).
_HIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
# What a mail client could make a link of: a scheme's "://", a dot inside a host name (also
# the ideographic and full-width dots), an address's "@".
_LINKISH = re.compile(r"://|(?<=\w)[.\u3002\uff0e\uff61](?=\w)|@")
_DEFANGED = {"://": "[:]//", "@": "[at]"}


def booking_path(booking: Booking) -> str:
    return f"/tourism/bookings/{booking.reference}"


def inert(text: str | None) -> str:
    """Text a guest typed, as it may appear in a plain-text mail: on one line, without hidden
    characters, and with nothing a mail client would turn into a link (``http://evil.example``
    becomes ``http[:]//evil[.]example``)."""
    text = " ".join(_HIDDEN.sub(" ", text or "").split())
    return _LINKISH.sub(lambda m: _DEFANGED.get(m.group(0), f"[{m.group(0)}]"), text)


def links_until(booking: Booking, event: str) -> datetime:
    """When the links of the `event` message stop opening the booking: an offer's with the
    offer, the others a week after the event."""
    if event == "waitlist_offer" and booking.hold_expires_at is not None:
        return booking.hold_expires_at
    return booking.slot.starts_at + timedelta(days=LINK_DAYS_AFTER_EVENT)


def notice_links(booking: Booking, event: str) -> dict:
    """The message's links, each holding the booking's access token: sealed in the outbox (no
    database reader can open a booking with them)."""
    token = access_token(booking.reference, links_until(booking, event))
    return {
        "booking_url": links.absolute(f"{booking_path(booking)}?lang={booking.locale}&t={token}"),
        "qr_url": links.absolute(f"{booking_path(booking)}/qr.svg?t={token}"),
        "ics_url": links.absolute(f"{booking_path(booking)}.ics?t={token}"),
    }


def notice_context(booking: Booking, event: str) -> dict:
    """What the confirmation, cancellation and offer messages show, in the booker's language
    (their links apart: notice_links)."""
    slot = booking.slot
    listing = slot.listing
    with force_locale(booking.locale):
        name, _lang = pick(listing.name, booking.locale)
        address, _lang = pick(listing.address, booking.locale)
        policy, _lang = pick(listing.policy, booking.locale)
        return {
            "reference": booking.reference,
            "guest_name": inert(booking.guest_name),
            "listing": name,
            "address": address,
            "policy": policy,
            "starts_at": format_when(slot.starts_at),
            "quantity": booking.quantity,
            "total": format_currency(booking.total, "KRW"),
            "refund": format_currency(booking.refund_amount or 0, "KRW"),
            "hold_expires_at": format_when(booking.hold_expires_at),
        }


def confirmation_state(session: Session, booking: Booking) -> str | None:
    """What became of the booking's confirmation email: None when none was queued (the
    address had its fill of our mails), else its delivery state as notify tells it: "queued"
    (on its way), "retrying", "sent" or "failed". Reads only."""
    from portal.notify import service as notify_service  # late import: notify imports other services

    if not booking.confirmation_sent:
        return None
    return notify_service.delivery_state(session, notice_key(booking, "confirmed"))


def notice_key(booking: Booking, event: str) -> str:
    """The outbox idempotency key of the booking's `event` message."""
    return f"tourism.{event}:{booking.id}"


def notify(session: Session, booking: Booking, event: str) -> bool:
    """Write the `event` message's outbox row in the caller's transaction (sent after commit).
    False, and nothing written, when the guest's address has had its fill of our mails."""
    from portal.notify import service as notify_service  # late import: notify imports other services

    if not throttle.allow(settings.MAILS_PER_RECIPIENT(), "tourism.mail", booking.guest_email):
        log.info("tourism: %s mail of booking %s not sent: its address had its fill", event, booking.id)
        return False
    # send_many, not send: the same row and queueing, without reading the row back.
    notify_service.send_many(session, [{
        "template": f"tourism.{event}", "context": notice_context(booking, event),
        "sealed": notice_links(booking, event), "idempotency_key": notice_key(booking, event),
        "user_id": None, "email": booking.guest_email, "channel": "email", "locale": booking.locale}])
    return True
