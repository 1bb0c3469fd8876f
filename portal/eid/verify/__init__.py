"""Gate verification: a gate presents a card's token; the answer is granted or denied.

What the rest of the e-ID service calls is here; the parts are

- ``rules``: the reasons, what a gate displays for each, and the decision;
- ``gates``: which gate is asking (its key, the per-process gate cache);
- ``store``: the statements that use up a token id and log the decision (one check, or a
  batch of checks);
- ``group_commit``: many concurrent checks to one commit (the fast path on PostgreSQL);
- ``wsgi``: the fast path, which answers the verify call in front of Flask.

A check, in either path:

1. the verifier checks the token alone against the cached keys and the facility policy;
2. a token that would pass uses up its ``jti`` in the used-token table, and
3. one statement reads the card's status and writes the access-log row with the final
   decision (a revoked or suspended card is denied even if steps 1-2 passed);

2 and 3 commit together, and the gate is answered after that commit. The statements run under
``EID_VERIFY_STATEMENT_TIMEOUT_MS`` and ``EID_VERIFY_LOCK_TIMEOUT_MS``: a check the database
cannot write in time is told to try again (503 ``verify_unavailable``), never left waiting.
"""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from portal.eid import keys, schemas, settings
from portal.eid.errors import InvalidGateKey, VerifyUnavailable
from portal.eid.verify.gates import GateInfo, authenticate_gate, forget_gates, hash_gate_key
from portal.eid.verify.rules import REASON_MESSAGES, check_token, token_kid
from portal.eid.verify.store import purge_used_tokens, remember_and_log

__all__ = [
    "REASON_MESSAGES",
    "GateInfo",
    "InvalidGateKey",
    "VerifyUnavailable",
    "authenticate_gate",
    "forget_gates",
    "hash_gate_key",
    "purge_used_tokens",
    "verify_at_gate",
]


def verify_at_gate(session: Session, gate: GateInfo, token, now: float | None = None) -> dict:
    """Check a presented token at ``gate`` and log the decision (steps 1-3 above). Returns
    the gate's answer (``schemas.gate_answer``: no personal data). ``wsgi`` serves the same
    steps in front of Flask."""
    public = keys.public_keys(session, token_kid(token))
    now_s = time.time() if now is None else now
    reason, claims, sub = check_token(gate, token, public, settings.ISSUER(), now_s,
                                      settings.LEGACY_TOKENS())
    row = remember_and_log(session, gate, reason, claims, sub, now_s, timeouts=(
        settings.VERIFY_STATEMENT_TIMEOUT_MS(), settings.VERIFY_LOCK_TIMEOUT_MS()))
    return schemas.gate_answer(gate, claims, row.decision, row.reason, row.card_status,
                               str(REASON_MESSAGES[row.reason]))
