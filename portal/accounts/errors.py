"""The accounts service's errors, named once."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.errors import Conflict, DomainError, Forbidden, Invalid


class NotVerified(Forbidden):
    code = "not_verified"
    default_message = _l("Only verified residents can do this. Verify your residency first.")


class EmailNotConfirmed(Forbidden):
    code = "email_not_confirmed"
    default_message = _l("Confirm your email address first: open the link we sent you. "
                         "You can ask for a new link on your account page.")


class AlreadyClaimed(Conflict):
    code = "already_claimed"
    default_message = _l("This resident is already linked to another account. If that is not you, "
                         "bring your ID to the city's service desk (or call 120): staff can release "
                         "the entry so that you can verify this account.")


class AlreadyVerified(Conflict):
    code = "already_verified"
    default_message = _l("This account is already verified.")


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = _l("This email address is already registered.")


class NoRegisterMatch(Invalid):
    code = "no_register_match"
    default_message = _l("These details do not match the resident register.")


class BadLink(DomainError):
    """No live link with this token: unknown, used or expired alike (a client cannot tell them
    apart, so no one learns which tokens once existed). 410, as the link's page answers: the
    request is well formed, the link is what is gone."""
    status = 410
    code = "bad_link"
    default_message = _l("This link is not valid any more. Ask for a new one.")


class WrongPassword(Forbidden):
    """The current password, asked again before changing it, is not right: the request is well
    formed, the caller just did not prove who they are (403, like any refused proof)."""
    code = "wrong_password"
    default_message = _l("The current password is not right.")
