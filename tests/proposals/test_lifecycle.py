"""A proposal's life: submitting, the status graph and its transitions, merging, closing
expired windows, the notices of a change."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.audit import AuditEntry
from portal.extensions import db
from proposals import service
from proposals.models import STATUSES
from tests.proposals.helpers import ANSWER, BODY, future, past, transitions_of

# -- submitting ----------------------------------------------------------------------------

GOOD = {"title": "초등학교 앞 안전한 통학로", "body": BODY, "category": "safety"}


def test_verified_resident_submits_a_proposal(client, resident, bearer):
    r = client.post("/api/v1/proposals", json={**GOOD, "district": "성동구"}, headers=bearer(resident))
    assert r.status_code == 201
    data = r.get_json()
    assert data["status"] == "open"
    assert data["endorsement_count"] == 0
    assert isinstance(data["id"], int)
    until = datetime.fromisoformat(data["endorse_until"])
    created = datetime.fromisoformat(data["created_at"])
    assert until - created == timedelta(days=30)
    assert client.get(f"/api/v1/proposals/{data['id']}").get_json()["title"] == GOOD["title"]


def test_endorsement_window_follows_config(app, client, resident, bearer):
    app.config["PROPOSAL_ENDORSEMENT_DAYS"] = "7"  # from the environment it arrives as a string
    data = client.post("/api/v1/proposals", json=GOOD, headers=bearer(resident)).get_json()
    span = datetime.fromisoformat(data["endorse_until"]) - datetime.fromisoformat(data["created_at"])
    assert span == timedelta(days=7)


def test_unverified_user_cannot_submit(client, make_user, bearer):
    r = client.post("/api/v1/proposals", json=GOOD, headers=bearer(make_user(verified=False)))
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "not_verified"


def test_anonymous_cannot_submit(client):
    r = client.post("/api/v1/proposals", json=GOOD, headers={"Authorization": "Bearer pt_not-a-token"})
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "unauthorized"


def test_invalid_proposal_gets_field_errors(client, resident, bearer):
    r = client.post("/api/v1/proposals", json={"title": "짧음", "body": "너무 짧은 본문", "category": "sports"},
                    headers=bearer(resident))
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert set(error["fields"]) == {"title", "body", "category"}
    r = client.post("/api/v1/proposals", json={"body": BODY}, headers=bearer(resident))
    assert r.status_code == 422
    assert set(r.get_json()["error"]["fields"]) == {"title", "category"}
    r = client.post("/api/v1/proposals", json={**GOOD, "title": "x" * 201}, headers=bearer(resident))
    assert r.status_code == 422 and "title" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/proposals", data="not json", headers=bearer(resident),
                    content_type="application/json")
    assert r.status_code == 422


# -- the status graph and its transitions --------------------------------------------------

ALLOWED = {
    ("open", "under_review"), ("open", "withdrawn"), ("under_review", "voting"),
    ("under_review", "accepted"), ("under_review", "rejected"), ("voting", "accepted"),
    ("voting", "rejected"), ("accepted", "implemented"),
}


def _payload(frm, to):
    body = {"to": to}
    if to in ("accepted", "rejected"):
        body["answer"] = ANSWER
    if to == "voting":
        body["vote_ends_at"] = future(7).isoformat()
    if to == "hidden":
        body["reason"] = "개인정보 노출"
    return body


def _state_for(frm):
    values = {"status_before_hidden": "open" if frm == "hidden" else None}
    if frm == "voting":
        values["vote_ends_at"] = past(1)  # the vote has ended: staff may decide
    return values


def test_every_transition_outside_the_table_is_409(client, make_user, staff, bearer, new_proposal, set_state):
    author = make_user()
    p = new_proposal(author)
    staff_h, author_h = bearer(staff), bearer(author)
    targets = [s for s in STATUSES if s != "merged"]
    tried = 0
    for frm in STATUSES:
        for to in targets:
            set_state(p.id, frm, **_state_for(frm))
            service.count_ended_votes(db.session)  # staff decide a vote once its ballots are counted
            allowed = (frm, to) in ALLOWED or (to == "hidden" and frm != "hidden") or (frm, to) == ("hidden", "open")
            headers = author_h if (frm, to) == ("open", "withdrawn") else staff_h
            r = client.post(f"/api/v1/proposals/{p.id}/transitions", json=_payload(frm, to), headers=headers)
            if allowed:
                assert r.status_code == 200, (frm, to, r.get_json())
                assert r.get_json()["status"] == to
            else:
                assert r.status_code == 409, (frm, to, r.get_json())
                assert r.get_json()["error"]["code"] == "invalid_transition"
            tried += 1
    assert tried == len(STATUSES) * len(targets)


def test_transition_rights(client, make_user, staff, bearer, new_proposal, set_state, reload):
    author, other = make_user(), make_user()
    p = new_proposal(author)
    url = f"/api/v1/proposals/{p.id}/transitions"
    assert client.post(url, json={"to": "under_review"}, headers=bearer(other)).status_code == 403
    assert client.post(url, json={"to": "under_review"}, headers=bearer(author)).status_code == 403
    assert client.post(url, json={"to": "withdrawn"}, headers=bearer(other)).status_code == 403
    r = client.post(url, json={"to": "withdrawn"}, headers=bearer(staff))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_author"
    assert reload(p.id).status == "open"
    assert client.post(url, json={"to": "withdrawn"}, headers=bearer(author)).status_code == 200
    assert reload(p.id).status == "withdrawn"
    assert client.post(url, json={"to": "nowhere"}, headers=bearer(staff)).status_code == 422


def test_required_fields_of_transitions(client, make_user, staff, bearer, new_proposal, set_state, reload):
    p = new_proposal(make_user())
    set_state(p.id, "under_review")
    url, h = f"/api/v1/proposals/{p.id}/transitions", bearer(staff)
    r = client.post(url, json={"to": "accepted"}, headers=h)
    assert r.status_code == 422 and "answer" in r.get_json()["error"]["fields"]
    r = client.post(url, json={"to": "voting"}, headers=h)
    assert r.status_code == 422 and "vote_ends_at" in r.get_json()["error"]["fields"]
    r = client.post(url, json={"to": "voting", "vote_ends_at": past(1).isoformat()}, headers=h)
    assert r.status_code == 422 and "vote_ends_at" in r.get_json()["error"]["fields"]
    r = client.post(url, json={"to": "hidden"}, headers=h)
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]
    assert reload(p.id).status == "under_review"
    r = client.post(url + "?lang=zh", json={"to": "accepted", "answer": ANSWER, "department": "교통행정과"},
                    headers=h)
    assert r.status_code == 200
    assert r.get_json()["answer"] == ANSWER["zh"] and r.get_json()["answer_lang"] == "zh"
    assert r.get_json()["department"] == "교통행정과"
    assert client.get(f"/api/v1/proposals/{p.id}?lang=en").get_json()["answer"] == ANSWER["en"]


def test_history_audit_and_followers_told(client, make_user, staff, bearer, new_proposal, set_state):
    from portal.notify.models import Message

    author, follower = make_user(), make_user()
    p = new_proposal(author)
    assert client.put(f"/api/v1/proposals/{p.id}/follow", headers=bearer(follower)).status_code == 201
    assert client.put(f"/api/v1/proposals/{p.id}/follow", headers=bearer(follower)).status_code == 200
    url, h = f"/api/v1/proposals/{p.id}/transitions", bearer(staff)
    client.post(url, json={"to": "under_review"}, headers=h)
    client.post(url, json={"to": "hidden", "reason": "욕설 포함"}, headers=h)
    client.post(url, json={"to": "under_review"}, headers=h)  # back from hidden
    history = client.get(f"/api/v1/proposals/{p.id}").get_json()["history"]
    assert [(t["from"], t["to"]) for t in history] == [
        ("open", "under_review"), ("under_review", "hidden"), ("hidden", "under_review")]
    assert history[1]["note"] is None  # the reason for hiding is for staff (test_hide_reasons_...)
    assert client.get(f"/api/v1/proposals/{p.id}", headers=h).get_json()["history"][1]["note"] == "욕설 포함"
    audited = db.session.scalars(select(AuditEntry.details).where(
        AuditEntry.action == "proposals.transition", AuditEntry.target_id == str(p.id))).all()
    assert [(d["from_status"], d["to_status"]) for d in audited] == [(t["from"], t["to"]) for t in history]
    told = db.session.scalars(select(Message.user_id).where(Message.template == "proposals.status_changed")).all()
    assert sorted(told) == sorted([author.id, follower.id] * 3)
    assert client.delete(f"/api/v1/proposals/{p.id}/follow", headers=bearer(follower)).status_code == 204


def test_hidden_proposal_is_only_for_staff(client, make_user, staff, bearer, new_proposal, set_state):
    p = new_proposal(make_user())
    set_state(p.id, "hidden", status_before_hidden="open", hidden_reason="spam")
    assert client.get(f"/api/v1/proposals/{p.id}").status_code == 404
    assert client.get(f"/api/v1/proposals/{p.id}", headers=bearer(staff)).status_code == 200


# -- merging duplicates, closing expired windows ------------------------------------------

def test_merge_carries_endorsers_over_once(client, make_user, staff, bearer, new_proposal, reload):
    a_author, b_author = make_user(), make_user()
    target = new_proposal(a_author, title="중랑천 산책로 야간 조명 개선")
    dup = new_proposal(b_author, title="중랑천 산책로가 너무 어두워요")
    both, only_dup = make_user(), make_user()
    for u, p in [(both, target), (both, dup), (only_dup, dup), (a_author, dup)]:
        assert client.post(f"/api/v1/proposals/{p.id}/endorsement", headers=bearer(u)).status_code == 201
    r = client.post(f"/api/v1/proposals/{dup.id}/merge", json={"into": target.id}, headers=bearer(staff))
    assert r.status_code == 200
    # both once, only_dup carried over; the target's own author does not endorse it
    assert r.get_json()["endorsement_count"] == 2
    assert reload(dup.id).status == "merged" and reload(dup.id).merged_into_id == target.id
    assert client.post(f"/api/v1/proposals/{dup.id}/merge", json={"into": target.id},
                       headers=bearer(staff)).status_code == 409
    assert client.post(f"/api/v1/proposals/{target.id}/merge", json={"into": target.id},
                       headers=bearer(staff)).status_code == 422
    assert client.post(f"/api/v1/proposals/{target.id}/merge", json={"into": dup.id},
                       headers=bearer(both)).status_code == 403


def test_merge_into_a_proposal_that_does_not_exist_is_404_naming_into(client, login, make_user, staff, bearer,
                                                                      new_proposal, reload):
    """A well-formed id of no proposal is not found (as for the path's id), not 'invalid input';
    the form says so beside the field and leaves the duplicate as it was."""
    dup = new_proposal(make_user())
    r = client.post(f"/api/v1/proposals/{dup.id}/merge", json={"into": dup.id + 1000}, headers=bearer(staff))
    assert r.status_code == 404
    assert set(r.get_json()["error"]["fields"]) == {"into"}
    assert client.post(f"/api/v1/proposals/{dup.id + 1000}/merge", json={"into": dup.id},
                       headers=bearer(staff)).status_code == 404
    login(client, staff)
    page = client.form(f"/proposals/{dup.id}/merge", {"into": str(dup.id + 1000)})
    assert page.status_code == 302
    assert reload(dup.id).status == "open"


def test_merge_can_reach_the_threshold(app, client, make_user, staff, bearer, new_proposal, reload):
    app.config["PROPOSAL_ENDORSEMENT_THRESHOLD"] = 2
    target, dup = new_proposal(make_user()), new_proposal(make_user(), title="비슷한 통학로 제안")
    client.post(f"/api/v1/proposals/{target.id}/endorsement", headers=bearer(make_user()))
    client.post(f"/api/v1/proposals/{dup.id}/endorsement", headers=bearer(make_user()))
    client.post(f"/api/v1/proposals/{dup.id}/merge", json={"into": target.id}, headers=bearer(staff))
    assert reload(target.id).status == "under_review"
    assert len(transitions_of(target.id, "under_review")) == 1


def test_window_end_below_threshold_closes(app, make_user, new_proposal, set_state, reload):
    done, running, enough = (new_proposal(make_user(), title=f"마감 테스트 제안 {i}") for i in range(3))
    set_state(done.id, "open", endorse_until=past(1))
    set_state(enough.id, "under_review", endorse_until=past(1))
    from proposals.tasks import close_expired

    assert close_expired.delay().get() == 1
    assert reload(done.id).status == "closed"
    assert reload(running.id).status == "open"
    assert reload(enough.id).status == "under_review"
    assert [(t.from_status, t.to_status) for t in transitions_of(done.id)] == [("open", "closed")]
    assert service.close_expired(db.session) == 0


# -- notices of a change -------------------------------------------------------------------

@pytest.mark.parametrize("locale, subject, status", [
    ("ko", "관심 제안의 상태가 바뀌었습니다", "채택"),
    ("en", "A proposal you follow has changed", "Accepted"),
    ("zh", "您关注的提案有了新变化", "已采纳"),
])
def test_notices_render_in_the_recipients_language(app, locale, subject, status):
    from portal.notify import service as notify

    context = {"proposal_id": 7, "title": "안전한 통학로", "from_status": "under_review", "to_status": "accepted",
               "from_label": "Under review", "to_label": "Accepted"}
    subj, body, voice = notify.render("proposals.status_changed", context, locale)
    assert subj == subject
    assert status in body and "안전한 통학로" in body and "/proposals/7" in body
    assert status in voice
    subj, body, _voice = notify.render("proposals.threshold_reached",
                                       {"proposal_id": 7, "title": "안전한 통학로", "threshold": 50}, locale)
    assert "50" in body and subj


# -- who has a voice; who reads a hiding's reason ------------------------------------------

def test_an_unconfirmed_address_has_no_voice(client, make_user, bearer, new_proposal, start_vote):
    """Proposing, endorsing and voting need a confirmed address (403 email_not_confirmed);
    once confirmed, the same account speaks."""
    from sqlalchemy import func, update

    from portal.accounts.models import User
    from portal.types import utcnow
    from proposals.models import BallotParticipation, Endorsement, Proposal, SealedBallot

    quiet = make_user(email_confirmed=False)
    h = bearer(quiet)
    p, vote = new_proposal(make_user()), new_proposal(make_user(), title="투표 중인 다른 제안입니다")
    start_vote(vote.id)
    acts = [("/api/v1/proposals", GOOD), (f"/api/v1/proposals/{p.id}/endorsement", None),
            (f"/api/v1/proposals/{vote.id}/ballot", {"choice": "for"})]
    for url, body in acts:
        r = client.post(url, json=body, headers=h)
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "email_not_confirmed", url
        assert "Confirm your email address" in client.post(f"{url}?lang=en", json=body, headers=h
                                                           ).get_json()["error"]["message"]
    counts = [db.session.scalar(select(func.count()).select_from(m)) for m in
              (Proposal, Endorsement, BallotParticipation, SealedBallot)]
    assert counts == [2, 0, 0, 0]
    db.session.execute(update(User).where(User.id == quiet.id).values(email_confirmed_at=utcnow()))
    db.session.commit()
    assert [client.post(url, json=body, headers=h).status_code for url, body in acts] == [201, 201, 201]


def test_hide_reasons_stay_staff_only_also_after_a_restore(app, client, make_user, staff, bearer, login,
                                                           new_proposal):
    author = make_user()
    p = new_proposal(author)
    reason = "본문에 다른 주민의 전화번호가 노출됨"
    url = f"/api/v1/proposals/{p.id}"
    r = client.post(f"{url}/transitions", json={"to": "hidden", "reason": reason}, headers=bearer(staff))
    assert r.status_code == 200 and r.get_json()["hidden_reason"] == reason
    viewers = {"anonymous": None, "resident": make_user(), "author": author, "staff": staff}

    def read(who):
        api = client.get(url, headers=bearer(who) if who else {})
        browser = app.test_client()
        if who:
            login(browser, who)
        page = browser.get(f"/proposals/{p.id}")
        return api, page

    for name, who in viewers.items():  # hidden: only staff see it, and why
        api, page = read(who)
        if name == "staff":
            assert api.get_json()["hidden_reason"] == reason and reason in page.get_data(as_text=True)
        else:
            assert (api.status_code, page.status_code) == (404, 404), name
            assert reason not in str(api.get_json()) + page.get_data(as_text=True), name
    assert client.post(f"{url}/transitions", json={"to": "open"}, headers=bearer(staff)).status_code == 200
    for name, who in viewers.items():  # restored: everyone sees it, only staff see why it was hidden
        api, page = read(who)
        assert (api.status_code, page.status_code) == (200, 200), name
        assert [(t["from"], t["to"]) for t in api.get_json()["history"]] == [("open", "hidden"), ("hidden", "open")]
        shown = reason in str(api.get_json()), reason in page.get_data(as_text=True)
        assert shown == ((True, True) if name == "staff" else (False, False)), name
