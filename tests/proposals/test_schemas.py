"""Real API answers have exactly the shape their ``...Out`` models describe, and request
bodies refuse unknown fields."""

from __future__ import annotations

import pytest

from proposals.schemas import (
    CommentListOut,
    CommentOut,
    EndorsedOut,
    FlaggedOut,
    FollowingOut,
    ProposalDetailOut,
    ProposalListOut,
    ReceiptListOut,
    ReceiptOut,
    SimilarOut,
    TriageOut,
)
from tests.proposals.helpers import BODY, future


def _valid(model, resp, status=200):
    assert resp.status_code == status, resp.get_data(as_text=True)
    return model.model_validate_json(resp.get_data())


def test_answers_match_their_models(client, make_user, staff, bearer, set_state, end_and_count):
    author, fan = bearer(make_user()), bearer(make_user())
    body = {"title": "초등학교 앞 안전한 통학로", "body": BODY, "category": "safety", "district": "성동구"}
    created = _valid(ProposalDetailOut, client.post("/api/v1/proposals", json=body, headers=author), 201)
    assert created.tally is None and created.viewer.is_author
    pid = created.id
    other = _valid(ProposalDetailOut, client.post("/api/v1/proposals", headers=author, json={
        **body, "title": "중학교 통학로 가로등 설치"}), 201).id
    url = f"/api/v1/proposals/{pid}"

    endorsed = _valid(EndorsedOut, client.post(f"{url}/endorsement", headers=fan), 201)
    assert endorsed.endorsed and endorsed.endorsement_count == 1
    _valid(FollowingOut, client.put(f"{url}/follow", headers=fan), 201)
    comment = _valid(CommentOut, client.post(f"{url}/comments", json={"body": "저도 찬성합니다."}, headers=fan), 201)
    comments = _valid(CommentListOut, client.get(f"{url}/comments"))
    assert [c.id for c in comments.items] == [comment.id]
    _valid(FlaggedOut, client.post(f"{url}/flags", json={"reason": "광고"}, headers=fan), 201)

    listed = _valid(ProposalListOut, client.get("/api/v1/proposals?limit=1"))
    assert len(listed.items) == 1 and listed.next_cursor
    assert _valid(SimilarOut, client.get("/api/v1/proposals/similar?title=통학로")).items

    staff_h = bearer(staff)
    _valid(ProposalDetailOut, client.post(f"{url}/transitions", json={"to": "under_review"}, headers=staff_h))
    triage = _valid(TriageOut, client.get("/api/v1/proposals/triage", headers=staff_h))
    assert [(i.id, i.flags) for i in triage.items] == [(pid, 1)]
    _valid(ProposalDetailOut, client.post(f"{url}/transitions", headers=staff_h,
                                          json={"to": "voting", "vote_ends_at": future(1).isoformat()}))
    receipt = _valid(ReceiptOut, client.post(f"{url}/ballot", json={"choice": "for"}, headers=fan), 201).receipt
    end_and_count(pid)
    assert _valid(ReceiptListOut, client.get(f"{url}/ballots")).items == [receipt]
    ended = _valid(ProposalDetailOut, client.get(url, headers=fan))
    assert ended.tally.model_dump(by_alias=True) == {"for": 1, "against": 0}
    assert ended.viewer.endorsed and ended.viewer.following and ended.viewer.voted
    assert [(h.from_, h.to) for h in ended.history] == [("open", "under_review"), ("under_review", "voting")]
    _valid(ProposalDetailOut, client.post(f"{url}/transitions", headers=staff_h,
                                          json={"to": "accepted", "answer": "내년 예산에 반영합니다."}))
    hidden = _valid(ProposalDetailOut, client.post(f"/api/v1/proposals/{other}/transitions", headers=staff_h,
                                                   json={"to": "hidden", "reason": "중복"}))
    assert hidden.hidden_reason == "중복"
    _valid(ProposalDetailOut, client.post(f"/api/v1/proposals/{other}/transitions", headers=staff_h,
                                          json={"to": "open"}))
    merged = _valid(ProposalDetailOut, client.post(f"/api/v1/proposals/{other}/merge", json={"into": pid},
                                                   headers=staff_h))
    assert merged.id == pid and merged.answer


@pytest.mark.parametrize("path, body", [
    ("/api/v1/proposals", {"title": "초등학교 앞 안전한 통학로", "body": BODY, "category": "safety", "tags": []}),
    ("/api/v1/proposals/{id}/transitions", {"to": "under_review", "note": "x"}),
    ("/api/v1/proposals/{id}/ballot", {"choice": "for", "weight": 2}),
    ("/api/v1/proposals/{id}/comments", {"body": "좋아요", "reply_to": 1}),
    ("/api/v1/proposals/{id}/flags", {"reason": "광고", "severity": "high"}),
    ("/api/v1/proposals/{id}/merge", {"into": 1, "force": True}),
])
def test_unknown_fields_are_422(client, make_user, staff, bearer, new_proposal, path, body):
    p = new_proposal(make_user())
    r = client.post(path.replace("{id}", str(p.id)), json=body, headers=bearer(staff))
    assert r.status_code == 422
    extra = (set(body) - {"title", "body", "category", "to", "choice", "reason", "into"}).pop()
    assert extra in r.get_json()["error"]["fields"]
