"""The sandbox telephone: a development provider for voice calls and texts, and ``/dev/phone``.

With ``VOICE_PROVIDER=sandbox`` (and ``SMS_PROVIDER=sandbox``; the default of ``make run``, as
``catch`` is for mail, see :func:`portal.notify.settings.phone_provider`) each call or text
handed over is kept as a JSON file in the instance folder (``dev-phone``): its reference, the
masked number, the call's flow and language. The provider answers the hand-over as an HTTP
provider that accepted it (it is a :class:`~portal.notify.channels.HttpProvider`), so the notice
is ``sent``. A person then takes the call at ``/dev/phone``: Answer, No answer, Busy, the menu's
digits, Hang up. Each button (a CSRF-checked form) makes the page post the event a real provider
would, signed with ``<CHANNEL>_PROVIDER_SECRET``, to ``POST /api/v1/notify/providers/<channel>/
events`` through the app's own WSGI stack (the real endpoint, signature check and all, without
a socket). While the sandbox is on and no secret is configured, a fixed development secret is
set. ``/dev/phone`` exists only where :func:`portal.notify.settings.phone_sandbox_enabled` (in
development; in production only when ``NOTIFY_PHONE_SANDBOX`` is set on explicitly).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.types import utcnow

from . import flows, settings
from .channels import Envelope, HttpProvider, PermanentFailure, mask
from .models import PHONE_CHANNELS
from .service import receipts

bp = Blueprint("devphone", __name__, template_folder="templates")

DEV_SECRET = "dev-phone-sandbox-secret"  # noqa: S105 - development only, never set in production
LIST_LIMIT = 200
_NAME = re.compile(r"^[0-9a-f]{1,64}$")
# the buttons: what each posts; "hangup" ends the call on the page and posts nothing
BEFORE = ("answered", "no_answer", "busy")
REPEAT_DIGIT = "2"


def folder() -> str:
    return os.path.join(current_app.instance_path, "dev-phone")


def _path(reference: str) -> str:
    if not _NAME.match(reference):
        raise ValueError("not a notice reference")
    return os.path.join(folder(), f"{reference}.json")


def _write(record: dict) -> None:
    path = folder()
    os.makedirs(path, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, ensure_ascii=False)
        os.replace(tmp, _path(record["reference"]))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def store(env: Envelope) -> None:
    """Keep a call or text handed over; the same notice handed over again (a retry) rings again."""
    _write({"reference": env.reference, "channel": env.channel, "to": mask(env.to), "locale": env.locale,
            "attempt": env.attempt, "flow": env.flow, "text": env.text, "received_at": utcnow().isoformat(),
            "state": "ringing", "events": []})


def one(reference: str) -> dict | None:
    if not _NAME.match(reference):
        return None
    try:
        with open(_path(reference), encoding="utf-8") as fh:
            return json.load(fh)
    except (FileNotFoundError, ValueError):
        return None


def received(limit: int = LIST_LIMIT) -> list[dict]:
    """The calls and texts received, newest first."""
    try:
        names = [n for n in os.listdir(folder()) if n.endswith(".json") and _NAME.match(n[:-5])]
    except FileNotFoundError:
        return []
    records = [r for r in (one(n[:-5]) for n in names) if r]
    records.sort(key=lambda r: r["received_at"], reverse=True)
    return records[:limit]


def steps(record: dict) -> list[dict]:
    """A call's steps as words (SSML tags stripped); a text is one step."""
    if record.get("flow"):
        return [{"id": s["id"], "text": flows.plain(s["ssml"])} for s in record["flow"].get("steps") or ()]
    return [{"id": "text", "text": record.get("text") or ""}]


def digits(record: dict) -> list[str]:
    """The menu's digits offered in this call."""
    found = []
    for step in (record.get("flow") or {}).get("steps") or ():
        found += [o["digit"] for o in step.get("options") or () if o["digit"] not in found]
    return found


class SandboxPhone(HttpProvider):
    """The sandbox provider: accepts every call or text with a number, keeps it for /dev/phone."""

    def __init__(self, name: str):
        self.name = name
        self.http = None

    @contextlib.contextmanager
    def connection(self) -> Iterator[SandboxPhone]:
        yield self

    def deliver(self, env: Envelope) -> None:
        if not env.to:
            raise PermanentFailure("no_address")
        store(env)


def post_event(channel: str, reference: str, event: str, digits: str | None = None) -> int:
    """Post a provider event, signed as the provider signs it, to the events endpoint through the
    app's own WSGI stack (a fresh app context: its own session). Returns the HTTP status."""
    body = {"reference": reference, "event": event, "at": utcnow().isoformat()}
    if digits:
        body["digits"] = digits
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time()))
    secret = receipts.PROVIDER_SECRET[channel]() or ""
    app = current_app._get_current_object()
    with app.app_context():
        response = app.test_client().post(
            f"/api/v1/notify/providers/{channel}/events", data=raw, content_type="application/json",
            headers={receipts.TIMESTAMP_HEADER: timestamp,
                     receipts.SIGNATURE_HEADER: receipts.sign(secret, timestamp, raw)})
    return response.status_code


@bp.get("/")
def index():
    return render_template("notify/dev_phone_list.html", calls=received(), limit=LIST_LIMIT)


@bp.get("/<ref>")
def call(ref: str):
    record = one(ref)
    if record is None:
        abort(404)
    return render_template("notify/dev_phone_call.html", call=record, steps=steps(record),
                           digits=digits(record), repeat=request.args.get("repeat") == "1")


@bp.post("/<ref>")
def press(ref: str):
    record = one(ref)
    if record is None:
        abort(404)
    button = request.form.get("button", "")
    channel = record["channel"]
    state = record["state"]
    voice = channel == "voice"
    if voice and state == "ringing" and button in BEFORE:
        event, pressed = button, None
    elif voice and state == "answered" and button in digits(record):
        event, pressed = "keypress", button
    elif voice and state == "answered" and button == "hangup":
        event, pressed = None, None
    elif not voice and state == "ringing" and button in ("delivered", "undeliverable"):
        event, pressed = button, None
    else:
        abort(400)
    status = post_event(channel, ref, event, pressed) if event else 204
    if status != 204:
        flash(_("The portal refused the event (HTTP %(status)s).", status=status), "error")
        return redirect(url_for("devphone.call", ref=ref))
    record["events"].append({"button": button, "at": utcnow().isoformat()})
    if event in ("answered",):
        record["state"] = "answered"
    elif event in ("no_answer", "busy", "delivered", "undeliverable") or button == "hangup":
        record["state"] = "ended"
    _write(record)
    return redirect(url_for("devphone.call", ref=ref, repeat="1" if pressed == REPEAT_DIGIT else None))


def init_app(app) -> None:
    """Register ``/dev/phone`` where the sandbox is enabled, and give each channel whose provider
    is the sandbox a development secret when none is configured (never in production)."""
    if not settings.phone_sandbox_enabled(app):
        return
    app.register_blueprint(bp, url_prefix="/dev/phone")
    with app.app_context():
        for channel in PHONE_CHANNELS:
            if settings.phone_provider(channel) == "sandbox" and not receipts.PROVIDER_SECRET[channel]() \
                    and app.config.get("PORTAL_ENV") != "production":  # production: set your own
                app.config[receipts.PROVIDER_SECRET[channel].name] = DEV_SECRET
