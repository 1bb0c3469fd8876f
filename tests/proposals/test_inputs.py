"""Hostile and careless input (Trust II): times without an offset or outside a sane range,
texts a person cannot see, numbers beyond the id column, wrong types, query strings and
bodies that are not what an endpoint reads. Each is a 422 (API) or a page with a translated
message, never a 500, and nothing is stored."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from proposals import limits
from proposals.models import Comment, Flag, Proposal
from tests.proposals.helpers import ANSWER, BODY, future

SEOUL = ZoneInfo("Asia/Seoul")
GOOD = {"title": "초등학교 앞 안전한 통학로", "body": BODY, "category": "safety"}

# Made only of what a person cannot see: zero-width spaces and joiners, bidi controls (U+202E
# turns text around), Hangul fillers, the blank braille pattern, a byte order mark.
INVISIBLE = ["\u200b" * 6, "\u202e\u202d\u2066\u2069\u200f\u200e", "\u3164" * 6,
             "\u115f\u1160\uffa0\u2800\ufeff\u200d"]


def _fields(r) -> dict:
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True)[:300])
    return r.get_json()["error"]["fields"]


@pytest.fixture
def under_review(new_proposal, make_user, set_state):
    p = new_proposal(make_user())
    set_state(p.id, "under_review")
    return p


# -- when a vote ends ----------------------------------------------------------------------

def test_api_vote_end_without_an_offset_is_422(client, staff, bearer, under_review, reload):
    """18:00 without an offset was read as UTC: a Korean client's vote ended 9 hours late."""
    day = (datetime.now(SEOUL) + timedelta(days=7)).date()
    r = client.post(f"/api/v1/proposals/{under_review.id}/transitions",
                    json={"to": "voting", "vote_ends_at": f"{day}T18:00:00"}, headers=bearer(staff))
    assert "vote_ends_at" in _fields(r)
    assert reload(under_review.id).status == "under_review"


def test_api_vote_end_with_its_offset_is_that_instant(client, staff, bearer, under_review, reload):
    day = (datetime.now(SEOUL) + timedelta(days=7)).date()
    r = client.post(f"/api/v1/proposals/{under_review.id}/transitions",
                    json={"to": "voting", "vote_ends_at": f"{day}T18:00:00+09:00"}, headers=bearer(staff))
    assert r.status_code == 200, r.get_json()
    assert reload(under_review.id).vote_ends_at == datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    assert datetime.fromisoformat(r.get_json()["vote_ends_at"]) == datetime(day.year, day.month, day.day, 9,
                                                                            tzinfo=UTC)


@pytest.mark.parametrize("when, message", [
    ("9999-12-31T23:59:59-14:00", "The vote must end within 366 days."),  # overflowed in UTC
    ("9999-12-31T23:59:59+00:00", "The vote must end within 366 days."),
    ("0001-01-01T00:00:00+14:00", "The end of the vote must be in the future."),  # overflowed too
    ("far", "The vote must end within 366 days."),
])
def test_api_vote_end_outside_a_sane_range_is_422(client, staff, bearer, under_review, reload, when, message):
    if when == "far":
        when = future(limits.VOTE_DAYS_MAX + 1).isoformat()
    r = client.post(f"/api/v1/proposals/{under_review.id}/transitions?lang=en",
                    json={"to": "voting", "vote_ends_at": when}, headers=bearer(staff))
    assert _fields(r) == {"vote_ends_at": message}
    assert reload(under_review.id).status == "under_review"


@pytest.mark.parametrize("when, message", [
    ("9999-12-31T23:59", "The vote must end within 366 days."),
    ("0001-01-01T00:00", "The end of the vote must be in the future."),  # 0000-12-31 in UTC: overflowed
])
def test_page_vote_end_outside_a_sane_range_is_a_message(client, make_user, login, under_review, reload, when,
                                                          message):
    login(client, make_user(roles=("staff",), locale="en"))
    r = client.form(f"/proposals/{under_review.id}/transition", {"to": "voting", "vote_ends_at": when},
                    follow_redirects=True)
    # the form comes back (422) with the message beside the field (issue 13), not on the next page
    assert r.status_code == 422
    assert re.search(r'<p class="error" id="vote_ends_at-error">[^<]*' + re.escape(message), r.get_data(as_text=True))
    assert reload(under_review.id).status == "under_review"


