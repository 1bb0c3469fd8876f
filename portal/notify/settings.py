"""The notification queue's settings: each read here, each with its only default (README lists
them).

All of them are also read from the environment when the app config does not have them
(``environ=True``), as the channels always did: a worker started from a bare environment sees
the same values as the web process. ``NOTIFY_SWEEP_INTERVAL`` is read before an app exists, from
``os.environ``, where the beat schedule is built (``tasks.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import current_app

from portal.settings import Setting, as_bool, as_str

from .models import PHONE_CHANNELS

# -- the queue -------------------------------------------------------------------------------

MAX_ATTEMPTS = Setting("NOTIFY_MAX_ATTEMPTS", 5, int, environ=True,
                       doc="attempts before a temporary failure becomes permanent")
STUCK_SECONDS = Setting("NOTIFY_STUCK_SECONDS", 300, int, minimum=1, environ=True,
                        doc="how long a notice may sit queued, or claimed by a worker that stopped renewing its "
                            "claim, before the sweep re-queues it")
BATCH_SIZE = Setting("NOTIFY_BATCH_SIZE", 200, int, minimum=1, environ=True,
                     doc="notice ids per delivery task")
RETRY_BASE_SECONDS = Setting("NOTIFY_RETRY_BASE_SECONDS", 30.0, float, environ=True,
                             doc="the first retry's delay; doubled per attempt")
RETRY_MAX_SECONDS = Setting("NOTIFY_RETRY_MAX_SECONDS", 3600.0, float, environ=True,
                            doc="the longest delay between two attempts")
SWEEP_INTERVAL = Setting("NOTIFY_SWEEP_INTERVAL", 60.0, float, environ=True,
                         doc="seconds between two sweeps (beat)")
# The shell's setting (portal.config); here it is the store the rate limits count in.
REDIS_URL = Setting("REDIS_URL", None, as_str, environ=True)


def _secrets(value: Any) -> tuple:
    """A list in the app config, or secrets separated by white space in the environment."""
    return tuple(value) if isinstance(value, list | tuple) else tuple(str(value).split())


# The shell's SECRET_KEY (portal.config): sealed parts of notices and the references that
# providers and logs see are keyed by it (portal.notify.sealing). SECRET_KEY_FALLBACKS
# (Flask's name): earlier keys, which still open what they sealed after SECRET_KEY changed.
SECRET_KEY = Setting("SECRET_KEY", None, str)
SECRET_KEY_FALLBACKS = Setting("SECRET_KEY_FALLBACKS", (), _secrets, environ=True,
                               doc="earlier SECRET_KEYs, white-space separated: they still open sealed notices")


def _per_channel(name: str, defaults: dict[str, Any], parse: Callable[[Any], Any]) -> dict[str, Setting]:
    """One setting per channel: ``name`` with ``{CHANNEL}`` replaced by ``SMS``, ``VOICE``, ..."""
    return {channel: Setting(name.format(CHANNEL=channel.upper()), default, parse, environ=True)
            for channel, default in defaults.items()}


def _lower(value: Any) -> str:
    return str(value).lower()


# notices per second, shared by every worker; 0 = unlimited
RATE_LIMIT = _per_channel("NOTIFY_RATE_LIMIT_{CHANNEL}", {"app": 0, "email": 50, "sms": 200, "voice": 20}, int)

# -- e-mail (SMTP) ---------------------------------------------------------------------------

MAIL_SERVER = Setting("MAIL_SERVER", "localhost", as_str, environ=True)
MAIL_PORT = Setting("MAIL_PORT", 25, int, environ=True)
MAIL_USERNAME = Setting("MAIL_USERNAME", None, as_str, environ=True)
MAIL_PASSWORD = Setting("MAIL_PASSWORD", None, str, environ=True)  # str: spaces are the password's
MAIL_USE_TLS = Setting("MAIL_USE_TLS", False, as_bool, environ=True)
MAIL_FROM = Setting("MAIL_FROM", "noreply@portal.local", as_str, environ=True)
MAIL_TIMEOUT = Setting("MAIL_TIMEOUT", 10.0, float, environ=True,
                       doc="seconds to wait for the mail server to connect or answer (at most a quarter of NOTIFY_STUCK_SECONDS)")

# Where e-mail goes: "smtp" (MAIL_SERVER) or "catch" (kept in MAIL_CATCH_DIR and readable at
# /dev/mail, for development). Unset: see mail_provider().
MAIL_PROVIDER = Setting("MAIL_PROVIDER", None, _lower, environ=True,
                        doc="smtp | catch; unset: catch in development (PORTAL_ENV=development) unless MAIL_SERVER "
                            "is set, smtp otherwise")
MAIL_CATCH_DIR = Setting("MAIL_CATCH_DIR", None, as_str, environ=True,
                         doc="the folder caught mails are kept in (default: dev-mail in the instance folder)")


def mail_provider() -> str:
    """``smtp`` or ``catch``: MAIL_PROVIDER when it says one of them; otherwise mail is caught in
    development when no MAIL_SERVER was given (``make run`` has no mail server: every mail
    would fail), except under tests (they bring their own SMTP server or read the outbox)."""
    chosen = MAIL_PROVIDER()
    if chosen in ("smtp", "catch"):
        return chosen
    development = current_app.config.get("PORTAL_ENV") == "development" and not current_app.testing
    server_given = bool(current_app.config.get(MAIL_SERVER.name) or os.environ.get(MAIL_SERVER.name))
    return "catch" if development and not server_given else "smtp"


# -- SMS and voice providers: <CHANNEL>_PROVIDER = log | http | sandbox -----------------------

# unset: see phone_provider()
PROVIDER = _per_channel("{CHANNEL}_PROVIDER", dict.fromkeys(PHONE_CHANNELS), _lower)
PROVIDER_URL = _per_channel("{CHANNEL}_PROVIDER_URL", dict.fromkeys(PHONE_CHANNELS), as_str)
PROVIDER_KEY = _per_channel("{CHANNEL}_PROVIDER_KEY", dict.fromkeys(PHONE_CHANNELS, ""), str)
PROVIDER_TIMEOUT = _per_channel("{CHANNEL}_PROVIDER_TIMEOUT", dict.fromkeys(PHONE_CHANNELS, 10.0), float)
PHONE_SANDBOX = Setting("NOTIFY_PHONE_SANDBOX", None, as_bool, environ=True,
                        doc="the sandbox telephone (/dev/phone, VOICE_PROVIDER=sandbox): unset, on in development "
                            "only; on in production only when set explicitly")


def phone_sandbox_enabled(app=None) -> bool:
    """NOTIFY_PHONE_SANDBOX when set; otherwise on in development (PORTAL_ENV=development) only."""
    app = app or current_app
    enabled = app.config.get(PHONE_SANDBOX.name)
    if enabled is None and os.environ.get(PHONE_SANDBOX.name) is not None:
        enabled = os.environ[PHONE_SANDBOX.name]
    if enabled is None:
        return app.config.get("PORTAL_ENV") == "development"
    return as_bool(enabled)


def phone_provider(channel: str) -> str:
    """``log``, ``http`` or ``sandbox`` for an SMS or voice channel: <CHANNEL>_PROVIDER when it
    says one of them (``sandbox`` only while the sandbox is enabled: otherwise ``off``, which
    sends nothing); unset, ``sandbox`` in development (not under tests) like ``catch`` for mail,
    ``log`` otherwise."""
    chosen = PROVIDER[channel]()
    if chosen == "sandbox":
        return chosen if phone_sandbox_enabled() else "off"
    if chosen in ("log", "http"):
        return chosen
    if phone_sandbox_enabled() and not current_app.testing \
            and current_app.config.get("PORTAL_ENV") == "development":
        return "sandbox"
    return "log"


# the `log` provider: JSON lines in this file (None: notify.log in the instance folder); the
# subject and text only when asked for
LOG_FILE = Setting("NOTIFY_LOG_FILE", None, as_str, environ=True)
LOG_INCLUDE_TEXT = Setting("NOTIFY_LOG_INCLUDE_TEXT", False, as_bool, environ=True)

# voice flows (portal.notify.flows): the district (a portal.places code) a call greets with
CITY = Setting("NOTIFY_CITY", "seongdong", as_str, environ=True,
               doc="the district (portal.places code) whose name voice calls greet the resident with")

# -- quiet hours (issue 16): when voice calls and SMS are not handed to a provider ------------


def _time_of_day(value: Any) -> str:
    """``HH:MM`` (24-hour clock) as given, or ``off``; anything else does not parse (and the
    setting falls back to its default). The pair is checked by
    :func:`portal.notify.service.quiet.window`."""
    text = str(value).strip().lower()
    if text == "off":
        return text
    hours, sep, minutes = text.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(f"not HH:MM: {value!r}")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"not a time of day: {value!r}")
    return text


QUIET_START = Setting("NOTIFY_QUIET_START", "20:00", _time_of_day, environ=True,
                      doc="HH:MM, Asia/Seoul: from then on no voice call or SMS is handed to a provider "
                          "(off: no quiet hours)")
QUIET_END = Setting("NOTIFY_QUIET_END", "09:00", _time_of_day, environ=True,
                    doc="HH:MM, Asia/Seoul: the end of the quiet hours, when held calls and SMS go out "
                        "(off: no quiet hours)")
