"""The e-ID service's errors, named once (codes and messages are what clients and gates read)."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import format_timedelta
from flask_babel import lazy_gettext as _l

from portal.errors import Conflict, DomainError, Invalid, NotFound, RateLimited, Unauthorized
from portal.inputs import INVISIBLE  # noqa: F401 - the shell's message, re-exported by name

# A name or reason made only of spaces, zero-width, bidi-control or filler characters (422).

# -- cards -------------------------------------------------------------------------------


class NoCardYet(NotFound):
    code = "no_card"
    default_message = _l("You do not have an e-ID card yet.")


class NoActiveCard(NotFound):
    code = "no_active_card"
    default_message = _l("You do not have an active e-ID card.")


class CardExists(Conflict):
    code = "card_exists"
    default_message = _l("You already have an e-ID card.")


class CardSuspended(Conflict):
    code = "card_suspended"
    default_message = _l("This card is suspended. Please contact the city office.")


class CardIssueLimit(RateLimited):
    """The holder had ``EID_CARD_ISSUES_PER_DAY`` cards issued in the last 24 hours: 429 with
    ``Retry-After: retry_after`` (seconds until the oldest of them leaves the 24 hours)."""

    code = "card_issue_limit"

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(_l("Too many cards were issued to your account in the last 24 hours. "
                            "You can have a new card issued %(when)s.", when=in_time(retry_after)))


def in_time(seconds: int) -> str:
    """When something ``seconds`` from now can be done: "in 5 hours", "5시간 후", "5小时后"."""
    return format_timedelta(timedelta(seconds=seconds), threshold=1, add_direction=True)


class InvalidDeviceKey(Invalid):
    """The phone's key is not a public EC P-256 key (422, on the field ``device_key``)."""

    code = "invalid_device_key"
    default_message = _l("This phone's key cannot be used. Please reload the page.")

    def __init__(self):
        super().__init__(fields={"device_key": self.default_message})


class DeviceLimit(Conflict):
    """The card's credential is live on ``EID_DEVICES_PER_CARD`` other phones."""

    code = "device_limit"
    default_message = _l("Your card is already on the most phones allowed. Use it on one of them, "
                         "or report the card lost to move it to this phone.")


class NoSuchCard(NotFound):
    """Staff asked for a card id that does not exist."""

    code = "no_card"
    default_message = _l("No such card.")


class WrongCardStatus(Conflict):
    code = "wrong_status"
    default_message = _l("The card is not in a state that allows this.")


# -- facilities and gates ----------------------------------------------------------------


class FacilityExists(Conflict):
    code = "facility_exists"
    default_message = _l("A facility with this code exists.")

    def __init__(self):
        super().__init__(fields={"code": self.default_message})


class NoSuchFacility(NotFound):
    code = "no_facility"
    default_message = _l("No such facility.")


class NoSuchGate(NotFound):
    code = "no_gate"
    default_message = _l("No such gate.")


class InvalidGateKey(Unauthorized):
    code = "invalid_gate_key"
    default_message = _l("A valid gate key is required.")


# -- verify ------------------------------------------------------------------------------


class NoSigningKey(DomainError):
    """No signing key exists yet: a read never creates one (``flask --app portal eid
    rotate-key``, the demo seeding or the first card issued do)."""

    status = 503
    code = "signing_key_missing"
    default_message = _l("Card codes cannot be made yet: the city has not set up its signing key. "
                         "Please try again later.")


class VerifyUnavailable(DomainError):
    """The database cannot be reached: the gate is told to try again (nothing is granted)."""

    status = 503
    code = "verify_unavailable"
    default_message = _l("Card checks are unavailable for a moment. Please try again.")
