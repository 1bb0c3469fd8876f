"""Translated names of channels, statuses, templates, template families, failure reasons and
delivery states, for pages and API messages: a page never shows a raw code."""

from flask_babel import lazy_gettext as _l

CHANNEL_LABELS = {
    "app": _l("Portal inbox"),
    "email": _l("Email"),
    "sms": _l("Text message (SMS)"),
    "voice": _l("Voice call"),
}

STATUS_LABELS = {
    "queued": _l("Queued"),
    "sending": _l("Sending"),
    "sent": _l("Sent, no receipt yet"),
    "delivered": _l("Delivered"),
    "temporary_failure": _l("Failed, will retry"),
    "permanent_failure": _l("Failed"),
}

# the service that sent a notice: what staff outside welfare see instead of its template
FAMILY_LABELS = {
    "accounts": _l("Accounts"),
    "notify": _l("Notices"),
    "proposals": _l("Proposals"),
    "tourism": _l("Tourism"),
    "welfare": _l("Welfare"),
}

# what a notice is: what welfare officers see instead of its template's name
TEMPLATE_LABELS = {
    "accounts.already_registered": _l("Account already exists"),
    "accounts.confirm_email": _l("Email address confirmation"),
    "accounts.password_reset": _l("Password reset link"),
    "notify.channel_check": _l("Channel test"),
    "notify.welcome": _l("Welcome notice"),
    "proposals.status_changed": _l("Proposal status changed"),
    "proposals.threshold_reached": _l("Proposal reached its endorsement goal"),
    "tourism.cancelled": _l("Booking cancelled"),
    "tourism.confirmed": _l("Booking confirmed"),
    "tourism.waitlist_offer": _l("Waiting-list place offered"),
    "welfare.eligible": _l("Welfare programme you may qualify for"),
}

REASON_LABELS = {
    "opted_out": _l("The resident switched this channel off"),
    "no_address": _l("No email address or phone number"),
    "no_inbox": _l("No portal account for the inbox"),
    "template_missing": _l("The message template is missing"),
    "provider_not_configured": _l("The provider is not configured"),
    "provider_unreachable": _l("The provider could not be reached"),
    "smtp_unavailable": _l("The mail server could not be reached"),
    "smtp_auth": _l("The mail server refused our login"),
    "worker_lost": _l("The delivery worker stopped too often"),
    "internal_error": _l("Unexpected error while sending"),
    "sealed_unreadable": _l("Its one-time link could not be opened or was erased"),
    "no_result": _l("The provider gave no answer for it"),
    "unknown_channel": _l("No provider for this channel"),
    # what a provider reported back (portal.notify.service.receipts)
    "no_answer": _l("The call was not answered"),
    "busy": _l("The line was busy"),
    "failed": _l("The provider could not complete it"),
    "undeliverable": _l("The provider reported it undeliverable"),
    # welfare's "could not reach": the notice went by SMS or to the inbox instead
    "could_not_reach": _l("Three calls were not answered; the notice went by SMS or to the portal inbox"),
}

# what a person is told of a notice (portal.notify.service.delivery_state): "sent" only once
# the provider accepted it (whether or not its receipt came: a resident is told it went out)
DELIVERY_LABELS = {
    "queued": _l("On its way"),
    "retrying": _l("Not sent yet: we will try again"),
    "sent": _l("Sent"),
    "failed": _l("Could not be sent"),
}

_SENTENCES = {
    "email": {
        "queued": _l("The email is on its way."),
        "retrying": _l("The email could not be sent yet. We will try again."),
        "sent": _l("The email was sent."),
        "failed": _l("The email could not be sent."),
    },
    "sms": {
        "queued": _l("The text message is on its way."),
        "retrying": _l("The text message could not be sent yet. We will try again."),
        "sent": _l("The text message was sent."),
        "failed": _l("The text message could not be sent."),
    },
    "voice": {
        "queued": _l("The call is on its way."),
        "retrying": _l("The call could not be made yet. We will try again."),
        "sent": _l("The call was made."),
        "failed": _l("The call could not be made."),
    },
    "app": {
        "queued": _l("The notice is on its way to your portal inbox."),
        "retrying": _l("The notice is on its way to your portal inbox."),
        "sent": _l("The notice is in your portal inbox."),
        "failed": _l("The notice could not be delivered to your portal inbox."),
    },
}


def channel_label(channel: str) -> str:
    return str(CHANNEL_LABELS.get(channel, _l("Other channel")))


def channel_list(channels) -> str:
    """Channel codes (``["voice", "app"]``) as translated names, in the given order."""
    return ", ".join(channel_label(c) for c in (channels or ()))


def family_label(family: str) -> str:
    return str(FAMILY_LABELS.get(family, _l("Other")))


def template_label(template: str) -> str:
    """What a notice is, in words; a template without a name of its own is named by its
    service ("Tourism notice")."""
    if template in TEMPLATE_LABELS:
        return str(TEMPLATE_LABELS[template])
    return str(_l("%(service)s notice", service=family_label(template.partition(".")[0])))


def delivery_label(state: str | None) -> str:
    """A short word for a delivery state ("On its way", "Sent", ...); "" for no notice."""
    return str(DELIVERY_LABELS[state]) if state in DELIVERY_LABELS else ""


def delivery_sentence(state: str | None, channel: str = "email") -> str:
    """A sentence telling a person what happened to a message sent by ``channel``
    ("The email is on its way."); "" when there is no notice (nothing was sent)."""
    sentences = _SENTENCES.get(channel, _SENTENCES["email"])
    return str(sentences[state]) if state in sentences else ""


def reason_label(code: str | None) -> str:
    """A readable reason for a failure code such as ``smtp_550`` or ``http_503``."""
    if not code:
        return ""
    if code in REASON_LABELS:
        return str(REASON_LABELS[code])
    if code.startswith("smtp_"):
        return str(_l("The mail server answered %(code)s", code=code[5:]))
    if code.startswith("http_"):
        return str(_l("The provider answered HTTP %(code)s", code=code[5:]))
    if code.startswith("render_error"):
        return str(_l("The message could not be rendered"))
    return str(_l("Other error"))
