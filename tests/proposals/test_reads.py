"""A GET never writes: every page and API GET of proposals, for every kind of reader, on
proposals in every state a vote goes through, sends no INSERT, UPDATE, DELETE or row lock.

(In particular a vote that has ended is counted by the beat task or the CLI, never by a read:
its tally stays null until then.)"""

from __future__ import annotations

import re

from sqlalchemy import event, update

from portal.extensions import db
from proposals import service
from proposals.models import Proposal
from tests.proposals.helpers import future

WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|LOCK)\b|\bFOR\s+(UPDATE|SHARE|NO KEY UPDATE|KEY SHARE)\b",
                    re.IGNORECASE)


def _proposals_in_every_state(make_user, staff, bearer, client, new_proposal, start_vote, end_and_count):
    author, fan = make_user(), make_user()
    fan_h = bearer(fan)
    made = {}
    made["open"] = new_proposal(author)
    client.post(f"/api/v1/proposals/{made['open'].id}/endorsement", headers=fan_h)
    client.put(f"/api/v1/proposals/{made['open'].id}/follow", headers=fan_h)
    client.post(f"/api/v1/proposals/{made['open'].id}/comments", json={"body": "좋은 제안입니다."}, headers=fan_h)
    for state in ("voting", "ended", "counted"):
        made[state] = new_proposal(author, title=f"투표 단계를 보여 주는 제안 {state}")
        start_vote(made[state].id)
        client.post(f"/api/v1/proposals/{made[state].id}/ballot", json={"choice": "for"}, headers=fan_h)
    end_and_count(made["counted"].id)
    made["hidden"] = new_proposal(author, title="숨겨진 상태의 제안입니다")
    client.post(f"/api/v1/proposals/{made['hidden'].id}/transitions", json={"to": "hidden", "reason": "광고"},
                headers=bearer(staff))
    made["merged"] = new_proposal(author, title="병합된 상태의 제안입니다")
    client.post(f"/api/v1/proposals/{made['merged'].id}/merge", json={"into": made["open"].id},
                headers=bearer(staff))
    db.session.execute(update(Proposal).where(Proposal.id == made["ended"].id).values(vote_ends_at=future(-0.001)))
    db.session.commit()
    return author, fan, made


def _get_urls(app, made) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.split(".")[0] not in ("proposals", "proposals_api"):
            continue
        if rule.endpoint == "proposals.static":
            continue
        if "proposal_id" in rule.arguments:
            urls += [rule.rule.replace("<int:proposal_id>", str(p.id)) for p in made.values()]
        else:
            urls.append(rule.rule)
    receipt = "0" * 64
    urls += [f"/proposals/{made['counted'].id}/ballots?receipt={receipt}", "/proposals/?sort=ending&lang=en",
             "/api/v1/proposals?status=hidden", "/api/v1/proposals/similar?title=제안"]
    return urls


def test_no_get_writes(app, client, make_user, staff, bearer, login, new_proposal, start_vote, end_and_count):
    author, fan, made = _proposals_in_every_state(make_user, staff, bearer, client, new_proposal, start_vote,
                                                  end_and_count)
    readers = {"anonymous": app.test_client()}
    for name, who in (("resident", make_user()), ("author", author), ("voter", fan), ("staff", staff)):
        readers[name] = login(app.test_client(), who)
    tokens = {"staff token": bearer(staff), "voter token": bearer(fan)}
    urls = _get_urls(app, made)
    assert len(urls) > 40
    written = []

    def record(_conn, _cursor, statement, *_args):
        if WRITES.search(statement):
            written.append(statement.split("\n")[0][:120])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        answers = {}
        for url in urls:
            for name, reader in readers.items():
                answers[name, url] = reader.get(url).status_code
            for name, headers in tokens.items():
                answers[name, url] = client.get(url, headers=headers).status_code
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert written == []
    assert set(answers.values()) <= {200, 401, 403, 404, 409}, {k: v for k, v in answers.items() if v >= 500}
    # and nothing was counted by a read: the ended vote waits for the count
    db.session.expire_all()
    assert service.tally(db.session, db.session.get(Proposal, made["ended"].id)) is None
    assert service.tally(db.session, db.session.get(Proposal, made["counted"].id)) == {"for": 1, "against": 0}
