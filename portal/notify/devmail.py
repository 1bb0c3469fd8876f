"""The development mail catcher: with ``MAIL_PROVIDER=catch`` (the default of ``make run``, see
:func:`portal.notify.settings.mail_provider`) every e-mail is kept as an ``.eml`` file in
``MAIL_CATCH_DIR`` (default: ``dev-mail`` in the instance folder) instead of going to a mail
server, and ``/dev/mail`` lists and shows them, so that a newcomer can follow the confirmation
and password-reset links of ``make run``.

``/dev/mail`` exists only when ``PORTAL_ENV=development``: anywhere else the blueprint is not
registered at all (404). The files hold live links (one-time tokens): they are the
development server's, like its database.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

from flask import Blueprint, abort, current_app, render_template, url_for

from . import settings
from .linkify import linkify

bp = Blueprint("devmail", __name__, template_folder="templates")

LIST_LIMIT = 200  # the newest mails the list shows
_NAME = re.compile(r"^[0-9a-f]{1,64}$")  # a notice's reference (portal.notify.sealing)


def enabled(app) -> bool:
    """Whether ``/dev/mail`` exists in ``app``: in development only."""
    return app.config.get("PORTAL_ENV") == "development"


def folder() -> str:
    return os.path.abspath(settings.MAIL_CATCH_DIR() or os.path.join(current_app.instance_path, "dev-mail"))


def store(reference: str, mail: EmailMessage) -> None:
    """Keep ``mail`` as ``<reference>.eml``, written whole or not at all (a reader never sees
    half a file); the same notice sent again replaces its file."""
    if not _NAME.match(reference):
        raise ValueError("not a notice reference")
    path = folder()
    os.makedirs(path, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path, prefix=".tmp-", suffix=".eml")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(mail.as_bytes(policy=email.policy.SMTP))
        os.replace(tmp, os.path.join(path, f"{reference}.eml"))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass
class CaughtMail:
    ref: str
    sender: str
    to: str
    subject: str
    date: datetime
    locale: str
    body: str

    @property
    def body_html(self):
        return linkify(self.body)


def _read(path: str, ref: str) -> CaughtMail:
    with open(path, "rb") as fh:
        mail = email.message_from_binary_file(fh, policy=email.policy.default)
    try:
        date = parsedate_to_datetime(mail["Date"])
    except (TypeError, ValueError):
        date = datetime.fromtimestamp(os.path.getmtime(path), UTC)
    part = mail.get_body(preferencelist=("plain",))
    body = part.get_content() if part is not None else ""
    return CaughtMail(ref=ref, sender=str(mail["From"] or ""), to=str(mail["To"] or ""),
                      subject=str(mail["Subject"] or ""), date=date,
                      locale=str(mail["Content-Language"] or ""), body=body.strip())


def caught(limit: int = LIST_LIMIT) -> list[CaughtMail]:
    """The caught mails, newest first."""
    path = folder()
    try:
        names = [n for n in os.listdir(path) if n.endswith(".eml") and _NAME.match(n[:-4])]
    except FileNotFoundError:
        return []
    stamped = []
    for name in names:
        with contextlib.suppress(OSError):
            stamped.append((os.path.getmtime(os.path.join(path, name)), name))
    stamped.sort(reverse=True)
    mails = []
    for _mtime, name in stamped[:limit]:
        with contextlib.suppress(OSError):
            mails.append(_read(os.path.join(path, name), name[:-4]))
    return mails


def one(ref: str) -> CaughtMail | None:
    if not _NAME.match(ref):
        return None
    path = os.path.join(folder(), f"{ref}.eml")
    try:
        return _read(path, ref)
    except FileNotFoundError:
        return None


@bp.get("/")
def index():
    return render_template("notify/dev_mail_list.html", mails=caught(),
                           catching=settings.mail_provider() == "catch", limit=LIST_LIMIT)


@bp.get("/<ref>")
def message(ref: str):
    mail = one(ref)
    if mail is None:
        abort(404)
    return render_template("notify/dev_mail_message.html", mail=mail)


def init_app(app) -> None:
    """Register ``/dev/mail`` in development only; elsewhere it does not exist."""
    if enabled(app):
        app.register_blueprint(bp, url_prefix="/dev/mail")

    @app.context_processor
    def _dev_mail():
        # pages that speak of a mail (registration) point to the catcher when mail is caught
        def url():
            if enabled(current_app) and settings.mail_provider() == "catch":
                return url_for("devmail.index")
            return None
        return {"dev_mail_url": url}
