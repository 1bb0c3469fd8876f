"""The demo proposals."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from proposals.models import BallotParticipation, BallotTally


def test_demo_seed_is_realistic_and_idempotent(app):
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
    votes = db.session.scalar(select(db.func.sum(BallotTally.votes)).where(BallotTally.proposal_id == voting.id))
    voters = db.session.scalar(select(db.func.count()).select_from(BallotParticipation)
                               .where(BallotParticipation.proposal_id == voting.id))
    assert votes == voters > 0
