"""A GET never writes: every welfare page and API GET, for every role, runs no INSERT, UPDATE or
DELETE (an officer's look at a profile is a POST now, audited); and every welfare answer, pages
and API, GET or not, says ``Cache-Control: no-store``."""

from __future__ import annotations

import pytest

from tests.notify.conftest import ROLES, get_urls, sign_in_as, statements_that_write


@pytest.fixture
def resident(make_user, make_profile, make_programme):
    make_programme("elderly")
    grandma = make_user(email="kim@test.kr")
    make_profile(grandma)
    return grandma


@pytest.mark.parametrize("role", ROLES)
def test_no_get_of_welfare_writes(app, client, make_user, login, resident, role):
    from welfare import service

    service.scan(app.extensions["sqlalchemy"].session, None)  # notices and outbox rows to read
    sign_in_as(client, role, make_user, login, resident)
    urls = get_urls(app, ("welfare", "welfare_api"), {"code": "elderly"},
                    {"welfare.officer_profile": "?email=kim@test.kr", "welfare_api.list_programmes": "?all=1"})
    assert "/welfare/officer/profiles?email=kim@test.kr" in urls and "/api/v1/welfare/reach" in urls
    with statements_that_write() as writes:
        answers = {url: client.get(url) for url in urls}
    assert writes == [], writes
    for url, resp in answers.items():
        assert resp.status_code in (200, 302, 401, 403, 404), (url, resp.status_code)
        assert "no-store" in resp.headers.get("Cache-Control", ""), url
    if role in ("welfare_officer", "admin"):
        assert answers["/welfare/officer/profiles?email=kim@test.kr"].status_code == 200
        assert answers["/api/v1/welfare/reach"].status_code == 200


def test_welfare_answers_with_personal_data_are_not_stored(client, make_user, login, bearer, officer, resident):
    """The answers that carry a profile or eligibility, GET or POST, page or API."""
    login(client, officer)
    answers = [
        client.form("/welfare/officer/profiles", {"email": "kim@test.kr"}),
        client.post("/api/v1/welfare/profiles/lookup", json={"user_id": resident.id}, headers=bearer(officer)),
        client.post("/api/v1/welfare/screener", json={"age": 70}, headers=bearer(officer)),
        client.form("/welfare/screener", {"age": "70", "household_size": "1"}),
        client.put("/api/v1/welfare/profile/me", json={"consent": True, "district": "성동구"},
                   headers=bearer(resident)),
        client.get("/api/v1/welfare/profile/me", headers=bearer(resident)),
        client.get("/api/v1/welfare/eligibility/me", headers=bearer(resident)),
    ]
    login(client, resident)
    answers += [client.get("/welfare/"), client.get("/welfare/profile")]
    for resp in answers:
        assert resp.status_code == 200, resp.request.path
        assert "no-store" in resp.headers["Cache-Control"], resp.request.path
