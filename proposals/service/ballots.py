"""The secret ballot, two envelopes as in postal voting.

Casting writes, in one transaction (so no vote is lost and none is counted twice), the outer
envelope (``BallotParticipation``: who voted) and the inner one (``SealedBallot``: the choice
sealed with the vote's public key, service/sealing.py). Nothing else: no counter, no
timestamp, no serial, no column of the proposal; both choices run the same statements and write
rows of the same lengths. A reader of the database (tables, old row versions, WAL, backups) who
links the two envelopes by their transaction id holds a ciphertext, not a choice.

The count (service/counting.py) opens the ballots with the private key once the vote has ended,
writes the totals, and erases the key. Until then ``tally`` is None and the receipts are secret.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, LargeBinary, String, bindparam, exists, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from portal.accounts import service as accounts
from portal.api import paginate
from portal.db import insert_ignore
from portal.errors import DomainError, Invalid, Unauthorized
from portal.types import utcnow

from ..errors import AlreadyVoted, NotCounted, NotVoting
from ..limits import RECEIPT_LENGTH, RECEIPTS_PAGE_SIZE
from ..models import BallotBox, BallotParticipation, BallotTally, Proposal, SealedBallot
from ..vocabulary import CHOICES
from .common import aware, find, proposal_id_of, seen_by, uid
from .sealing import new_key_pair, receipt_of, seal


def vote_ended(proposal: Proposal) -> bool:
    return proposal.vote_ends_at is not None and aware(proposal.vote_ends_at) <= utcnow()


def open_ballot(session: Session, proposal: Proposal) -> None:
    """The vote's ballot box and key pair, made when the proposal is put to a vote (kept if it
    exists: a vote restored after hiding keeps its key and its ballots). Flushes."""
    public, private_encrypted = new_key_pair()
    insert_ignore(session, BallotBox, {"proposal_id": proposal.id, "public_key": public,
                                       "private_key_encrypted": private_encrypted})


_BOX = (select(BallotBox).where(BallotBox.proposal_id == bindparam("proposal_id"))
        .execution_options(populate_existing=True))


def ballot_box(session: Session, proposal_id: int) -> BallotBox | None:
    return session.scalars(_BOX, {"proposal_id": proposal_id}).first()


def is_counted(session: Session, proposal: Proposal) -> bool:
    box = ballot_box(session, proposal.id)
    return box is not None and box.counted_at is not None


_TALLY = select(BallotTally.choice, BallotTally.votes).where(BallotTally.proposal_id == bindparam("proposal_id"))


def tally(session: Session, proposal: Proposal) -> dict | None:
    """The result once the ballots are counted; None before (and for proposals never voted on).
    A read: it never counts (the beat task and `flask proposals count-ballots` do)."""
    if not is_counted(session, proposal):
        return None
    rows = dict(session.execute(_TALLY, {"proposal_id": proposal.id}).all())
    return {choice: int(rows.get(choice, 0)) for choice in CHOICES}


# What a ballot reads and writes, built once (building a statement and its cache key cost more
# than running it): the proposal's status and end under FOR SHARE, the box's key and count
# mark after the lock (plain rows: nothing of an earlier read in the session is used), the
# sealed ballot's INSERT.
_VOTING = (select(Proposal.id, Proposal.status, Proposal.vote_ends_at)
           .where(Proposal.id == bindparam("proposal_id")).with_for_update(read=True))
_BOX_OPEN = select(BallotBox.public_key, BallotBox.counted_at).where(BallotBox.proposal_id == bindparam("proposal_id"))
_SEAL = insert(SealedBallot)
# On PostgreSQL both envelopes in one statement (one round trip less): the sealed ballot goes
# in only if the participation row did, so a second ballot of the same voter inserts nothing.
_TOOK_PART = (pg_insert(BallotParticipation.__table__)
              .values(proposal_id=bindparam("proposal_id"), user_id=bindparam("user_id"))
              .on_conflict_do_nothing().returning(BallotParticipation.__table__.c.id).cte("took_part"))
_BOTH_ENVELOPES = (insert(SealedBallot.__table__).from_select(
    ["proposal_id", "receipt", "sealed"],
    select(bindparam("proposal_id", type_=Integer), bindparam("receipt", type_=String),
           bindparam("sealed", type_=LargeBinary)).select_from(_TOOK_PART))
    .add_cte(_TOOK_PART).execution_options(preserve_rowcount=True))


def cast_ballot(session: Session, user, proposal_id, choice) -> str:
    """One secret ballot per resident with a voice (verified, address confirmed). Returns the
    receipt: the hash of the sealed ballot, listed once the ballots are counted."""
    accounts.require_voice(user)
    if choice not in CHOICES:
        raise Invalid(fields={"choice": _l("Not one of the allowed values.")})
    # FOR SHARE on the proposal until commit: voters do not wait for each other, but the count
    # takes FOR UPDATE first, so it waits for every ballot whose check below passed; a ballot
    # that comes after the count's lock reads the box counted and is refused. So every ballot
    # is either counted or refused, never committed and missed.
    pid = proposal_id_of(proposal_id)
    proposal = seen_by(user, session.execute(_VOTING, {"proposal_id": pid}).first())  # as find(share=True), plain
    box = session.execute(_BOX_OPEN, {"proposal_id": pid}).first()  # read after the lock: a count made meanwhile shows
    if (proposal.status != "voting" or vote_ended(proposal) or box is None
            or box.counted_at is not None):
        session.rollback()
        raise NotVoting()
    # Once per voter: UNIQUE(proposal_id, user_id) on the participation row decides.
    if session.get_bind().dialect.name == "postgresql":
        sealed = seal(box.public_key, choice)
        receipt = receipt_of(sealed)
        if session.execute(_BOTH_ENVELOPES, {"proposal_id": pid, "user_id": user.id, "receipt": receipt,
                                             "sealed": sealed}).rowcount != 1:
            session.rollback()
            raise AlreadyVoted()
        session.commit()
        return receipt
    if not insert_ignore(session, BallotParticipation, {"proposal_id": pid, "user_id": user.id}):
        session.rollback()
        raise AlreadyVoted()
    sealed = seal(box.public_key, choice)
    receipt = receipt_of(sealed)
    session.execute(_SEAL, {"proposal_id": pid, "receipt": receipt, "sealed": sealed})
    session.commit()
    return receipt


def why_not_vote(session: Session, user, proposal: Proposal) -> str | None:
    """Why `user` may not cast a ballot on `proposal` now, as ``cast_ballot`` would refuse with
    ("sign_in" for a visitor, "not_verified", "email_not_confirmed", "not_voting",
    "already_voted"); None when they may. A read: the same checks, without the locks; a vote
    that is not open comes first (it holds for everyone)."""
    box = ballot_box(session, proposal.id)
    if proposal.status != "voting" or vote_ended(proposal) or box is None or box.counted_at is not None:
        return NotVoting.code
    try:
        accounts.require_voice(user)
    except Unauthorized:
        return "sign_in"
    except DomainError as exc:
        return exc.code
    if has_voted(session, user, proposal.id):
        return AlreadyVoted.code
    return None


_HAS_VOTED = select(exists().where(BallotParticipation.proposal_id == bindparam("proposal_id"),
                                  BallotParticipation.user_id == bindparam("user_id")))


def has_voted(session: Session, user, proposal_id: int) -> bool:
    user_id = uid(user)
    return bool(user_id) and session.scalar(_HAS_VOTED, {"proposal_id": proposal_id, "user_id": user_id})


def _counted(session: Session, user, proposal_id) -> Proposal:
    """The proposal whose ballots are counted; 409 not_voting (never voted on) or not_counted."""
    proposal = find(session, user, proposal_id)
    box = ballot_box(session, proposal.id)
    if box is None:
        raise NotVoting()
    if box.counted_at is None:
        raise NotCounted()
    return proposal


def receipts_page(session: Session, user, proposal_id, cursor: str | None = None,
                  limit: int = RECEIPTS_PAGE_SIZE) -> tuple[list[str], str | None]:
    """The receipts of the counted ballots, sorted (so in no order a voter could be found by).
    Returns (receipts, next_cursor)."""
    proposal = _counted(session, user, proposal_id)
    stmt = select(SealedBallot).where(SealedBallot.proposal_id == proposal.id)
    rows, next_cursor = paginate(session, stmt, [(SealedBallot.receipt, "asc")], cursor, limit)
    return [row.receipt for row in rows], next_cursor


def receipt_counted(session: Session, user, proposal_id, receipt: str) -> bool:
    """Whether `receipt` is among the counted ballots."""
    proposal = _counted(session, user, proposal_id)
    receipt = (receipt or "").strip().lower()
    if len(receipt) != RECEIPT_LENGTH:
        return False
    return bool(session.scalar(select(exists().where(
        SealedBallot.proposal_id == proposal.id, SealedBallot.receipt == receipt))))
