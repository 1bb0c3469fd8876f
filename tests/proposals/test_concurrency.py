"""Counts stay exact under real concurrent HTTP clients (PostgreSQL, threaded live server)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from portal.extensions import db
from proposals.models import BallotParticipation, Endorsement, SealedBallot
from tests.proposals.helpers import future, requires_postgres, transitions_of

pytestmark = requires_postgres


def _fire(url: str, headers_list: list[dict], method: str = "post", json=None) -> list[int]:
    """One request per headers dict, all released at once from their own threads."""
    barrier = threading.Barrier(min(len(headers_list), 50))

    def one(headers):
        with requests.Session() as s:
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
            return s.request(method, url, headers=headers, json=json, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        return list(pool.map(one, headers_list))


def test_200_concurrent_endorsements_count_exactly_and_review_once(
        app, live_server, make_user, bearer, new_proposal, reload):
    app.config["PROPOSAL_ENDORSEMENT_THRESHOLD"] = 200
    p = new_proposal(make_user())
    headers = [bearer(make_user()) for _ in range(200)]
    codes = _fire(f"{live_server.url}/api/v1/proposals/{p.id}/endorsement", headers)
    assert codes == [201] * 200
    proposal = reload(p.id)
    assert proposal.endorsement_count == 200
    assert db.session.scalar(select(func.count()).select_from(Endorsement)
                             .where(Endorsement.proposal_id == p.id)) == 200
    assert proposal.status == "under_review"
    assert len(transitions_of(p.id, "under_review")) == 1


def test_same_resident_from_20_threads_counts_once(app, live_server, make_user, bearer, new_proposal, reload):
    p = new_proposal(make_user())
    h = bearer(make_user())
    codes = _fire(f"{live_server.url}/api/v1/proposals/{p.id}/endorsement", [h] * 20)
    assert sorted(codes) == [200] * 19 + [201]
    assert reload(p.id).endorsement_count == 1


def test_endorse_and_withdraw_races_keep_the_count_true(app, live_server, make_user, bearer, new_proposal, reload):
    p = new_proposal(make_user())
    people = [bearer(make_user()) for _ in range(20)]
    url = f"{live_server.url}/api/v1/proposals/{p.id}/endorsement"
    _fire(url, people)
    codes = _fire(url, people[:10] * 2, method="delete")  # each withdraws twice, concurrently
    assert set(codes) == {204}
    rows = db.session.scalar(select(func.count()).select_from(Endorsement).where(Endorsement.proposal_id == p.id))
    assert rows == reload(p.id).endorsement_count == 10


def test_same_voter_from_10_threads_votes_once(app, live_server, make_user, bearer, new_proposal, set_state):
    p = new_proposal(make_user())
    set_state(p.id, "under_review")
    r = requests.post(f"{live_server.url}/api/v1/proposals/{p.id}/transitions", timeout=30,
                      headers=bearer(make_user(roles=("staff",))),
                      json={"to": "voting", "vote_ends_at": future(1).isoformat()})
    assert r.status_code == 200
    h = bearer(make_user())
    codes = _fire(f"{live_server.url}/api/v1/proposals/{p.id}/ballot", [h] * 10, json={"choice": "for"})
    assert sorted(codes) == [201] + [409] * 9
    assert db.session.scalar(select(func.count()).select_from(BallotParticipation)) == 1
    assert db.session.scalar(select(func.count()).select_from(SealedBallot)) == 1
