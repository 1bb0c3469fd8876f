"""Endorsing: once per verified resident, withdrawn while open, the threshold reached once."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from proposals.models import Endorsement
from tests.proposals.helpers import past, transitions_of


def test_endorse_once_then_200_then_withdraw(client, resident, make_user, bearer, new_proposal):
    p = new_proposal(resident)
    fan = bearer(make_user())
    url = f"/api/v1/proposals/{p.id}/endorsement"
    r = client.post(url, headers=fan)
    assert r.status_code == 201 and r.get_json()["endorsement_count"] == 1
    r = client.post(url, headers=fan)
    assert r.status_code == 200 and r.get_json()["endorsement_count"] == 1
    r = client.delete(url, headers=fan)
    assert r.status_code == 204
    assert client.get(f"/api/v1/proposals/{p.id}").get_json()["endorsement_count"] == 0
    assert client.delete(url, headers=fan).status_code == 204  # nothing to withdraw: still 0
    assert client.get(f"/api/v1/proposals/{p.id}").get_json()["endorsement_count"] == 0
    assert client.post(url, headers=fan).status_code == 201


def test_author_cannot_endorse_own_proposal(client, resident, bearer, new_proposal):
    p = new_proposal(resident)
    r = client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(resident))
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "own_proposal"


def test_unverified_cannot_endorse(client, resident, make_user, bearer, new_proposal):
    p = new_proposal(resident)
    r = client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(make_user(verified=False)))
    assert r.status_code == 403
    assert client.get(f"/api/v1/proposals/{p.id}").get_json()["endorsement_count"] == 0


def test_endorse_409_when_not_open(client, resident, make_user, bearer, new_proposal, set_state):
    fan = bearer(make_user())
    p = new_proposal(resident)
    client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=fan)
    set_state(p.id, "under_review")
    r = client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(make_user()))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_open"
    assert client.delete(f"/api/v1/proposals/{p.id}/endorsement", headers=fan).status_code == 409
    assert client.get(f"/api/v1/proposals/{p.id}").get_json()["endorsement_count"] == 1
    q = new_proposal(resident, title="기한이 지난 제안입니다")
    set_state(q.id, "open", endorse_until=past())
    r = client.post(f"/api/v1/proposals/{q.id}/endorsement", headers=fan)
    assert r.status_code == 409


def test_missing_proposal_is_404(client, resident, bearer):
    assert client.get("/api/v1/proposals/999999").status_code == 404
    r = client.post("/api/v1/proposals/999999/endorsement", headers=bearer(resident))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_threshold_moves_to_review_once_and_tells_author_and_endorsers(
        app, client, resident, make_user, bearer, new_proposal, reload):
    from portal.notify.models import Message

    app.config["PROPOSAL_ENDORSEMENT_THRESHOLD"] = 2
    p = new_proposal(resident)
    fans = [make_user() for _ in range(3)]
    assert client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(fans[0])).status_code == 201
    assert reload(p.id).status == "open"
    assert client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(fans[1])).status_code == 201
    assert reload(p.id).status == "under_review"
    r = client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(fans[2]))
    assert r.status_code == 409
    assert len(transitions_of(p.id, "under_review")) == 1
    told = set(db.session.scalars(select(Message.user_id).where(
        Message.template == "proposals.threshold_reached")))
    assert told == {resident.id, fans[0].id, fans[1].id}


def test_endorsement_rows_match_the_count(client, resident, make_user, bearer, new_proposal):
    p = new_proposal(resident)
    for _ in range(3):
        client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(make_user()))
    rows = db.session.scalar(select(func.count()).select_from(Endorsement).where(Endorsement.proposal_id == p.id))
    assert rows == client.get(f"/api/v1/proposals/{p.id}").get_json()["endorsement_count"] == 3
