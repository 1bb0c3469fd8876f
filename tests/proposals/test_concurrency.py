"""Counts stay exact under real concurrent HTTP clients (PostgreSQL, threaded live server):
endorsements, ballots, and the count of a vote racing its end."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from sqlalchemy import func, select

from portal.extensions import db
from portal.types import utcnow
from proposals import service
from proposals.models import BallotParticipation, Endorsement, Proposal, SealedBallot
from tests.concurrency import race
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


def test_concurrent_voters_are_counted_exactly(app, live_server, make_user, bearer, new_proposal, start_vote,
                                               end_and_count, reload):
    p = new_proposal(make_user())
    start_vote(p.id)
    choices = ["for"] * 60 + ["against"] * 40
    headers = [bearer(make_user()) for _ in choices]
    url = f"{live_server.url}/api/v1/proposals/{p.id}/ballot"

    def one(i):
        r = requests.post(url, json={"choice": choices[i]}, headers=headers[i], timeout=60)
        return r.status_code, r.json().get("receipt")

    answers = race(len(choices), one)
    assert [code for code, _r in answers] == [201] * 100
    assert end_and_count(p.id).counted == [p.id]
    assert service.tally(db.session, reload(p.id)) == {"for": 60, "against": 40}
    listed, cursor = [], None
    while True:
        page = requests.get(f"{live_server.url}/api/v1/proposals/{p.id}/ballots",
                            params={"cursor": cursor} if cursor else {}, timeout=30).json()
        listed += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert listed == sorted(receipt for _c, receipt in answers)  # each voter finds their receipt


def test_ballots_racing_the_end_are_counted_or_refused_never_lost(app, live_server, make_user, bearer,
                                                                   new_proposal, start_vote):
    """Voters keep coming for four seconds; the vote ends after one and a half; the count runs
    the moment it can, while ballots are in flight. Every ballot answered 201 is counted, every
    other one is refused, and the tally equals the ballots accepted."""
    p = new_proposal(make_user())
    headers = [bearer(make_user()) for _ in range(120)]
    start_vote(p.id, utcnow() + timedelta(seconds=1.5))
    url = f"{live_server.url}/api/v1/proposals/{p.id}/ballot"
    counted_at = []

    def count_when_due():
        with app.app_context():
            while not service.count_ended_votes(db.session).counted:
                time.sleep(0.01)
            counted_at.append(time.monotonic())
            db.session.remove()

    counter = threading.Thread(target=count_when_due)
    counter.start()

    def one(i):
        time.sleep(i * 4 / len(headers))
        sent = time.monotonic()
        r = requests.post(url, json={"choice": ("for", "against", "for")[i % 3]}, headers=headers[i], timeout=60)
        return sent, r.status_code, r.json()

    answers = race(len(headers), one)
    counter.join(60)
    assert counted_at, "the count never ran"
    accepted = [body["receipt"] for _s, code, body in answers if code == 201]
    refused = [body["error"]["code"] for _s, code, body in answers if code != 201]
    assert accepted and refused and set(refused) == {"not_voting"}
    assert any(sent > counted_at[0] for sent, _c, _b in answers)  # the count ran amid the voting
    db.session.expire_all()
    tally = service.tally(db.session, db.session.get(Proposal, p.id))
    assert sum(tally.values()) == len(accepted) == db.session.scalar(
        select(func.count()).select_from(BallotParticipation).where(BallotParticipation.proposal_id == p.id))
    listed = service.receipts_page(db.session, None, p.id, limit=len(headers))[0]
    assert listed == sorted(accepted)
