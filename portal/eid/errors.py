"""The e-ID service's errors, named once (codes and messages are what clients and gates read)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.errors import Conflict, DomainError, NotFound, Unauthorized

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


class VerifyUnavailable(DomainError):
    """The database cannot be reached: the gate is told to try again (nothing is granted)."""

    status = 503
    code = "verify_unavailable"
    default_message = _l("Card checks are unavailable for a moment. Please try again.")
