"""The detail API reads the proposal, its tally and the reader's flags in one statement
(service.lifecycle.read_detail): each reader still sees their own flags, and the tally and the
hidden rule are those of the separate reads (service.tally, has_endorsed, is_following,
has_voted, find)."""

from __future__ import annotations

from portal.extensions import db
from proposals import service
from tests.proposals.helpers import future


def _flags(client, pid, headers=None):
    r = client.get(f"/api/v1/proposals/{pid}", headers=headers or {})
    assert r.status_code == 200
    return r.get_json()


def test_each_reader_sees_their_own_flags_and_the_tally(client, make_user, bearer, new_proposal, start_vote,
                                                         end_and_count, set_state, staff):
    author = make_user()
    p = new_proposal(author)
    pid = p.id
    fan, voter, other = make_user(), make_user(), make_user()
    h_fan, h_voter, h_other, h_author = bearer(fan), bearer(voter), bearer(other), bearer(author)
    assert client.post(f"/api/v1/proposals/{pid}/endorsement", headers=h_fan).status_code == 201
    assert client.put(f"/api/v1/proposals/{pid}/follow", headers=h_fan).status_code == 201
    start_vote(pid, future(1))
    assert client.post(f"/api/v1/proposals/{pid}/ballot", json={"choice": "against"},
                       headers=h_voter).status_code == 201

    def viewer(headers=None):
        return _flags(client, pid, headers)["viewer"]

    assert viewer() == {"is_author": False, "endorsed": False, "following": False, "voted": False}
    assert viewer(h_fan) == {"is_author": False, "endorsed": True, "following": True, "voted": False}
    assert viewer(h_voter) == {"is_author": False, "endorsed": False, "following": False, "voted": True}
    assert viewer(h_other) == {"is_author": False, "endorsed": False, "following": False, "voted": False}
    assert viewer(h_author) == {"is_author": True, "endorsed": False, "following": True, "voted": False}
    assert _flags(client, pid)["tally"] is None

    assert end_and_count(pid).counted == [pid]
    data = _flags(client, pid, h_voter)
    assert data["tally"] == {"for": 0, "against": 1} == service.tally(db.session, service.get_proposal(
        db.session, None, pid))
    assert data["viewer"]["voted"] is True
    assert [h["to"] for h in data["history"]] == ["voting"]

    set_state(pid, "hidden", hidden_reason="개인정보", status_before_hidden="voting")
    assert client.get(f"/api/v1/proposals/{pid}").status_code == 404
    assert client.get(f"/api/v1/proposals/{pid}", headers=h_voter).status_code == 404
    data = _flags(client, pid, bearer(staff))
    assert data["hidden_reason"] == "개인정보" and data["tally"] == {"for": 0, "against": 1}
    assert client.get("/api/v1/proposals/2147483647").status_code == 404
