"""What a gate check decides: the reasons, what a gate displays for each, and the decision.

The order of the rules is the offline verifier's (``portal.eid.verifier``): the token alone
(form, key, signature, time), then the card's status, then the facility policy and replay.
Online, the token is checked in Python (``check_token``) and the card's status is read by the
statement that logs the decision (``decision_columns``, used by ``store``), so a card
suspended a moment ago is denied even with a token that passed.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import case

from portal.eid import presentation, verifier

REASON_MESSAGES = {
    "ok": _l("Welcome."),
    "malformed": _l("This is not a valid card code."),
    "bad_signature": _l("This card code is forged or damaged."),
    "expired": _l("This card code has expired. Please refresh the card."),
    "not_yet_valid": _l("This card code is not valid yet. Check the clock of the device."),
    "replayed": _l("This card code has already been used."),
    "revoked": _l("This card is no longer valid."),
    "suspended": _l("This card is suspended."),
    "unknown_key": _l("This card code was not issued by the city."),
    "policy": _l("This card does not give access to this facility."),
    "unbound": _l("This card code was not made on the card holder's phone."),
    "status_stale": _l("This gate's list of stopped cards is out of date. Please connect the gate."),
}

# Reasons the verifier decides from the token alone, before the card's status matters.
TOKEN_REASONS = ("malformed", "bad_signature", "unknown_key", "expired", "not_yet_valid", "unbound",
                 "status_stale")
# Of those, the ones where the token's claims cannot be trusted: no card is named.
UNSIGNED_REASONS = ("malformed", "bad_signature", "unknown_key")
# Reasons the card's status (read when the decision is logged) may still replace.
STATUS_DECIDES = ("ok", "replayed", "policy")


def token_kid(token) -> str | None:
    """The ``kid`` of a presentation's credential or a token's header, unverified (None when
    there is none to read)."""
    if isinstance(token, str) and token.startswith(presentation.PREFIX):
        return presentation.kid_of(token)
    if isinstance(token, str) and len(token) <= verifier.MAX_TOKEN_LENGTH:
        parsed = verifier.parse_unverified(token)
        if parsed is not None and isinstance(parsed[0].get("kid"), str):
            return parsed[0]["kid"]
    return None


def check_token(gate, token, public: dict, issuer: str, now_s: float,
                legacy: bool = True) -> tuple[str, dict, str | None]:
    """Step 1 of a gate check: the presentation (or, while ``legacy``, the server token) alone
    against the keys and the facility policy. Returns (reason, claims, sub); ``sub`` only once
    the signature checked out."""
    result = verifier.verify(token, public, policy=gate.policy, issuer=issuer, now=now_s,
                             legacy=legacy)
    claims = result.claims or {}
    sub = claims.get("sub") if result.reason not in UNSIGNED_REASONS else None
    return result.reason, claims, sub


def status_decides(given: str) -> bool:
    """Whether the card's status read by the log statement may still change the reason."""
    return given in STATUS_DECIDES


def decision_columns(card, at, given, status_decides):
    """(card_status, reason, decision) as SQL expressions over the outer-joined ``card`` row:
    the card's status at ``at``; the verifier's reason ``given`` when the token was denied on
    its own, else "revoked"/"suspended" per the card's status, else ``given`` ("ok",
    "replayed" or "policy"): the verifier's order, card status before policy and replay.
    ``status_decides`` is a Python bool (one statement per shape) or a boolean column.
    The decision is "granted" for "ok" only."""
    card_status = case(
        (card.c.id.is_(None), None),
        ((card.c.status == "active") & (card.c.expires_at <= at), "expired"),
        else_=card.c.status,
    )
    by_status = (
        (card.c.id.is_(None), "revoked"),
        (card_status == "suspended", "suspended"),
        (card_status != "active", "revoked"),
    )
    if status_decides is True:
        reason = case(*by_status, else_=given)
    elif status_decides is False:
        reason = given
    else:
        reason = case((status_decides.is_(False), given), *by_status, else_=given)
    decision = case((reason == "ok", verifier.GRANTED), else_=verifier.DENIED)
    return card_status, reason, decision
