"""Policy proposals: tables and the constraints that keep them right under concurrency.

* one endorsement per (proposal, resident): UNIQUE(proposal_id, user_id);
* ``proposals.endorsement_count`` is changed only by a conditional UPDATE in the same
  transaction as the endorsement row (service/endorsements.py);
* the secret ballot is two envelopes, as in postal voting (service/ballots.py): the outer one
  says *who voted* (``proposal_ballot_participation``: no choice, no time); the inner one is
  the choice sealed with the vote's public key (``proposal_sealed_ballots``: no user, no time,
  no serial, every one the same length). Nothing a vote writes depends on the choice, so a
  reader of the tables, their old row versions or the WAL learns who voted and nothing more.
  The private key (``proposal_ballot_boxes``, encrypted) opens the ballots once, at the count,
  which writes the totals (``proposal_ballot_tally``) and erases the key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.types import JSONType, UTCDateTime, utcnow

from .limits import (
    DEPARTMENT_MAX,
    DISTRICT_MAX,
    LOCATION_MAX,
    REASON_MAX,
    RECEIPT_LENGTH,
    SEALED_BALLOT_LENGTH,
    TITLE_MAX,
)
from .vocabulary import CATEGORIES, CHOICES, STATUSES  # noqa: F401  (the words these tables hold)

USER_FK = "user.id"


class Proposal(db.Model):
    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint("endorsement_count >= 0", name="endorsement_count_nonneg"),
        Index("ix_proposals_status_count", "status", "endorsement_count", "id"),
        Index("ix_proposals_status_created", "status", "created_at", "id"),
        Index("ix_proposals_status_until", "status", "endorse_until", "id"),
        Index("ix_proposals_status_changed", "status", "status_changed_at", "id"),
        # the unfiltered list: most endorsed / newest first, read backwards with LIMIT
        Index("ix_proposals_count", "endorsement_count", "id"),
        Index("ix_proposals_created", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey(USER_FK, ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    # The language the title and body are written in (the author's locale when they wrote it):
    # pages in another language mark them lang="..." so a screen reader reads them right.
    lang: Mapped[str] = mapped_column(String(8), default="ko", server_default="ko")
    category: Mapped[str] = mapped_column(String(32), index=True)
    district: Mapped[str | None] = mapped_column(String(DISTRICT_MAX), index=True)
    location: Mapped[str | None] = mapped_column(String(LOCATION_MAX))
    status: Mapped[str] = mapped_column(String(20), default="open")
    status_before_hidden: Mapped[str | None] = mapped_column(String(20))
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    endorsement_count: Mapped[int] = mapped_column(Integer, default=0)
    endorse_until: Mapped[datetime] = mapped_column(UTCDateTime())
    vote_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    department: Mapped[str | None] = mapped_column(String(DEPARTMENT_MAX))
    # Official public answer written by staff, per locale: {"ko": "...", "en": "..."}.
    answer: Mapped[dict | None] = mapped_column(JSONType())
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    transitions: Mapped[list[ProposalTransition]] = relationship(
        back_populates="proposal", order_by="ProposalTransition.id", cascade="all, delete-orphan"
    )


class Endorsement(db.Model):
    __tablename__ = "proposal_endorsements"
    __table_args__ = (UniqueConstraint("proposal_id", "user_id", name="uq_proposal_endorsements_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProposalTransition(db.Model):
    """The visible history of a proposal: every change of status, who made it (None: the system)."""

    __tablename__ = "proposal_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey(USER_FK, ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="transitions")


class BallotParticipation(db.Model):
    """Who took part in a vote. Deliberately no choice and no timestamp."""

    __tablename__ = "proposal_ballot_participation"
    __table_args__ = (UniqueConstraint("proposal_id", "user_id", name="uq_proposal_ballot_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), index=True)


class BallotBox(db.Model):
    """A vote's key pair, made when the proposal is put to a vote. The private half is kept
    Fernet-encrypted (service/sealing.py), opened only by the count, and erased by it; then
    ``counted_at`` says the totals are in ``proposal_ballot_tally``."""

    __tablename__ = "proposal_ballot_boxes"

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    private_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary())
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SealedBallot(db.Model):
    """The inner envelope: a choice sealed with the vote's public key (a libsodium sealed box of
    a plaintext padded to one length), and its receipt (SHA-256 of the sealed bytes, hex).

    Deliberately nothing else: no user, no time, no serial id. The key is the receipt, a hash
    of random bytes, so neither the index nor an ORDER BY says in which order people voted.
    Every row has the same length whatever the choice (the CHECK below), far below TOAST."""

    __tablename__ = "proposal_sealed_ballots"
    __table_args__ = (
        CheckConstraint(f"length(sealed) = {SEALED_BALLOT_LENGTH}", name="sealed_one_length"),
        CheckConstraint(f"length(receipt) = {RECEIPT_LENGTH}", name="receipt_one_length"),
    )

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True)
    receipt: Mapped[str] = mapped_column(String(RECEIPT_LENGTH), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary(SEALED_BALLOT_LENGTH))


class BallotTally(db.Model):
    """The result of a counted vote: one row per (proposal, choice), written once by the count
    (never per ballot). No user, no timestamp."""

    __tablename__ = "proposal_ballot_tally"
    __table_args__ = (
        CheckConstraint("choice IN ('for', 'against')", name="choice_known"),
        CheckConstraint("votes >= 0", name="votes_nonneg"),
    )

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True)
    choice: Mapped[str] = mapped_column(String(10), primary_key=True)
    votes: Mapped[int] = mapped_column(Integer, default=0)


class Comment(db.Model):
    __tablename__ = "proposal_comments"
    __table_args__ = (Index("ix_proposal_comments_proposal", "proposal_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8), default="ko", server_default="ko")  # as Proposal.lang
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Flag(db.Model):
    """An abuse report. One per (proposal, user); staff see the count in the triage queue."""

    __tablename__ = "proposal_flags"
    __table_args__ = (UniqueConstraint("proposal_id", "user_id", name="uq_proposal_flags_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(REASON_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Follow(db.Model):
    __tablename__ = "proposal_follows"
    __table_args__ = (UniqueConstraint("proposal_id", "user_id", name="uq_proposal_follows_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(USER_FK, ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
