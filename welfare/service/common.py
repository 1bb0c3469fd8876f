"""What every part of the welfare service shares: the city's calendar day and who runs welfare."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from portal.accounts.roles import WELFARE_OFFICER
from portal.accounts.service import require_role

SEOUL = ZoneInfo("Asia/Seoul")


def seoul_today() -> date:
    """Ages, future dates and programme periods are counted on the city's calendar day."""
    return datetime.now(SEOUL).date()


def require_officer(actor):
    """Programmes, the scan, imports and other residents' profiles are welfare officers' work
    (admin passes too): 401 for anonymous, 403 for everybody else."""
    return require_role(actor, WELFARE_OFFICER)


def is_officer(actor) -> bool:
    """The same rule as a question (for what officers see more of), anonymous included."""
    return bool(actor is not None and getattr(actor, "is_authenticated", False)
                and actor.has_role(WELFARE_OFFICER))
