"""Fixtures for the proposals tests: people, proposals, and a way to put a proposal in a state."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from portal.extensions import db
from proposals import service
from proposals.models import Proposal
from tests.proposals.helpers import BODY


@pytest.fixture(autouse=True)
def _fresh_list_page(app):
    """Every page reads the database: the anonymous list's micro-cache is off unless a test
    turns it on (settings.LIST_CACHE_SECONDS; production keeps its default)."""
    app.config["PROPOSAL_LIST_CACHE_SECONDS"] = 0


@pytest.fixture
def resident(make_user):
    return make_user(name="김민지")


@pytest.fixture
def staff(make_user):
    return make_user(roles=("staff",), name="이정훈")


@pytest.fixture
def new_proposal(app):
    """new_proposal(author, title=..., **fields) -> Proposal, submitted through the service."""

    def make(author, title="초등학교 앞 안전한 통학로", **fields):
        data = {"title": title, "body": BODY, "category": "safety", **fields}
        return service.create_proposal(db.session, author, data)

    return make


@pytest.fixture
def set_state(app):
    """set_state(proposal_id, status, **columns): put a proposal in a state, as if it got there."""

    def put(proposal_id, status, **values):
        db.session.execute(update(Proposal).where(Proposal.id == proposal_id).values(status=status, **values))
        db.session.commit()
        db.session.expire_all()

    return put


@pytest.fixture
def reload(app):
    def get(proposal_id) -> Proposal:
        db.session.expire_all()
        return db.session.get(Proposal, proposal_id)

    return get


@pytest.fixture
def start_vote(app, make_user):
    """start_vote(proposal_id, ends_at=None) -> Proposal: staff put it to a vote through the
    service (the vote's key pair is made then), ending in a day unless `ends_at` says when."""
    from tests.proposals.helpers import future

    def start(proposal_id, ends_at=None):
        db.session.execute(update(Proposal).where(Proposal.id == proposal_id).values(status="under_review"))
        db.session.commit()
        staff = make_user(roles=("staff",))
        return service.transition(db.session, staff, proposal_id, "voting",
                                  vote_ends_at=(ends_at or future(1)).isoformat())

    return start


@pytest.fixture
def end_and_count(app):
    """end_and_count(proposal_id) -> CountReport: the vote's end moves into the past and the
    count runs, as the beat task would."""
    from tests.proposals.helpers import past

    def run(proposal_id):
        db.session.execute(update(Proposal).where(Proposal.id == proposal_id).values(vote_ends_at=past(0.001)))
        db.session.commit()
        report = service.count_ended_votes(db.session)
        db.session.expire_all()
        return report

    return run
