"""A ballot writes both envelopes or neither (on PostgreSQL in one statement, the sealed ballot
only if the participation row went in): a second ballot of the same voter is 409 and leaves one
participation row and one sealed ballot."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from proposals.models import BallotParticipation, SealedBallot
from tests.proposals.helpers import future


def _count(model, pid):
    return db.session.scalar(select(func.count()).select_from(model).where(model.proposal_id == pid))


def test_a_second_ballot_writes_no_envelope(client, make_user, bearer, new_proposal, start_vote):
    p = new_proposal(make_user())
    pid = p.id
    start_vote(pid, future(1))
    h, other = bearer(make_user()), bearer(make_user())
    first = client.post(f"/api/v1/proposals/{pid}/ballot", json={"choice": "for"}, headers=h)
    assert first.status_code == 201
    again = client.post(f"/api/v1/proposals/{pid}/ballot", json={"choice": "against"}, headers=h)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_voted"
    assert _count(BallotParticipation, pid) == 1 == _count(SealedBallot, pid)
    receipt = db.session.scalar(select(SealedBallot.receipt).where(SealedBallot.proposal_id == pid))
    assert receipt == first.get_json()["receipt"]
    assert client.post(f"/api/v1/proposals/{pid}/ballot", json={"choice": "against"},
                       headers=other).status_code == 201
    assert _count(BallotParticipation, pid) == 2 == _count(SealedBallot, pid)
