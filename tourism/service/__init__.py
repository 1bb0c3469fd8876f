"""Tourism booking rules, by concern. Views, API, tasks and tests call them from here.

- listings.py     search, areas, a listing and its upcoming slots (reads)
- seats.py        the only places a slot's seats change (take, give_back), offers to the waiting
                  list, expiry of unpaid holds, and seats as a read counts them
- bookings.py     holding seats, finding a booking again
- hold_limits.py  seats held at once per guest email and per client address
- payments.py     paying a held booking, gateway callbacks, refunds (gateways.py: the gateways)
- cancellation.py cancelling with the listing's refund policy, and what a cancellation would give
                  back at each step (refund_steps, refund_now: both ask refund_for)
- waitlist.py     joining a sold-out slot's waiting list
- documents.py    iCalendar and QR code of a booking
- staff.py        listings, slots, capacity, check-in, reports
- texts.py, references.py, guests.py, notices.py, days.py: what the others share (notices.py:
                  the messages, their links and how many an address gets; days.py: days and
                  times as typed, within the range the portal books)

A use case commits once, in its top-level function; the steps it calls only flush. A read
(a page or an API GET) never writes.
"""

from .bookings import create_booking, find_booking, read_booking
from .cancellation import (
    RefundStep,
    cancel_booking,
    free_cancel_until,
    paid_amount,
    refund_for,
    refund_now,
    refund_steps,
)
from .days import parse_day
from .documents import ics, qr_svg
from .listings import (
    area_code,
    areas,
    day_slots,
    get_listing,
    get_slot,
    listings_query,
    search_listings,
    slot_days,
    slot_summary,
    upcoming_slots,
)
from .notices import booking_path, confirmation_state
from .payments import get_payment, handle_callback, paid_payment, pay, sandbox_complete, start_payment
from .references import access_token, normalise_reference, token_matches
from .seats import available, release_expired, status_now
from .seats import reread as reread_slot
from .seats import taken as seats_taken
from .staff import (
    add_slot,
    check_in,
    report,
    require_staff,
    save_listing,
    set_capacity,
    slot_bookings,
    staff_listings,
)
from .texts import SEOUL, area_name, format_day, format_when, missing_translations, search_text, text
from .waitlist import join_waitlist

__all__ = [
    "access_token", "add_slot", "area_code", "area_name", "areas", "available", "booking_path",
    "cancel_booking", "check_in", "confirmation_state", "day_slots", "format_day", "free_cancel_until", "create_booking", "find_booking", "format_when", "get_listing",
    "get_payment", "get_slot", "handle_callback", "ics", "join_waitlist", "listings_query",
    "missing_translations", "normalise_reference", "paid_amount", "paid_payment", "parse_day", "pay", "qr_svg", "read_booking",
    "refund_for", "refund_now", "refund_steps", "RefundStep", "release_expired", "report", "require_staff", "reread_slot", "sandbox_complete",
    "save_listing", "search_listings", "search_text", "seats_taken", "SEOUL", "set_capacity",
    "slot_bookings", "slot_days", "slot_summary", "staff_listings", "start_payment", "status_now", "text",
    "token_matches", "upcoming_slots",
]
