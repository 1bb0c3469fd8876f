"""The secret ballot: two envelopes (who voted; the sealed choice), once per voter, a receipt,
the tally null until the count, the count after the end (beat task and CLI), the receipts.

The database reader's attack on PostgreSQL is tests/proposals/test_ballot_reader.py; real
concurrent voters and the count racing the end are in test_concurrency.py."""

from __future__ import annotations

import logging

import pytest
from nacl.public import PrivateKey
from sqlalchemy import func, inspect, select, update

from portal.extensions import db
from proposals import service
from proposals.limits import SEALED_BALLOT_LENGTH
from proposals.models import BallotBox, BallotParticipation, BallotTally, Proposal, SealedBallot
from proposals.service import sealing
from tests.proposals.helpers import ANSWER, future


def _vote(client, pid, headers, choice):
    return client.post(f"/api/v1/proposals/{pid}/ballot", json={"choice": choice}, headers=headers)


def test_ballot_once_receipt_and_tally_null_until_the_count(client, make_user, staff, bearer, new_proposal,
                                                           start_vote, end_and_count):
    p = new_proposal(make_user())
    start_vote(p.id, future(3))
    voters = [bearer(make_user()) for _ in range(3)]
    receipts = []
    for h, choice in zip(voters, ("for", "for", "against"), strict=True):
        r = _vote(client, p.id, h, choice)
        assert r.status_code == 201 and set(r.get_json()) == {"receipt"}
        receipts.append(r.get_json()["receipt"])
    assert len(set(receipts)) == 3 and all(len(x) == 64 for x in receipts)
    r = _vote(client, p.id, voters[0], "against")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_voted"
    r = _vote(client, p.id, bearer(make_user()), "maybe")
    assert r.status_code == 422 and "choice" in r.get_json()["error"]["fields"]
    r = _vote(client, p.id, bearer(make_user(verified=False)), "for")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_verified"
    data = client.get(f"/api/v1/proposals/{p.id}").get_json()
    assert "tally" in data and data["tally"] is None
    r = client.get(f"/api/v1/proposals/{p.id}/ballots")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_counted"
    # deciding before the vote ends is refused
    r = client.post(f"/api/v1/proposals/{p.id}/transitions", json={"to": "accepted", "answer": ANSWER},
                    headers=bearer(staff))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "vote_not_ended"

    # the end passes: the tally stays null (a GET never counts), ballots are refused, staff wait
    db.session.execute(update(Proposal).where(Proposal.id == p.id).values(vote_ends_at=future(-0.001)))
    db.session.commit()
    assert client.get(f"/api/v1/proposals/{p.id}").get_json()["tally"] is None
    assert client.get(f"/api/v1/proposals/{p.id}/ballots").get_json()["error"]["code"] == "not_counted"
    r = _vote(client, p.id, bearer(make_user()), "for")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_voting"
    r = client.post(f"/api/v1/proposals/{p.id}/transitions", json={"to": "accepted", "answer": ANSWER},
                    headers=bearer(staff))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_counted"

    assert end_and_count(p.id).counted == [p.id]
    assert client.get(f"/api/v1/proposals/{p.id}").get_json()["tally"] == {"for": 2, "against": 1}
    listed = client.get(f"/api/v1/proposals/{p.id}/ballots").get_json()
    assert listed == {"items": sorted(receipts), "next_cursor": None}
    r = client.post(f"/api/v1/proposals/{p.id}/transitions", json={"to": "accepted", "answer": ANSWER},
                    headers=bearer(staff))
    assert r.status_code == 200 and r.get_json()["tally"] == {"for": 2, "against": 1}


def test_a_ballot_after_the_count_is_refused_even_if_the_end_moves(client, make_user, bearer, new_proposal,
                                                                    start_vote, end_and_count):
    p = new_proposal(make_user())
    start_vote(p.id)
    assert _vote(client, p.id, bearer(make_user()), "for").status_code == 201
    end_and_count(p.id)
    # e.g. hidden during the vote and restored with a later end: the counted box stays shut
    db.session.execute(update(Proposal).where(Proposal.id == p.id).values(vote_ends_at=future(1)))
    db.session.commit()
    r = _vote(client, p.id, bearer(make_user()), "against")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_voting"
    assert db.session.scalar(select(func.count()).select_from(SealedBallot)) == 1
    assert service.count_ended_votes(db.session).counted == []  # counted once


