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
