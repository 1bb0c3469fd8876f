"""Endorsing: once per resident with a voice (verified, address confirmed), withdrawn while open; the threshold sends a
proposal to staff review exactly once."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from portal.accounts import service as accounts
from portal.db import commit_keeping_loaded, insert_ignore
from portal.errors import DomainError, Unauthorized
from portal.types import utcnow

from .. import settings
from ..errors import NotOpen, OwnProposal
from ..models import Endorsement, Proposal
from .common import aware, find, notify_many, record_transition, uid


def _is_open(proposal: Proposal) -> bool:
    return proposal.status == "open" and aware(proposal.endorse_until) > utcnow()


def _can_endorse(user, proposal: Proposal) -> None:
    accounts.require_voice(user)
    if proposal.author_id == user.id:
        raise OwnProposal()
    if not _is_open(proposal):
        raise NotOpen()


def why_not_endorse(user, proposal: Proposal) -> str | None:
    """Why `user` may not endorse `proposal` now, as the code ``endorse`` would refuse with
    ("sign_in" for a visitor, "not_verified", "email_not_confirmed", "own_proposal",
    "not_open"); None when they may. The same check as ``endorse``, so a page that offers the
    button, or says why not, never disagrees with the rule; a closed window comes first (it
    holds for everyone: a visitor is not asked to sign in to a closed proposal)."""
    if not _is_open(proposal):
        return NotOpen.code
    try:
        _can_endorse(user, proposal)
    except Unauthorized:
        return "sign_in"
    except DomainError as exc:
        return exc.code
    return None


# Built once (each endorsement and withdrawal runs one): the count moves only while the
# proposal is open.
_COUNT_UP = (
    update(Proposal)
    .where(Proposal.id == bindparam("pid"), Proposal.status == "open", Proposal.endorse_until > bindparam("now"))
    .values(endorsement_count=Proposal.endorsement_count + 1)
    .returning(Proposal.endorsement_count)
    .execution_options(synchronize_session=False)
)
_COUNT_DOWN = (
    update(Proposal)
    .where(Proposal.id == bindparam("pid"), Proposal.status == "open")
    .values(endorsement_count=Proposal.endorsement_count - 1)
    .returning(Proposal.endorsement_count)
    .execution_options(synchronize_session=False)
)
_TAKE_BACK = (
    delete(Endorsement)
    .where(Endorsement.proposal_id == bindparam("pid"), Endorsement.user_id == bindparam("uid"))
    .execution_options(synchronize_session=False)
)


def endorse(session: Session, user, proposal_id) -> tuple[Proposal, bool]:
    """Endorse once. Returns (proposal, created); created is False if already endorsed."""
    proposal = find(session, user, proposal_id)
    _can_endorse(user, proposal)
    # Once per resident: UNIQUE(proposal_id, user_id) decides, ON CONFLICT DO NOTHING.
    inserted = insert_ignore(session, Endorsement, {
        "proposal_id": proposal.id, "user_id": user.id, "created_at": utcnow()})
    if not inserted:
        session.rollback()
        return find(session, user, proposal_id), False
    # The count moves in the same transaction as the row, and only while the proposal is open:
    # the row lock this UPDATE takes serialises the endorsers of one proposal until commit,
    # so the count is exact.
    count = session.execute(_COUNT_UP, {"pid": proposal.id, "now": utcnow()}).scalar()
    if count is None:  # closed or moved on between our read and our write
        session.rollback()
        raise NotOpen()
    moved = count >= settings.ENDORSEMENT_THRESHOLD() and reach_threshold(session, proposal)
    # The answer is the proposal as committed: RETURNING gave the count, the threshold's UPDATE
    # the status; no SELECT after the commit to reload it.
    commit_keeping_loaded(session)
    set_committed_value(proposal, "endorsement_count", count)
    if moved:
        set_committed_value(proposal, "status", "under_review")
        set_committed_value(proposal, "status_changed_at", moved)
    return proposal, True


def reach_threshold(session: Session, proposal: Proposal):
    """open -> under_review, and the author and endorsers told. Flushes; the caller commits.
    Returns when the status changed (truthy), or False when another transaction moved it."""
    threshold = settings.ENDORSEMENT_THRESHOLD()
    # Exactly once: of the transactions that pass the threshold, only one UPDATE finds the
    # row still `open`; its rowcount says who won.
    changed_at = session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id, Proposal.status == "open",
               Proposal.endorsement_count >= threshold)
        .values(status="under_review", status_changed_at=utcnow())
        .returning(Proposal.status_changed_at)
        .execution_options(synchronize_session=False)
    ).scalar()
    if changed_at is None:
        return False
    record_transition(session, proposal, "open", "under_review", None)
    endorsers = session.scalars(select(Endorsement.user_id).where(Endorsement.proposal_id == proposal.id))
    notify_many(session, "proposals.threshold_reached", [proposal.author_id, *endorsers],
                {"proposal_id": proposal.id, "title": proposal.title, "title_lang": proposal.lang,
                 "threshold": threshold},
                f"proposals.threshold_reached:{proposal.id}")
    return changed_at


def withdraw_endorsement(session: Session, user, proposal_id) -> Proposal:
    """Take an endorsement back while the proposal is open. Idempotent."""
    proposal = find(session, user, proposal_id)
    accounts.require_login(user)
    if proposal.status != "open":
        raise NotOpen()
    count = proposal.endorsement_count
    deleted = session.execute(_TAKE_BACK, {"pid": proposal.id, "uid": user.id}).rowcount
    if deleted:
        # Only the transaction that deleted the row takes one off, and only while open.
        count = session.execute(_COUNT_DOWN, {"pid": proposal.id}).scalar()
        if count is None:
            session.rollback()
            raise NotOpen()
    # The count as committed came back by RETURNING: no SELECT after the commit to reload it.
    commit_keeping_loaded(session)
    set_committed_value(proposal, "endorsement_count", count)
    return proposal


def has_endorsed(session: Session, user, proposal_id: int) -> bool:
    user_id = uid(user)
    return bool(user_id) and session.scalar(select(exists().where(
        Endorsement.proposal_id == proposal_id, Endorsement.user_id == user_id)))