def test_the_service_refuses_a_time_without_an_offset(app, staff, under_review, reload):
    from portal.errors import Invalid
    from proposals import service

    with pytest.raises(Invalid) as caught:
        service.transition(db.session, staff, under_review.id, "voting",
                           vote_ends_at=(datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None))
    assert set(caught.value.fields) == {"vote_ends_at"}
    assert reload(under_review.id).status == "under_review"


# -- texts a person cannot see -------------------------------------------------------------

@pytest.mark.parametrize("blank", INVISIBLE)
@pytest.mark.parametrize("field", ["title", "body", "district", "location"])
def test_api_proposal_texts_need_visible_characters(client, resident, bearer, field, blank):
    body = {**GOOD, field: blank * (4 if field == "body" else 1)}
    assert set(_fields(client.post("/api/v1/proposals", json=body, headers=bearer(resident)))) == {field}
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0


def test_page_proposal_title_needs_visible_characters(client, make_user, login):
    login(client, make_user(locale="en"))
    r = client.form("/proposals/new", {**GOOD, "title": "\u200b\u202e\u3164\u2800\u200b"})
    assert r.status_code == 422 and "characters a person can see" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0


@pytest.mark.parametrize("blank", INVISIBLE)
def test_comments_and_reports_need_visible_characters(client, resident, bearer, login, new_proposal, make_user,
                                                       blank):
    p = new_proposal(make_user())
    h = bearer(resident)
    assert set(_fields(client.post(f"/api/v1/proposals/{p.id}/comments", json={"body": blank}, headers=h))) \
        == {"body"}
    assert set(_fields(client.post(f"/api/v1/proposals/{p.id}/flags", json={"reason": blank}, headers=h))) \
        == {"reason"}
    login(client, resident)
    assert client.form(f"/proposals/{p.id}/comments", {"body": blank}).status_code == 302
    assert client.form(f"/proposals/{p.id}/flag", {"reason": blank}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0
    assert db.session.scalar(select(func.count()).select_from(Flag)) == 0


@pytest.mark.parametrize("blank", INVISIBLE)
def test_what_staff_write_needs_visible_characters(client, staff, bearer, login, under_review, reload, blank):
    url, h = f"/api/v1/proposals/{under_review.id}/transitions", bearer(staff)
    assert set(_fields(client.post(url, json={"to": "hidden", "reason": blank}, headers=h))) == {"reason"}
    assert set(_fields(client.post(url, json={"to": "accepted", "answer": blank}, headers=h))) == {"answer.ko"}
    assert set(_fields(client.post(url, json={"to": "accepted", "answer": {**ANSWER, "en": blank}}, headers=h))) \
        == {"answer.en"}
    assert set(_fields(client.post(url, json={"to": "accepted", "answer": ANSWER, "department": blank},
                                   headers=h))) == {"department"}
    login(client, staff)
    assert client.form(f"/proposals/{under_review.id}/department", {"department": blank}).status_code == 302
    p = reload(under_review.id)
    assert (p.status, p.department, p.answer, p.hidden_reason) == ("under_review", None, None, None)


# -- numbers, lengths, types ---------------------------------------------------------------

def test_merge_into_an_id_beyond_the_column(client, staff, bearer, login, new_proposal, make_user, reload):
    p = new_proposal(make_user())
    for into in (2**31, 96374589863, 0, -1):
        r = client.post(f"/api/v1/proposals/{p.id}/merge", json={"into": into}, headers=bearer(staff))
        assert set(_fields(r)) == {"into"}
    login(client, staff)
    r = client.form(f"/proposals/{p.id}/merge", {"into": "96374589863"})
    assert r.status_code == 302
    assert reload(p.id).status == "open"


@pytest.mark.parametrize("field, n", [("title", limits.TITLE_MAX), ("district", limits.DISTRICT_MAX),
                                      ("location", limits.LOCATION_MAX), ("body", limits.BODY_MAX)])
def test_texts_longer_than_their_columns_are_422(client, resident, bearer, field, n):
    r = client.post("/api/v1/proposals", json={**GOOD, field: "가" * (n + 1)}, headers=bearer(resident))
    assert set(_fields(r)) == {field}


def test_what_staff_write_longer_than_its_column_is_422(client, staff, bearer, under_review, new_proposal,
                                                        make_user, resident):
    url, h = f"/api/v1/proposals/{under_review.id}/transitions", bearer(staff)
    long_department = "과" * (limits.DEPARTMENT_MAX + 1)
    r = client.post(url, json={"to": "accepted", "answer": ANSWER, "department": long_department}, headers=h)
    assert set(_fields(r)) == {"department"}
    r = client.post(url, json={"to": "hidden", "reason": "x" * (limits.REASON_MAX + 1)}, headers=h)
    assert set(_fields(r)) == {"reason"}
    r = client.post(url, json={"to": "accepted", "answer": {"ko": "x" * (limits.ANSWER_MAX + 1)}}, headers=h)
    assert set(_fields(r)) == {"answer.ko"}
    r = client.post(f"/api/v1/proposals/{under_review.id}/flags", json={"reason": "x" * (limits.REASON_MAX + 1)},
                    headers=bearer(resident))
    assert set(_fields(r)) == {"reason"}


@pytest.mark.parametrize("body, field", [
    ({**GOOD, "title": 12345}, "title"), ({**GOOD, "category": ["safety"]}, "category"),
    ({**GOOD, "district": {"a": 1}}, "district"),
])
def test_wrong_types_are_422(client, resident, bearer, body, field):
    assert field in _fields(client.post("/api/v1/proposals", json=body, headers=bearer(resident)))


def test_transitions_with_wrong_types_are_422(client, staff, bearer, under_review):
    url, h = f"/api/v1/proposals/{under_review.id}/transitions", bearer(staff)
    assert "to" in _fields(client.post(url, json={"to": 5}, headers=h))
    assert any(k.startswith("answer") for k in _fields(client.post(url, json={"to": "accepted", "answer": {"ko": 5}},
                                                                   headers=h)))
    assert "answer" in _fields(client.post(url, json={"to": "accepted", "answer": {"ja": "はい"}}, headers=h))
    assert "vote_ends_at" in _fields(client.post(url, json={"to": "voting", "vote_ends_at": 10**30}, headers=h))
    assert "vote_ends_at" in _fields(client.post(url, json={"to": "voting", "vote_ends_at": "soon"}, headers=h))


@pytest.mark.parametrize("raw", [b"", b"[]", b'"title"', b"null", b"12", b"{"])
def test_bodies_that_are_not_a_json_object_are_422(client, staff, bearer, new_proposal, make_user, raw):
    p = new_proposal(make_user())
    h = {**bearer(staff), "Content-Type": "application/json"}
    for path in ("", f"/{p.id}/transitions", f"/{p.id}/comments", f"/{p.id}/flags", f"/{p.id}/ballot",
                 f"/{p.id}/merge"):
        r = client.post(f"/api/v1/proposals{path}", data=raw, headers=h)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_json", (path, raw)


@pytest.mark.parametrize("query, field", [
    ("limit=abc", "limit"), ("limit=0", "limit"), ("limit=99999999999999999999", "limit"),
    ("sort=best", "sort"), ("status=deleted", "status"), ("category=sports", "category"),
    ("sort=", None), ("status=&category=", None),
])
def test_list_query_strings(client, query, field):
    r = client.get(f"/api/v1/proposals?{query}")
    if field is None:
        assert r.status_code == 200
    else:
        assert field in _fields(r)
    page = client.get(f"/proposals/?{query}&lang=en")
    if field is None or field == "limit":  # the page has its own page size
        assert page.status_code == 200
    else:
        assert page.status_code == 422 and "Not one of the allowed values." in page.get_data(as_text=True)


def test_other_query_strings_of_reads(client, new_proposal, make_user):
    p = new_proposal(make_user())
    assert "limit" in _fields(client.get(f"/api/v1/proposals/{p.id}/comments?limit=-5"))
    assert client.get("/api/v1/proposals/similar?title=" + "통학로 " * 500).status_code == 200
    assert client.get("/api/v1/proposals?q=" + "%25_" * 300 + "&district=" + "구" * 500).status_code == 200
    assert client.get(f"/proposals/{p.id}/ballots?receipt=" + "f" * 5000).status_code == 409  # not voted on
