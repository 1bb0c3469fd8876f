"""Delivery channels behind one small interface.

A channel takes a list of :class:`Envelope` (one rendered notice each) and answers, per message
id, ``None`` when the provider accepted it or a :class:`DeliveryError` saying whether trying
again later could help.  Every provider is handed the notice's reference (HTTP header
``Idempotency-Key``, e-mail ``Message-ID``, a field of the log line), the same on every attempt:
the one send that can be repeated (the one in flight when its worker died) reaches the provider
as the same notice, which a provider keyed on it drops and a mail reader recognises.  The
reference is a keyed hash of the idempotency key (:func:`portal.notify.sealing.reference`): a
key such as ``welfare:<programme>:<user id>`` says who qualifies for what, and never leaves the
outbox.

A channel either sends one notice at a time over the network (SMTP, HTTP: the delivery loop
renews its claim before each send, :mod:`portal.notify.service.claims`) or takes a whole batch
in one local step (``batched``: the inbox, the ``log`` provider). A channel that cannot be
reached raises :class:`ChannelDown`: the rest of the batch waits for a later retry instead of
each notice waiting out its own timeout.

Configuration (``portal.notify.settings``, read from the app config, else the environment):

- e-mail: ``MAIL_SERVER``, ``MAIL_PORT``, ``MAIL_USERNAME``, ``MAIL_PASSWORD``,
  ``MAIL_USE_TLS``, ``MAIL_FROM``, ``MAIL_TIMEOUT``; ``MAIL_PROVIDER=catch`` (the default in
  development without a ``MAIL_SERVER``) keeps mails for ``/dev/mail`` instead;
- SMS / voice: ``SMS_PROVIDER`` = ``log`` | ``http`` | ``sandbox``, ``SMS_PROVIDER_URL``,
  ``SMS_PROVIDER_KEY`` (same with ``VOICE_``); ``sandbox`` (the default in development) keeps
  calls and texts for ``/dev/phone`` (:mod:`portal.notify.devphone`); the ``log`` provider
  appends JSON lines to ``NOTIFY_LOG_FILE`` (default ``instance/notify.log``), with the text
  only when ``NOTIFY_LOG_INCLUDE_TEXT`` is on.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import smtplib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import requests
from flask import current_app

from portal.types import utcnow

from . import flows, settings
from .limits import ERROR_CODE_MAX
from .models import PHONE_CHANNELS


class DeliveryError(Exception):
    """A delivery did not happen.  ``code`` is a short machine code, never personal data."""

    temporary = True

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code[:ERROR_CODE_MAX]


class TemporaryFailure(DeliveryError):
    temporary = True


class PermanentFailure(DeliveryError):
    temporary = False


class ChannelDown(TemporaryFailure):
    """The provider did not answer (refused, timed out, hung up): this notice is tried again
    later, and so is the rest of its batch, untried now."""


def connect_timeout(timeout: float) -> float:
    """Seconds to wait for a provider to connect (and, for SMTP, to answer a command): at most a
    quarter of the stuck timeout, so that a provider that is down costs a batch little."""
    return max(0.1, min(timeout, settings.STUCK_SECONDS() / 4))


@dataclass
class Envelope:
    message_id: int
    reference: str  # the keyed hash of the idempotency key, the same on every attempt
    channel: str
    attempt: int
    locale: str
    to: str | None
    subject: str
    body: str
    voice: str | None = None
    flow: dict | None = None  # a voice notice's conversation (portal.notify.flows), for voice only

    @property
    def text(self) -> str:
        """What a phone provider reads out or shows: the call script for voice."""
        if self.channel == "voice" and self.voice:
            return self.voice
        return self.body


Results = dict[int, DeliveryError | None]


def mask(address: str | None) -> str | None:
    """Enough of an address to tell two apart in a development log, not enough to use it."""
    if not address:
        return None
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"***{address[-4:]}"


class Channel:
    name = "?"
    batched = False  # True: deliver_many takes a whole batch in one local step (no network)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Channel]:
        """What a batch's sends share (an SMTP connection, an HTTP session)."""
        yield self

    def deliver_many(self, envelopes: list[Envelope]) -> Results:
        return {env.message_id: self._safe(env) for env in envelopes}

    def _safe(self, env: Envelope) -> DeliveryError | None:
        try:
            self.deliver(env)
        except DeliveryError as exc:
            return exc
        return None

    def deliver(self, env: Envelope) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class AppChannel(Channel):
    """The resident's in-portal inbox: the outbox row *is* the inbox entry."""

    name = "app"
    batched = True

    def deliver(self, env: Envelope) -> None:
        return None


def message_id_header(reference: str, sender: str) -> str:
    domain = sender.rpartition("@")[2].strip("> ") or "portal.local"
    return f"<notify.{reference}@{domain}>"


