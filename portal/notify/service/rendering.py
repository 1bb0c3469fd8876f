"""Rendering a notice: plain-text templates ``notify/<template>.subject|body|voice.txt``, found in
any blueprint's ``templates/`` folder, in the recipient's language."""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import force_locale
from jinja2 import TemplateNotFound

from portal import links

from .. import sealing
from ..models import Message

_TEMPLATE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


def _template_name(template: str, part: str) -> str:
    return f"notify/{template}.{part}.txt"


def template_exists(template: str) -> bool:
    if not isinstance(template, str) or not _TEMPLATE_RE.match(template):
        return False
    env = current_app.jinja_env
    try:
        env.get_template(_template_name(template, "subject"))
        env.get_template(_template_name(template, "body"))
    except TemplateNotFound:
        return False
    return True


def render(template: str, context: dict, locale: str, *, voice: bool = True,
           absolute: bool = False) -> tuple[str, str, str | None]:
    """(subject, body, voice script or None) of ``template`` in ``locale``.

    Templates are plain text (no HTML escaping), found in any blueprint's ``templates/notify/``.
    ``voice=False`` skips the call script (only the voice channel reads it). Templates write a
    portal page as ``{{ portal_link("/proposals/3") }}``: with ``absolute`` (what leaves the
    portal: a mail, a text message) a link on ``PORTAL_BASE_URL`` a mail client can follow,
    else the path, which the inbox makes a link of.
    """
    env = current_app.jinja_env
    context = {**(context or {}), "portal_link": links.absolute if absolute else _path}
    script = None
    with force_locale(locale):
        subject = env.get_template(_template_name(template, "subject")).render(context)
        body = env.get_template(_template_name(template, "body")).render(context)
        if voice:
            try:
                script = env.get_template(_template_name(template, "voice")).render(context).strip()
            except TemplateNotFound:
                script = None
    return " ".join(subject.split()), body.strip(), script


def _path(path: str) -> str:
    return path


def rendered(message: Message) -> dict:
    """Subject and body of a stored notice as the resident received them."""
    try:
        subject, body, _voice = render(message.template, message.context, message.locale, voice=False)
    except TemplateNotFound:
        subject, body = message.template, ""
    return {"subject": subject, "body": body}


def sealed_context(message: Message) -> dict:
    """What a notice's sealed part holds ({} when it has none or it was erased). Delivery opens
    it to render; nothing shows it to a person (tests read a mailed link with it)."""
    return sealing.unseal(message.sealed) if message.sealed else {}