def test_no_table_links_a_voter_to_a_choice(app, client, make_user, bearer, new_proposal, start_vote):
    insp = inspect(db.engine)
    user_tables = set()
    for table in insp.get_table_names():
        columns = {c["name"] for c in insp.get_columns(table)}
        refs_user = any(fk["referred_table"] == "user" for fk in insp.get_foreign_keys(table))
        if refs_user:
            user_tables.add(table)
        ballot = "choice" in columns or (table.startswith("proposal") and "sealed" in columns)
        assert not (refs_user and ballot), f"{table} links a user to a choice"
    assert "proposal_ballot_participation" in user_tables
    # the envelopes hold nothing that orders them in time: no timestamp, no serial
    assert {c["name"] for c in insp.get_columns("proposal_ballot_participation")} == {"id", "proposal_id", "user_id"}
    assert {c["name"] for c in insp.get_columns("proposal_sealed_ballots")} == {"proposal_id", "receipt", "sealed"}
    for table in ("proposal_sealed_ballots", "proposal_ballot_tally"):
        assert not any(t in str(c["type"]).lower() for c in insp.get_columns(table) for t in ("time", "date"))
    # in use: three ballots are three participants, three sealed ballots, and no tally yet
    p = new_proposal(make_user())
    start_vote(p.id)
    for choice in ("for", "against", "for"):
        assert _vote(client, p.id, bearer(make_user()), choice).status_code == 201
    assert db.session.scalar(select(func.count()).select_from(BallotParticipation)) == 3
    assert db.session.scalar(select(func.count()).select_from(BallotTally)) == 0
    sealed = db.session.scalars(select(SealedBallot.sealed)).all()
    assert [len(s) for s in sealed] == [SEALED_BALLOT_LENGTH] * 3
    assert not any(choice.encode() in bytes(s) for s in sealed for choice in ("for", "against"))


def test_sealed_ballots_are_one_length_and_open_only_with_the_vote_key(app):
    key = PrivateKey.generate()
    public = bytes(key.public_key)
    ballots = {choice: [sealing.seal(public, choice) for _ in range(20)] for choice in ("for", "against")}
    assert {len(b) for bs in ballots.values() for b in bs} == {SEALED_BALLOT_LENGTH}
    assert len({b for bs in ballots.values() for b in bs}) == 40  # the same choice never seals alike
    assert {sealing.unseal(key, b) for b in ballots["against"]} == {"against"}
    with pytest.raises(sealing.BallotKeyError):
        sealing.unseal(PrivateKey.generate(), ballots["for"][0])
    with pytest.raises(ValueError):
        sealing.seal(public, "maybe")


def test_the_private_key_is_encrypted_at_rest_and_erased_by_the_count(app, client, make_user, bearer,
                                                                      new_proposal, start_vote, end_and_count):
    app.config["PROPOSAL_BALLOT_KEY_ENCRYPTION_KEY"] = "a long secret kept apart from the database"
    p = new_proposal(make_user())
    start_vote(p.id)
    box = db.session.get(BallotBox, p.id)
    assert len(box.public_key) == 32 and box.counted_at is None
    private = sealing.open_private_key(box.private_key_encrypted)
    assert bytes(private.public_key) == box.public_key
    assert bytes(private) not in box.private_key_encrypted
    app.config["PROPOSAL_BALLOT_KEY_ENCRYPTION_KEY"] = ""  # SECRET_KEY's key does not open it
    with pytest.raises(sealing.BallotKeyError):
        sealing.open_private_key(box.private_key_encrypted)
    app.config["PROPOSAL_BALLOT_KEY_ENCRYPTION_KEY"] = "a long secret kept apart from the database"
    assert _vote(client, p.id, bearer(make_user()), "against").status_code == 201
    assert end_and_count(p.id).counted == [p.id]
    box = db.session.get(BallotBox, p.id)
    assert box.counted_at is not None and box.private_key_encrypted is None


