"""What every e-ID use case shares: who runs the e-ID desk, and "now"."""

from __future__ import annotations

from datetime import datetime

from portal.accounts import roles
from portal.accounts.service import require_role
from portal.types import utcnow

# Who manages facilities, gates and cards (admin passes every role check).
DESK_ROLES = (roles.STAFF,)


def require_staff(user) -> None:
    """401 for anonymous, 403 unless ``user`` runs the e-ID desk (``DESK_ROLES``)."""
    require_role(user, *DESK_ROLES)


def now_or(now: datetime | None) -> datetime:
    return now or utcnow()
