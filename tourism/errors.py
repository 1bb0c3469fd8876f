"""The errors tourism raises, by name. Codes and messages are what clients and tests see."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited

# --- not found (code not_found) ---------------------------------------------------------------


class NoSuchListing(NotFound):
    default_message = _l("This listing does not exist.")


class NoSuchSlot(NotFound):
    default_message = _l("This time slot does not exist.")


class NoSuchBooking(NotFound):
    """Also for a wrong email: it answers the same as an unknown reference."""

    default_message = _l("No booking matches this reference and email.")


class NotBookedForSlot(NotFound):
    default_message = _l("No booking with this reference for this time slot.")


class NoSuchPayment(NotFound):
    default_message = _l("This payment does not exist.")


# --- bookings and seats -------------------------------------------------------------------------


class SoldOut(Conflict):
    code = "sold_out"
    default_message = _l("Sorry, not enough seats are left for this time.")


class SlotClosed(Conflict):
    code = "slot_closed"
    default_message = _l("This time slot has already started.")


class Retry(Conflict):
    code = "retry"
    default_message = _l("The booking could not be saved. Please try again.")


class SeatsAvailable(Conflict):
    code = "seats_available"
    default_message = _l("Seats are available: you can book now.")


class AlreadyWaiting(Conflict):
    code = "already_waiting"
    default_message = _l("You are already on the waiting list for this time.")


class HoldLimit(RateLimited):
    """Too many seats held unpaid at once by one guest email or one client address (429).
    `retry_after`: seconds until the first of those holds ends (the Retry-After header)."""

    code = "hold_limit"
    default_message = _l("Too many seats are held at once for this email address or from your "
                         "connection. Pay for or cancel a held booking, or try again when a hold ends.")

    def __init__(self, retry_after: int, message=None):
        super().__init__(message)
        self.retry_after = retry_after


# --- cancellation -------------------------------------------------------------------------------


class NotCancellable(Conflict):
    code = "not_cancellable"
    default_message = _l("This booking can no longer be cancelled.")


class AlreadyStarted(Conflict):
    code = "already_started"
    default_message = _l("This time slot has already started.")


# --- payments -----------------------------------------------------------------------------------


class AlreadyPaid(Conflict):
    code = "already_paid"
    default_message = _l("This booking is already paid.")


class NotPayable(Conflict):
    code = "not_payable"
    default_message = _l("This booking can no longer be paid.")


class BadSignature(Forbidden):
    code = "bad_signature"
    default_message = _l("The payment callback signature is not valid.")


class BadCallback(Invalid):
    code = "bad_callback"
    default_message = _l("The payment callback is malformed.")


class AmountMismatch(Invalid):
    code = "amount_mismatch"
    default_message = _l("The paid amount does not match.")


# --- staff --------------------------------------------------------------------------------------


class BelowTaken(Conflict):
    code = "below_taken"
    default_message = _l("More seats are already booked than this capacity.")


class AlreadyCheckedIn(Conflict):
    code = "already_checked_in"
    default_message = _l("This booking is already checked in.")


class NotConfirmed(Conflict):
    code = "not_confirmed"
    default_message = _l("Only confirmed bookings can be checked in.")