def test_a_vote_that_cannot_be_counted_stays_uncounted_and_says_why(app, client, make_user, bearer, new_proposal,
                                                                  start_vote, end_and_count, caplog):
    p = new_proposal(make_user())
    start_vote(p.id)
    assert _vote(client, p.id, bearer(make_user()), "for").status_code == 201
    app.config["SECRET_KEY"] = "another secret than the one that sealed the key"
    with caplog.at_level(logging.ERROR, logger="proposals.service.counting"):
        report = end_and_count(p.id)
    assert report.counted == [] and "decrypt" in report.failed[p.id]
    assert "not counted" in caplog.text
    assert db.session.get(BallotBox, p.id).counted_at is None
    assert db.session.scalar(select(func.count()).select_from(BallotTally)) == 0
    result = app.test_cli_runner().invoke(args=["proposals", "count-ballots"])
    assert result.exit_code == 1 and f"not counted #{p.id}" in result.output


def test_count_by_cli_and_beat_task(app, client, make_user, bearer, new_proposal, start_vote):
    from proposals import tasks

    beat = app.extensions["celery"].conf.beat_schedule
    assert beat["proposals-count-ballots"] == {"task": "proposals.count_ballots", "schedule": 60.0}
    first, second = new_proposal(make_user()), new_proposal(make_user(), title="두 번째 투표 안건입니다")
    for p in (first, second):
        start_vote(p.id)
        assert _vote(client, p.id, bearer(make_user()), "for").status_code == 201
    db.session.execute(update(Proposal).where(Proposal.id == first.id).values(vote_ends_at=future(-0.001)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["proposals", "count-ballots"])
    assert result.exit_code == 0 and result.output.strip() == f"counted 1 #{first.id}"
    assert app.test_cli_runner().invoke(args=["proposals", "count-ballots"]).output.strip() == "counted 0"
    assert client.get(f"/api/v1/proposals/{second.id}").get_json()["tally"] is None  # still running
    db.session.execute(update(Proposal).where(Proposal.id == second.id).values(vote_ends_at=future(-0.001)))
    db.session.commit()
    assert tasks.count_ballots.delay().get() == 1
    assert client.get(f"/api/v1/proposals/{second.id}").get_json()["tally"] == {"for": 1, "against": 0}


def test_receipts_page_through_in_order(client, make_user, bearer, new_proposal, start_vote, end_and_count):
    p = new_proposal(make_user())
    start_vote(p.id)
    receipts = [_vote(client, p.id, bearer(make_user()), c).get_json()["receipt"]
                for c in ("for", "against", "against", "for", "for")]
    end_and_count(p.id)
    seen, url = [], f"/api/v1/proposals/{p.id}/ballots?limit=2"
    while url:
        page = client.get(url).get_json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        url = page["next_cursor"] and f"/api/v1/proposals/{p.id}/ballots?limit=2&cursor={page['next_cursor']}"
    assert seen == sorted(receipts)
    never = new_proposal(make_user(), title="투표에 부쳐진 적 없는 제안")
    r = client.get(f"/api/v1/proposals/{never.id}/ballots")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_voting"
    assert client.get("/api/v1/proposals/999999/ballots").status_code == 404


def test_the_page_shows_the_receipt_once_then_the_counted_list(client, make_user, login, new_proposal, start_vote,
                                                               end_and_count):
    p = new_proposal(make_user())
    start_vote(p.id)
    login(client, make_user())
    assert client.form(f"/proposals/{p.id}/ballot", {"choice": "against"}).status_code == 302
    receipt = db.session.scalars(select(SealedBallot.receipt)).one()
    html = client.get(f"/proposals/{p.id}?lang=en").get_data(as_text=True)
    assert f'<code class="token">{receipt}</code>' in html and "You have voted." in html
    assert receipt not in client.get(f"/proposals/{p.id}?lang=en").get_data(as_text=True)  # shown once
    assert client.get(f"/proposals/{p.id}/ballots").status_code == 409
    end_and_count(p.id)
    html = client.get(f"/proposals/{p.id}?lang=en").get_data(as_text=True)
    assert f'href="/proposals/{p.id}/ballots"' in html and "Against: <strong>1</strong>" in html
    page = client.get(f"/proposals/{p.id}/ballots?lang=en&receipt={receipt}").get_data(as_text=True)
    assert f'<code class="token">{receipt}</code>' in page
    assert "This receipt is among the counted ballots." in page
    other = client.get(f"/proposals/{p.id}/ballots?lang=en&receipt={'0' * 64}").get_data(as_text=True)
    assert "This receipt is not among the counted ballots." in other
