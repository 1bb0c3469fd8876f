"""The e-ID rules, by concern. Views, the API, tasks, the CLI, bench/ and tests call these.

Every use case takes the session (and the acting user where a person acts), checks what
that user may do, and either commits one unit of work in the function named here (the steps
it calls only flush) or raises a domain error (``portal.eid.errors``; nothing committed).
Reads never write.

- cards: a resident's card, its status, expiry, the day's limit of cards issued;
- tokens: the short-lived signed token for the card's QR;
- holders: what a card attests of its holder (verified facts only), and the holder's cards
  revoked when their register entry is released (``revoke_on_release``);
- staff_cards: the desk finds, suspends and resumes cards;
- status: the status document, the published keys, key rotation and the first key;
- facilities: facilities, opening hours and access policy;
- gates: registering and switching off gates;
- access_log: where a resident's card was used;
- common: who runs the desk, "now".

Gate checks are ``portal.eid.verify``; its public names are re-exported here too.
"""

from portal.eid.models import Facility, Gate
from portal.eid.verify import (
    REASON_MESSAGES,
    GateInfo,
    VerifyUnavailable,
    authenticate_gate,
    purge_used_tokens,
    verify_at_gate,
)

from .access_log import ACCESS_LOG_ORDER, DECISION_LABELS, access_log_stmt
from .cards import (
    STATUS_LABELS,
    LostReport,
    expire_cards,
    issue_card,
    issue_wait,
    live_card,
    my_card,
    report_lost,
    revoke_my_card,
    shown_status,
)
from .common import require_staff
from .credentials import IssuedCredential, issue_credential
from .facilities import (
    KIND_LABELS,
    FacilityInput,
    create_facility,
    facilities_stmt,
    format_opening_hours,
    get_facility,
    parse_opening_hours,
    update_facility,
)
from .gates import create_gate, deactivate_gate
from .holders import Holder, holder_facts, revoke_on_release
from .staff_cards import check_card_id, find_cards, resume_card, suspend_card
from .status import ensure_signing_key, fernet, jwks, rotate_key, status_document, status_list
from .tokens import ages_met, card_token, sign_token, token_claims

__all__ = [
    "ACCESS_LOG_ORDER",
    "DECISION_LABELS",
    "KIND_LABELS",
    "REASON_MESSAGES",
    "STATUS_LABELS",
    "Facility",
    "FacilityInput",
    "Gate",
    "GateInfo",
    "Holder",
    "IssuedCredential",
    "LostReport",
    "VerifyUnavailable",
    "access_log_stmt",
    "ages_met",
    "authenticate_gate",
    "card_token",
    "create_facility",
    "create_gate",
    "deactivate_gate",
    "ensure_signing_key",
    "expire_cards",
    "facilities_stmt",
    "fernet",
    "check_card_id",
    "find_cards",
    "format_opening_hours",
    "get_facility",
    "holder_facts",
    "issue_card",
    "issue_credential",
    "issue_wait",
    "jwks",
    "live_card",
    "my_card",
    "parse_opening_hours",
    "purge_used_tokens",
    "report_lost",
    "require_staff",
    "resume_card",
    "revoke_my_card",
    "revoke_on_release",
    "rotate_key",
    "shown_status",
    "sign_token",
    "status_document",
    "status_list",
    "suspend_card",
    "token_claims",
    "update_facility",
    "verify_at_gate",
]
