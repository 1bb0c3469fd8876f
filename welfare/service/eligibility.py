"""Eligibility of one person: the resident's own, and the anonymous screener. Both read only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from portal.accounts.service import require_login
from portal.errors import Invalid
from welfare import rules
from welfare.models import Programme, WelfareProfile
from welfare.service.common import seoul_today
from welfare.service.profiles import profile_of
from welfare.service.programmes import active_programmes
from welfare.service.values import normalise_answers


@dataclass
class Eligibility:
    programme: Programme
    eligible: bool
    explanation: str


def eligibility_for_facts(session: Session, facts: rules.Facts, today: date | None = None,
                          only_eligible: bool = True) -> list[Eligibility]:
    """Evaluate every active programme for `facts`. Writes nothing (the screener uses this)."""
    today = today or seoul_today()
    out = []
    for prog in active_programmes(session, today):
        ok, text = rules.explain(prog.rules, facts)
        if ok or not only_eligible:
            out.append(Eligibility(prog, ok, text))
    return out


def my_eligibility(session: Session, actor, today: date | None = None) -> tuple[WelfareProfile | None,
                                                                                list[Eligibility]]:
    require_login(actor)
    today = today or seoul_today()
    profile = profile_of(session, actor.id)
    if profile is None:
        return None, []
    return profile, eligibility_for_facts(session, rules.Facts.from_profile(profile, today), today)


def screen(session: Session, data: dict, today: date | None = None) -> list[Eligibility]:
    """The anonymous self-check: same rules, nothing stored. `data` gives ages, not dates."""
    facts, errors = normalise_answers(data)
    if errors:
        raise Invalid(fields=errors)
    return eligibility_for_facts(session, rules.Facts(**facts), today)
