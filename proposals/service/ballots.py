"""The secret ballot: who voted (participation) is kept apart from what was voted (an
anonymous counter per choice); the result is shown only once the vote has ended."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from portal.accounts import service as accounts
from portal.db import insert_ignore
from portal.errors import Invalid
from portal.types import utcnow

from ..errors import AlreadyVoted, NotVoting
from ..models import BallotParticipation, BallotTally, Proposal
from ..vocabulary import CHOICES
from .common import aware, find, uid


def vote_ended(proposal: Proposal) -> bool:
    return proposal.vote_ends_at is not None and aware(proposal.vote_ends_at) <= utcnow()


def open_ballot(session: Session, proposal: Proposal) -> None:
    """The counters a vote counts on, one per choice, at zero (kept if they exist)."""
    for choice in CHOICES:
        insert_ignore(session, BallotTally, {"proposal_id": proposal.id, "choice": choice, "votes": 0})


def tally(session: Session, proposal: Proposal) -> dict | None:
    """The result, only once the vote has ended; None before (and for proposals never voted)."""
    if proposal.vote_ends_at is None or not vote_ended(proposal):
        return None
    rows = dict(session.execute(select(BallotTally.choice, BallotTally.votes).where(
        BallotTally.proposal_id == proposal.id)).all())
    return {choice: int(rows.get(choice, 0)) for choice in CHOICES}


def cast_ballot(session: Session, user, proposal_id, choice) -> None:
    """One secret ballot per verified resident: participation and tally are kept apart."""
    accounts.require_login(user)
    accounts.require_verified(user)
    if choice not in CHOICES:
        raise Invalid(fields={"choice": _l("Not one of the allowed values.")})
    proposal = find(session, user, proposal_id)
    if proposal.status != "voting" or vote_ended(proposal):
        raise NotVoting()
    # Once per voter: UNIQUE(proposal_id, user_id) on the participation row decides.
    if not insert_ignore(session, BallotParticipation, {"proposal_id": proposal.id, "user_id": user.id}):
        session.rollback()
        raise AlreadyVoted()
    # The anonymous counter moves in the same transaction, only while the vote is still open.
    still_open = exists().where(Proposal.id == proposal.id, Proposal.status == "voting",
                                Proposal.vote_ends_at > utcnow())
    counted = session.execute(
        update(BallotTally)
        .where(BallotTally.proposal_id == proposal.id, BallotTally.choice == choice, still_open)
        .values(votes=BallotTally.votes + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if counted != 1:
        session.rollback()
        raise NotVoting()
    session.commit()


def has_voted(session: Session, user, proposal_id: int) -> bool:
    user_id = uid(user)
    return bool(user_id) and session.scalar(select(exists().where(
        BallotParticipation.proposal_id == proposal_id, BallotParticipation.user_id == user_id)))
