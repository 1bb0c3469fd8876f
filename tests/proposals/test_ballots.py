"""The secret ballot: once per voter, the tally hidden until the end, no row linking a voter
to a choice."""

from __future__ import annotations

from sqlalchemy import inspect, select

from portal.extensions import db
from proposals.models import BallotParticipation, BallotTally
from tests.proposals.helpers import ANSWER, future, past


def test_ballot_once_tally_hidden_until_the_end(client, make_user, staff, bearer, new_proposal, set_state):
    p = new_proposal(make_user())
    set_state(p.id, "under_review")
    client.post(f"/api/v1/proposals/{p.id}/transitions", headers=bearer(staff),
                json={"to": "voting", "vote_ends_at": future(3).isoformat()})
    voters = [bearer(make_user()) for _ in range(3)]
    for h, choice in zip(voters, ("for", "for", "against"), strict=True):
        assert client.post(f"/api/v1/proposals/{p.id}/ballot", json={"choice": choice}, headers=h).status_code == 201
    r = client.post(f"/api/v1/proposals/{p.id}/ballot", json={"choice": "against"}, headers=voters[0])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_voted"
    r = client.post(f"/api/v1/proposals/{p.id}/ballot", json={"choice": "maybe"}, headers=bearer(make_user()))
    assert r.status_code == 422 and "choice" in r.get_json()["error"]["fields"]
    r = client.post(f"/api/v1/proposals/{p.id}/ballot", json={"choice": "for"},
                    headers=bearer(make_user(verified=False)))
    assert r.status_code == 403
    data = client.get(f"/api/v1/proposals/{p.id}").get_json()
    assert "tally" in data and data["tally"] is None
    # deciding before the vote ends is refused
    r = client.post(f"/api/v1/proposals/{p.id}/transitions", json={"to": "accepted", "answer": ANSWER},
                    headers=bearer(staff))
    assert r.status_code == 409
    set_state(p.id, "voting", vote_ends_at=past(0.01))
    assert client.get(f"/api/v1/proposals/{p.id}").get_json()["tally"] == {"for": 2, "against": 1}
    r = client.post(f"/api/v1/proposals/{p.id}/ballot", json={"choice": "for"}, headers=bearer(make_user()))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_voting"
    r = client.post(f"/api/v1/proposals/{p.id}/transitions", json={"to": "accepted", "answer": ANSWER},
                    headers=bearer(staff))
    assert r.status_code == 200 and r.get_json()["tally"] == {"for": 2, "against": 1}


def test_no_table_links_a_voter_to_a_choice(app, client, make_user, staff, bearer, new_proposal, set_state):
    insp = inspect(db.engine)
    user_tables = set()
    for table in insp.get_table_names():
        columns = {c["name"] for c in insp.get_columns(table)}
        refs_user = any(fk["referred_table"] == "user" for fk in insp.get_foreign_keys(table))
        if refs_user:
            user_tables.add(table)
        assert not (refs_user and "choice" in columns), f"{table} links a user to a choice"
    assert "proposal_ballot_participation" in user_tables
    tally_cols = {c["name"]: c for c in insp.get_columns("proposal_ballot_tally")}
    assert "choice" in tally_cols
    # nothing in the tally that could be matched with the order people voted in
    assert not any("time" in str(c["type"]).lower() or "date" in str(c["type"]).lower()
                   for c in tally_cols.values())
    participation_cols = {c["name"] for c in insp.get_columns("proposal_ballot_participation")}
    assert participation_cols == {"id", "proposal_id", "user_id"}
    # and in use: three ballots are three participants but still only two counter rows
    p = new_proposal(make_user())
    set_state(p.id, "under_review")
    client.post(f"/api/v1/proposals/{p.id}/transitions", headers=bearer(staff),
                json={"to": "voting", "vote_ends_at": future(1).isoformat()})
    for choice in ("for", "against", "for"):
        client.post(f"/api/v1/proposals/{p.id}/ballot", json={"choice": choice}, headers=bearer(make_user()))
    assert db.session.scalar(select(db.func.count()).select_from(BallotParticipation)) == 3
    assert db.session.scalar(select(db.func.count()).select_from(BallotTally)) == 2
