"""The notification queue's errors, named once (codes and texts are what clients and tests see).

A notice or a preference that is not valid is an ``Invalid`` with ``fields`` naming what is
wrong (for ``send_many``: ``items.<n>.<field>``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.errors import Conflict, Invalid, NotFound, Unauthorized


class InvalidNotice(Invalid):
    code = "invalid_notice"


class InvalidPreferences(Invalid):
    code = "invalid_preferences"


class PhoneMissing(InvalidPreferences):
    """A phone channel preferred by a resident whose profile has no phone number: the request is
    well formed, the profile is what is missing, so 409 (same code and field message; pages
    still catch it as invalid input beside the field)."""
    status = 409


class NotInInbox(NotFound):
    """Another resident's notice is indistinguishable from a missing one."""

    code = "message_not_found"
    default_message = _l("There is no such message in your inbox.")


class MessageNotFound(NotFound):
    code = "message_not_found"
    default_message = _l("There is no such message.")


class NotRetryable(Conflict):
    code = "not_retryable"
    default_message = _l("Only a failed message can be sent again.")


class SealedGone(Conflict):
    """The notice failed for good and its sealed part (a one-time link) was erased with it."""

    code = "sealed_gone"
    default_message = _l("This message held a one-time link that was erased when it failed: "
                         "the resident must ask for a new one.")


class BadProviderSignature(Unauthorized):
    """A provider event not signed with the channel's ``<CHANNEL>_PROVIDER_SECRET`` (or none is
    set), or signed more than five minutes away from now: one answer for all, so a caller learns
    nothing of which."""

    code = "bad_signature"
    default_message = _l("The event is not signed by the provider, or its signature has expired.")


class UnknownChannel(NotFound):
    code = "unknown_channel"
    default_message = _l("No provider reports on this channel.")


class UnknownReference(NotFound):
    """No notice of the channel was handed to a provider under this reference."""

    code = "unknown_reference"
    default_message = _l("There is no notice with this reference.")


class NotSentYet(Conflict):
    """The notice is being handed to its provider again and the outcome is not recorded yet: an
    event now could not be told from one of the earlier attempt, so it is refused, stored
    nowhere, for the provider to post again (as it does on any answer but 2xx)."""

    code = "not_sent_yet"
    default_message = _l("The notice is being sent: post the event again in a moment.")
