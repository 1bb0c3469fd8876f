"""The demo proposals."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from proposals import service
from proposals.models import BallotParticipation, SealedBallot


def test_demo_seed_is_realistic_and_idempotent(app, end_and_count):
    from portal.accounts import demo as accounts_demo
    from proposals import demo
    from proposals.models import Endorsement, Proposal

    accounts_demo.seed(db.session)
    demo.seed(db.session)
    demo.seed(db.session)
    proposals = db.session.scalars(select(Proposal)).all()
    assert len(proposals) == 12
    assert any("통학로" in p.title for p in proposals)
    assert [p.status for p in proposals].count("voting") == 1
    for p in proposals:
        rows = db.session.scalar(select(db.func.count()).select_from(Endorsement).where(Endorsement.proposal_id == p.id))
        assert rows == p.endorsement_count
    voting = next(p for p in proposals if p.status == "voting")
    # its ballots are sealed like real ones: the count opens them with the vote's key
    sealed = db.session.scalar(select(db.func.count()).select_from(SealedBallot)
                               .where(SealedBallot.proposal_id == voting.id))
    voters = db.session.scalar(select(db.func.count()).select_from(BallotParticipation)
                               .where(BallotParticipation.proposal_id == voting.id))
    assert sealed == voters == 27
    assert service.tally(db.session, voting) is None
    assert end_and_count(voting.id).counted == [voting.id]
    assert service.tally(db.session, voting) == {"for": 23, "against": 4}


def test_demo_proposals_are_written_by_different_residents_of_one_district(app):
    """The demo resident wrote one proposal, endorsed one, and has others' open proposals to
    endorse and a vote to take part in (issue 13: she had written all twelve)."""
    from portal.accounts import demo as accounts_demo
    from portal.accounts.models import User
    from proposals import demo
    from proposals.models import Endorsement, Proposal

    accounts_demo.seed(db.session)
    demo.seed(db.session)
    resident = db.session.scalar(select(User).where(User.email == "resident@demo.kr"))
    grandma = db.session.scalar(select(User).where(User.email == "grandma@demo.kr"))
    proposals = db.session.scalars(select(Proposal)).all()
    authors = [p.author_id for p in proposals]
    assert authors.count(resident.id) == 1 and authors.count(grandma.id) == 1
    assert len(set(authors)) == len(proposals)
    assert {p.district for p in proposals} == {"seongdong"}  # the places table's code, one district
    voting = next(p for p in proposals if p.status == "voting")
    assert service.why_not_vote(db.session, resident, voting) is None
    endorsable = [p for p in proposals if service.why_not_endorse(resident, p) is None]
    assert len(endorsable) >= 5
    mine = db.session.scalars(select(Endorsement).where(Endorsement.user_id == resident.id)).all()
    assert len(mine) == 1
    # nobody endorses their own proposal
    assert not db.session.scalar(select(db.func.count()).select_from(Endorsement).join(
        Proposal, Proposal.id == Endorsement.proposal_id).where(Endorsement.user_id == Proposal.author_id))


def test_seeding_again_gives_proposals_seeded_by_an_earlier_demo_their_own_authors(app):
    from portal.accounts import demo as accounts_demo
    from portal.accounts.models import User
    from proposals import demo
    from proposals.models import Endorsement, Proposal

    accounts_demo.seed(db.session)
    demo.seed(db.session)
    resident = db.session.scalar(select(User).where(User.email == "resident@demo.kr"))
    for p in db.session.scalars(select(Proposal)):  # as the earlier demo seeded them
        p.author_id = resident.id
    db.session.commit()
    demo.seed(db.session)
    db.session.expire_all()
    proposals = db.session.scalars(select(Proposal)).all()
    assert [p.author_id for p in proposals].count(resident.id) == 1
    for p in proposals:
        rows = db.session.scalar(select(db.func.count()).select_from(Endorsement).where(
            Endorsement.proposal_id == p.id))
        assert rows == p.endorsement_count
        assert not db.session.scalar(select(db.func.count()).select_from(Endorsement).where(
            Endorsement.proposal_id == p.id, Endorsement.user_id == p.author_id))
