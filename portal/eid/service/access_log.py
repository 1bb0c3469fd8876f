"""Where and when a resident's card was used (their own access log)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.service import require_verified
from portal.eid.models import AccessEntry, Card

DECISION_LABELS = {"granted": _l("Granted"), "denied": _l("Denied")}

ACCESS_LOG_ORDER = ((AccessEntry.at, "desc"), (AccessEntry.id, "desc"))


def access_log_stmt(user):
    """The holder's own entries, over every card they held (newest first: ``ACCESS_LOG_ORDER``)."""
    require_verified(user)
    return select(AccessEntry).join(Card, Card.id == AccessEntry.card_id).where(Card.user_id == user.id)
