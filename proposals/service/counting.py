"""The count: after a vote ends, open its sealed ballots with the private key, write the totals,
mark the vote counted and erase the key. Run by the beat task every minute and by
`flask --app portal proposals count-ballots`; never by a read.

Nothing per ballot is written: the ballots are read, opened in memory and added up; the count
writes one row per choice and one update of the ballot box. Each vote is counted in its own
transaction (so one vote that cannot be counted does not hold up the others)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from portal.types import utcnow

from ..models import BallotBox, BallotParticipation, BallotTally, Proposal, SealedBallot
from ..vocabulary import CHOICES
from .ballots import ballot_box
from .common import aware
from .sealing import BallotKeyError, open_private_key, unseal

log = logging.getLogger(__name__)


@dataclass
class CountReport:
    counted: list[int] = field(default_factory=list)  # proposal ids
    failed: dict[int, str] = field(default_factory=dict)  # proposal id -> why


class CountRefused(RuntimeError):
    """The ballots do not add up to the participants: nothing is counted (an operator looks)."""


def _count_one(session: Session, proposal_id: int, now: datetime) -> dict | None:
    """Count one vote; None if it is not due (counted meanwhile, or not ended). Flushes."""
    # FOR UPDATE on the proposal first: it waits for every ballot holding FOR SHARE (cast_ballot)
    # to commit, and ballots that come later see the vote counted. So no ballot is missed.
    proposal = session.scalars(select(Proposal).where(Proposal.id == proposal_id).with_for_update()
                               .execution_options(populate_existing=True)).first()
    box = ballot_box(session, proposal_id)  # read after the lock
    if (proposal is None or box is None or box.counted_at is not None or proposal.vote_ends_at is None
            or aware(proposal.vote_ends_at) > now):
        return None
    private = open_private_key(box.private_key_encrypted)
    totals = dict.fromkeys(CHOICES, 0)
    ballots = session.scalars(select(SealedBallot.sealed).where(SealedBallot.proposal_id == proposal_id)
                              .execution_options(yield_per=1000))
    for sealed in ballots:
        totals[unseal(private, sealed)] += 1
    voters = session.scalar(select(func.count()).select_from(BallotParticipation)
                            .where(BallotParticipation.proposal_id == proposal_id))
    if sum(totals.values()) != voters:
        raise CountRefused(f"{sum(totals.values())} sealed ballots for {voters} participants")
    session.execute(insert(BallotTally), [
        {"proposal_id": proposal_id, "choice": choice, "votes": votes} for choice, votes in totals.items()])
    # Counted, and the key erased: from now on nobody can open these ballots again, whoever
    # later copies the database together with the key-encryption secret.
    box.counted_at = now
    box.private_key_encrypted = None
    session.flush()
    return totals


def count_ended_votes(session: Session, now: datetime | None = None) -> CountReport:
    """Count every vote that has ended and is not counted. Commits once per vote."""
    now = now or utcnow()
    due = list(session.scalars(
        select(BallotBox.proposal_id).join(Proposal, Proposal.id == BallotBox.proposal_id)
        .where(BallotBox.counted_at.is_(None), Proposal.vote_ends_at <= now)
        .order_by(BallotBox.proposal_id)))
    report = CountReport()
    for proposal_id in due:
        try:
            totals = _count_one(session, proposal_id, now)
        except (BallotKeyError, CountRefused) as exc:
            session.rollback()
            log.error("proposal %s: ballots not counted: %s", proposal_id, exc)
            report.failed[proposal_id] = str(exc)
            continue
        session.commit()
        if totals is not None:
            report.counted.append(proposal_id)
    return report
