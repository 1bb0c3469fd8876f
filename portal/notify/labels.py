"""Translated names of channels, statuses, template families and failure reasons, for pages and
API messages."""

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
}


def family_label(family: str) -> str:
    return str(FAMILY_LABELS.get(family, family))


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
    return code