def compose(env: Envelope, sender: str) -> EmailMessage:
    """The e-mail of a notice, as the mail server (or the development catcher) receives it."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = env.to
    mail["Subject"] = env.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id_header(env.reference, sender)
    mail["Content-Language"] = env.locale
    mail.set_content(env.body)
    return mail


class EmailChannel(Channel):
    """Real SMTP; one connection per batch, opened at its first mail.

    Every message carries a ``Message-ID`` made from the notice's reference, the same on every
    attempt: a mail sent again after a worker died is recognisably the same mail. A server that
    refuses, hangs (``MAIL_TIMEOUT``, at most a quarter of ``NOTIFY_STUCK_SECONDS``) or hangs up
    is :class:`ChannelDown`: the batch's other mails wait for the retry. A refused recipient or
    sender (an SMTP reply code) fails that mail only.
    """

    name = "email"

    def __init__(self):
        self.server = settings.MAIL_SERVER()
        self.port = settings.MAIL_PORT()
        self.username = settings.MAIL_USERNAME()
        self.password = settings.MAIL_PASSWORD()
        self.use_tls = settings.MAIL_USE_TLS()
        self.sender = settings.MAIL_FROM()
        self.timeout = connect_timeout(settings.MAIL_TIMEOUT())
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.server, self.port, timeout=self.timeout)
        if self.use_tls:
            smtp.starttls()
        if self.username:
            smtp.login(self.username, self.password or "")
        return smtp

    def _email(self, env: Envelope) -> EmailMessage:
        return compose(env, self.sender)

    @contextlib.contextmanager
    def connection(self) -> Iterator[EmailChannel]:
        try:
            yield self
        finally:
            self._drop(quit=True)

    def _drop(self, quit: bool = False) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            smtp.quit() if quit else smtp.close()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def deliver(self, env: Envelope) -> None:
        if not env.to:
            raise PermanentFailure("no_address")
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            self.smtp.send_message(self._email(env))
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
            error = _smtp_error(exc)
            if isinstance(exc, smtplib.SMTPConnectError) or error.code == "smtp_421":
                self._drop()  # "service not available": the server is closing on us
                raise ChannelDown(error.code) from None
            raise error from None
        except (OSError, smtplib.SMTPException):  # refused, timed out, hung up
            self._drop()
            raise ChannelDown("smtp_unavailable") from None


def _smtp_error(exc: Exception) -> DeliveryError:
    code = None
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        code = codes[0] if codes else None
    elif isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
    if code is None:
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return PermanentFailure("smtp_auth")
        return TemporaryFailure("smtp_unavailable")
    if 500 <= code < 600:
        return PermanentFailure(f"smtp_{code}")
    return TemporaryFailure(f"smtp_{code}")


class HttpProvider(Channel):
    """An SMS or voice-call provider behind an HTTP API.

    ``POST <URL>`` with JSON ``{"to", "text", "locale", "channel", "reference"}`` (and, for a
    voice call that is a conversation, ``"flow"``: :mod:`portal.notify.flows`), headers
    ``Authorization: Bearer <KEY>`` and ``Idempotency-Key`` (the notice's reference, the same on
    every attempt).  2xx: accepted; 409: the provider already has a notice with this
    idempotency key (accepted earlier); 408, 429 and 5xx, or no answer within
    ``<CHANNEL>_PROVIDER_TIMEOUT``: try again later; any other 4xx: permanent. Not reachable
    (refused, no connection within a quarter of the stuck timeout, hung up): :class:`ChannelDown`.
    """

    def __init__(self, name: str):
        self.name = name
        self.url = settings.PROVIDER_URL[name]()
        self.key = settings.PROVIDER_KEY[name]()
        self.timeout = settings.PROVIDER_TIMEOUT[name]()
        self.http: requests.Session | None = None

    @contextlib.contextmanager
    def connection(self) -> Iterator[HttpProvider]:
        with requests.Session() as http:
            self.http = http
            try:
                yield self
            finally:
                self.http = None

    def deliver(self, env: Envelope) -> None:
        if not self.url:
            raise PermanentFailure("provider_not_configured")
        if not env.to:
            raise PermanentFailure("no_address")
        payload = {
            "to": env.to,
            "text": env.text,
            "locale": env.locale,
            "channel": self.name,
            "reference": env.reference,
        }
        if self.name == "voice" and env.flow:
            payload["flow"] = env.flow  # the steps with their SSML and menu (issue 16)
        try:
            response = (self.http or requests).post(
                self.url,
                json=payload,
                headers={
                    "Authorization": f"Bearer {self.key}",
                    "Idempotency-Key": env.reference,
                },
                # connecting: briefly; an answer may take the whole PROVIDER_TIMEOUT (the claim
                # of a send in flight is kept alive meanwhile)
                timeout=(connect_timeout(self.timeout), self.timeout),
            )
        except requests.ConnectionError:  # refused, not reachable in time, hung up
            raise ChannelDown("provider_unreachable") from None
        except (OSError, requests.RequestException):  # it has the request but did not answer in time
            raise TemporaryFailure("provider_unreachable") from None
        status = response.status_code
        if 200 <= status < 300 or status == 409:  # 409: it already has this idempotency key
            return None
        if status in (408, 425, 429) or status >= 500:
            raise TemporaryFailure(f"http_{status}")
        raise PermanentFailure(f"http_{status}")


class LogProvider(Channel):
    """Development provider: one JSON line per notice in ``NOTIFY_LOG_FILE``: the message id, its
    reference (never the idempotency key), the masked address, and the subject and text only
    with ``NOTIFY_LOG_INCLUDE_TEXT``.

    It honours the reference like a real provider would: under an exclusive file lock it reads
    what other processes appended since it last looked, and skips a reference it has already
    written, so a notice re-sent after a worker died shows up once.
    """

    batched = True
    _seen: dict[str, tuple[int, int, set[str]]] = {}  # path -> (inode, offset, references)
    _lock = threading.Lock()

    def __init__(self, name: str):
        self.name = name
        path = settings.LOG_FILE() or os.path.join(current_app.instance_path, "notify.log")
        self.path = os.path.abspath(path)
        self.include_text = settings.LOG_INCLUDE_TEXT()

    def _catch_up(self, fh) -> set[str]:
        stat = os.fstat(fh.fileno())
        inode, offset, keys = self._seen.get(self.path, (stat.st_ino, 0, set()))
        if inode != stat.st_ino or offset > stat.st_size:  # rotated or truncated
            inode, offset, keys = stat.st_ino, 0, set()
        if offset < stat.st_size:
            fh.seek(offset)
            data = fh.read()
            end = data.rfind(b"\n") + 1
            for line in data[:end].splitlines():
                try:
                    keys.add(json.loads(line)["reference"])
                except (ValueError, KeyError, TypeError):
                    continue
            offset += end
        self._seen[self.path] = (inode, offset, keys)
        return keys

    def deliver_many(self, envelopes: list[Envelope]) -> Results:
        if not envelopes:
            return {}
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        results: Results = {}
        lines = []
        with self._lock, open(self.path, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                keys = self._catch_up(fh)
                now = utcnow().isoformat()
                for env in envelopes:
                    results[env.message_id] = None
                    if env.channel != "app" and not env.to:
                        results[env.message_id] = PermanentFailure("no_address")
                        continue
                    if env.reference in keys:
                        continue  # already handed over once: a provider would drop it too
                    keys.add(env.reference)
                    record = {
                        "ts": now,
                        "channel": env.channel,
                        "message_id": env.message_id,
                        "reference": env.reference,
                        "attempt": env.attempt,
                        "locale": env.locale,
                        "to": mask(env.to),
                    }
                    if env.channel == "voice" and env.flow:
                        record["flow"] = flows.step_ids(env.flow)  # the words name the programme
                    if self.include_text:
                        record["subject"] = env.subject
                        record["text"] = env.text
                    lines.append(json.dumps(record, ensure_ascii=False) + "\n")
                if lines:
                    fh.seek(0, os.SEEK_END)
                    fh.write("".join(lines).encode())
                    fh.flush()
                    os.fsync(fh.fileno())
                    inode, _, _ = self._seen[self.path]
                    self._seen[self.path] = (inode, fh.tell(), keys)
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return results


class CatchMail(Channel):
    """Development e-mail (``MAIL_PROVIDER=catch``, the default of ``make run``): each mail is
    kept as a file in ``MAIL_CATCH_DIR`` and read at ``/dev/mail`` (:mod:`portal.notify.devmail`),
    links and all, instead of going to a mail server. A caught mail counts as sent. A notice
    sent again (same reference) replaces its file: it shows up once."""

    name = "email"
    batched = True

    def __init__(self):
        self.sender = settings.MAIL_FROM()

    def deliver_many(self, envelopes: list[Envelope]) -> Results:
        from . import devmail

        results: Results = {}
        for env in envelopes:
            if not env.to:
                results[env.message_id] = PermanentFailure("no_address")
                continue
            devmail.store(env.reference, compose(env, self.sender))
            results[env.message_id] = None
        return results


def get_channel(name: str) -> Channel:
    if name == "app":
        return AppChannel()
    if name == "email":
        return CatchMail() if settings.mail_provider() == "catch" else EmailChannel()
    if name in PHONE_CHANNELS:
        provider = settings.phone_provider(name)
        if provider == "http":
            return HttpProvider(name)
        if provider == "sandbox":
            from .devphone import SandboxPhone

            return SandboxPhone(name)
        if provider == "off":  # VOICE_PROVIDER=sandbox where the sandbox is not enabled
            raise PermanentFailure("provider_not_configured")
        return LogProvider(name)
    raise PermanentFailure("unknown_channel")
