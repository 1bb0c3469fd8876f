"""The e-ID settings: each read here, each with its only default (``portal.settings``)."""

from __future__ import annotations

import re

from portal.eid import verifier
from portal.settings import Setting


def _ages(raw) -> tuple[int, ...]:
    """``"14,19,65"`` (or ``"14 19 65"``, or a list) -> ``(14, 19, 65)``, sorted, no repeats."""
    if isinstance(raw, str):
        raw = [p for p in re.split(r"[,\s]+", raw) if p]
    ages = tuple(sorted({int(v) for v in raw}))
    if not ages:
        raise ValueError("no age thresholds")
    return ages


def _switch(raw) -> bool:
    """On unless it says off: ``0``, ``false``, ``no`` or ``off`` (any case) switch it off."""
    if isinstance(raw, str):
        return raw.strip().lower() not in {"0", "false", "no", "off", ""}
    return bool(raw)


# The ``iss`` claim of card tokens (and the issuer a gate check expects).
ISSUER = Setting("EID_ISSUER", "https://portal.example.kr", str)
# Token lifetime in seconds: never more than the verifier accepts.
TOKEN_SECONDS = Setting("EID_TOKEN_SECONDS", verifier.MAX_LIFETIME, int,
                        minimum=5, maximum=verifier.MAX_LIFETIME)
CARD_VALID_DAYS = Setting("EID_CARD_VALID_DAYS", 5 * 365, int, minimum=1)
# Cards a resident may have issued in any 24 hours (a first card, a new one after a revocation,
# a report of loss): counted from the cards table, so it holds across restarts and processes.
# Every card issued ends up in the public status document once revoked; this bounds how fast a
# resident can grow it. Staff actions (suspend, resume) issue no card and are not counted.
CARD_ISSUES_PER_DAY = Setting("EID_CARD_ISSUES_PER_DAY", 3, int, minimum=1)
# The ages a token can attest ("age_over") and facility age rules may use.
AGE_THRESHOLDS = Setting("EID_AGE_THRESHOLDS", (14, 19, 65), _ages)
# Encrypts the signing keys at rest; empty means SECRET_KEY (``key_encryption_secret``).
KEY_ENCRYPTION_KEY = Setting("EID_KEY_ENCRYPTION_KEY", "", str)
# Gate checks answered in front of Flask (``portal.eid.verify.wsgi``).
VERIFY_FAST_PATH = Setting("EID_VERIFY_FAST_PATH", True, _switch)
# Gates accept the server-signed tokens of before the card lived on the phone (``/eid/qr``, the
# page's fallback on browsers without WebCrypto) until this is switched off (``0``); then such a
# token is denied as ``unbound``.
LEGACY_TOKENS = Setting("EID_LEGACY_TOKENS", True, _switch)
# A device-bound credential lives this many seconds (at most a day): a phone without signal
# shows valid codes until then.
CREDENTIAL_SECONDS = Setting("EID_CREDENTIAL_SECONDS", 24 * 3600, int, minimum=300, maximum=24 * 3600)
# Phones a card's credential may be live on at once (a new one past this is refused until a
# credential expires or the card is reported lost).
DEVICES_PER_CARD = Setting("EID_DEVICES_PER_CARD", 3, int, minimum=1, maximum=20)
# A gate check is answered or told to try again (503 ``verify_unavailable``) within about this
# many seconds, never left waiting: the longest a check waits for the statement that writes it
# (its own or the one of the checks before it in the fast path's group commit).
VERIFY_WAIT_SECONDS = Setting("EID_VERIFY_WAIT_SECONDS", 5.0, float, minimum=1.0, maximum=60.0)
# PostgreSQL's statement_timeout and lock_timeout (milliseconds) for the statements of a gate
# check, in both paths: a statement stuck behind a lock or a slow disk is cancelled by the
# server, so that the connection is free for the next check.
VERIFY_STATEMENT_TIMEOUT_MS = Setting("EID_VERIFY_STATEMENT_TIMEOUT_MS", 2000, int,
                                      minimum=100, maximum=60_000)
VERIFY_LOCK_TIMEOUT_MS = Setting("EID_VERIFY_LOCK_TIMEOUT_MS", 1000, int, minimum=50,
                                 maximum=60_000)


def key_encryption_secret(config=None) -> str:
    """The secret the signing keys are encrypted with: EID_KEY_ENCRYPTION_KEY, else SECRET_KEY."""
    from flask import current_app

    config = current_app.config if config is None else config
    return KEY_ENCRYPTION_KEY.get(config) or config["SECRET_KEY"]


# The status list (``GET /api/v1/eid/status-list``, draft-ietf-oauth-status-list): its ``exp``
# is this many seconds after its ``iat``, so an offline gate must sync at least this often (a
# gate refuses a list past its ``exp`` as ``status_stale``) ...
STATUS_LIST_VALID_SECONDS = Setting("EID_STATUS_LIST_VALID_SECONDS", 86400, int, minimum=60)
# ... and its ``ttl``: how long a gate may use its copy before asking for a new one.
STATUS_LIST_TTL_SECONDS = Setting("EID_STATUS_LIST_TTL_SECONDS", 300, int, minimum=1)
