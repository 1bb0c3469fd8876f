"""Trust II in welfare: a programme's code is fixed once residents were told about it (its
notices' outbox keys carry it), names a person cannot see, dates outside a sane range, and the
other input that gave 500s. Each is a 409 or 422 (API) or a page with a translated message."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
import requests
import sqlalchemy as sa

from portal.extensions import db
from portal.notify.models import Message
from welfare import limits, service
from welfare.models import Notice, Programme

from .conftest import TODAY

requires_postgres = pytest.mark.skipif(
    not __import__("os").environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")),
    reason="row locks are PostgreSQL's (set DATABASE_URL)")

NEW = {"code": "winter-heating", "name": {"ko": "겨울 난방비 지원", "en": "Winter heating support"},
       "rules": {"age": {"min": 65}}}
INVISIBLE = ["\u200b\u200b\u200b", "\u202e\u2066\u2069", "\u3164\u3164", "\u115f\u1160\uffa0\u2800\ufeff"]


def _fields(r) -> dict:
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True)[:300])
    return r.get_json()["error"]["fields"]


def _keys() -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(sa.select(Message.idempotency_key).where(
        Message.idempotency_key.like("welfare:%"))))


@pytest.fixture
def told(make_programme, make_user, make_profile):
    """The programme "elderly" after a scan told two residents about it."""
    prog = make_programme("elderly")
    people = [make_user(), make_user()]
    for person in people:
        make_profile(person)
    assert service.scan(db.session, today=TODAY).new_notices == 2
    return prog, people


# -- a programme's code ----------------------------------------------------------------------

def test_the_code_of_a_programme_residents_were_told_about_cannot_change(app, told, officer, bearer):
    _prog, people = told
    client, h = app.test_client(), bearer(officer)
    before = _keys()
    assert before == sorted(f"welfare:elderly:{p.id}" for p in people)
    r = client.patch("/api/v1/welfare/programmes/elderly?lang=en", json={"code": "elderly-2024"}, headers=h)
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["code"] == "programme_code_fixed"
    assert error["message"] == ("Residents were told about this programme under its code, so the code cannot "
                                "change any more.")
    assert set(error["fields"]) == {"code"}
    assert client.get("/api/v1/welfare/programmes/elderly").status_code == 200
    # so the code is never free for another programme, whose notices' keys would be these
    assert client.post("/api/v1/welfare/programmes", json={**NEW, "code": "elderly"}, headers=h).status_code == 409
    assert client.delete("/api/v1/welfare/programmes/elderly", headers=h).status_code == 409
    # everything else may still change, and the same code is no change
    r = client.patch("/api/v1/welfare/programmes/elderly", json={"code": "elderly", "channels": ["sms"]},
                     headers=h)
    assert r.status_code == 200 and r.get_json()["channels"] == ["sms"]
    assert _keys() == before


def test_the_code_page_says_why_beside_the_field(app, told, officer, login):
    client = login(app.test_client(), officer)
    officer.locale = "en"
    db.session.commit()
    form = {"code": "elderly-2024", "name_ko": "홀몸 어르신 돌봄", "rules": '{"age": {"min": 65}}'}
    r = client.form("/welfare/officer/programmes/elderly", form)
    assert r.status_code == 409
    assert "Cannot change once residents were told about the programme." in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(Programme.code)) == "elderly"


def test_a_programme_nobody_was_told_about_may_change_its_code(app, make_programme, officer, bearer):
    make_programme("draft")
    client, h = app.test_client(), bearer(officer)
    r = client.patch("/api/v1/welfare/programmes/draft", json={"code": "winter"}, headers=h)
    assert r.status_code == 200 and r.get_json()["code"] == "winter"


def _wait_for_lock_wait(timeout: float = 10) -> None:
    """Until some other session of this database waits for a row lock."""
    deadline = time.monotonic() + timeout
    with db.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar()
            if waiting:
                return
            conn.rollback()  # pg_stat_activity is read once per transaction
            time.sleep(0.05)
    raise AssertionError("nobody waited for the lock")


@requires_postgres
def test_a_rename_committed_during_a_scan_batch_gives_the_batch_the_new_code(
        app, live_server, make_programme, make_user, make_profile, officer, bearer):
    """An officer's rename holds the programme's row (FOR UPDATE) and commits while a scan is on
    its way: the scan's batch waits for it, then writes its notices under the new code. Before,
    it wrote them under the old one, which another programme could then take."""
    prog = make_programme("elderly")
    people = [make_user(), make_user()]
    for person in people:
        make_profile(person)
    headers = bearer(officer)
    answers = []
    with db.engine.connect() as rename:  # what update_programme does, held open
        rename.execute(sa.select(Programme.id).where(Programme.id == prog.id).with_for_update())
        rename.execute(sa.update(Programme).where(Programme.id == prog.id).values(code="elderly-care"))
        scan = threading.Thread(target=lambda: answers.append(requests.post(
            live_server.url + "/api/v1/welfare/scans", json={"date": TODAY.isoformat()}, headers=headers,
            timeout=60)))
        scan.start()
        _wait_for_lock_wait()
        rename.commit()
    scan.join(60)
    assert answers[0].status_code == 201 and answers[0].json()["new_notices"] == 2
    db.session.expire_all()
    assert sorted(db.session.scalars(sa.select(Notice.message_key))) == _keys() == sorted(
        f"welfare:elderly-care:{p.id}" for p in people)


@requires_postgres
def test_a_rename_waiting_for_a_scan_batch_sees_its_notices(app, live_server, make_programme, make_user,
                                                            officer, bearer):
    """A scan batch holds its programmes (FOR KEY SHARE) from before it writes notices until it
    commits: a rename waits, then finds the notices and is refused (409)."""
    prog = make_programme("elderly")
    resident = make_user()
    headers = bearer(officer)
    answers = []
    with db.engine.connect() as batch:  # a scan batch between its lock and its commit
        batch.execute(sa.select(Programme.id).where(Programme.id == prog.id)
                      .with_for_update(read=True, key_share=True))
        batch.execute(sa.insert(Notice).values(user_id=resident.id, programme_id=prog.id,
                                               message_key=f"welfare:elderly:{resident.id}"))
        rename = threading.Thread(target=lambda: answers.append(requests.patch(
            live_server.url + "/api/v1/welfare/programmes/elderly", json={"code": "elderly-care"},
            headers=headers, timeout=60)))
        rename.start()
        _wait_for_lock_wait()
        batch.commit()
    rename.join(60)
    assert answers[0].status_code == 409 and answers[0].json()["error"]["code"] == "programme_code_fixed"
    db.session.expire_all()
    assert db.session.scalar(sa.select(Programme.code)) == "elderly"


# -- names a person cannot see ----------------------------------------------------------------

@pytest.mark.parametrize("blank", INVISIBLE)
def test_programme_texts_need_visible_characters(app, officer, bearer, make_programme, blank):
    client, h = app.test_client(), bearer(officer)
    for body, field in (({**NEW, "name": {"ko": blank}}, "name.ko"),
                        ({**NEW, "name": {**NEW["name"], "en": blank}}, "name.en"),
                        ({**NEW, "description": {"zh": blank}}, "description.zh"),
                        ({**NEW, "how_to_apply": {"ko": blank}}, "how_to_apply.ko")):
        assert set(_fields(client.post("/api/v1/welfare/programmes", json=body, headers=h))) == {field}
    make_programme("elderly")
    r = client.patch("/api/v1/welfare/programmes/elderly", json={"name": {"ko": blank, "en": "Care"}}, headers=h)
    assert set(_fields(r)) == {"name.ko"}
    r = client.post("/api/v1/welfare/programmes", json={**NEW, "rules": {"district": {"in": [blank]}}}, headers=h)
    assert set(_fields(r)) == {"rules.district.in"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 1


def test_programme_page_names_need_visible_characters(app, officer, login):
    officer.locale = "en"
    db.session.commit()
    client = login(app.test_client(), officer)
    r = client.form("/welfare/officer/programmes/new", {"code": "winter", "name_ko": "겨울 난방비",
                                                         "name_en": "\u200b\u202e", "rules": '{"age": {"min": 65}}'})
    assert r.status_code == 422
    assert "characters a person can see" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 0


@pytest.mark.parametrize("blank", INVISIBLE)
def test_a_profile_district_needs_visible_characters(app, make_user, bearer, blank):
    r = app.test_client().put("/api/v1/welfare/profile/me", json={"consent": True, "district": blank},
                              headers=bearer(make_user()))
    assert set(_fields(r)) == {"district"}


# -- dates -----------------------------------------------------------------------------------

@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31"])
def test_programme_dates_outside_the_calendar_are_422(app, officer, bearer, make_programme, day):
    client, h = app.test_client(), bearer(officer)
    r = client.post("/api/v1/welfare/programmes?lang=en", json={**NEW, "active_until": day}, headers=h)
    assert _fields(r) == {"active_until": "Choose a date between 2000-01-01 and 2099-12-31."}
    make_programme("elderly")
    assert set(_fields(client.patch("/api/v1/welfare/programmes/elderly", json={"active_from": day},
                                    headers=h))) == {"active_from"}


def test_programme_page_date_outside_the_calendar_is_a_message(app, officer, login):
    officer.locale = "en"
    db.session.commit()
    client = login(app.test_client(), officer)
    r = client.form("/welfare/officer/programmes/new", {"code": "winter", "name_ko": "겨울 난방비",
                                                         "active_until": "9999-12-31",
                                                         "rules": '{"age": {"min": 65}}'})
    assert r.status_code == 422 and "Choose a date between 2000-01-01 and 2099-12-31." in r.get_data(as_text=True)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_scan_dated_outside_the_calendar_is_422(app, told, officer, bearer, day):
    """Year 1 made the ages of the rules overflow: a 500."""
    client, h = app.test_client(), bearer(officer)
    for body in ({"date": day}, {"date": day, "async": True}):
        assert set(_fields(client.post("/api/v1/welfare/scans", json=body, headers=h))) == {"date"}
    from portal.errors import Invalid
    with pytest.raises(Invalid):
        service.scan(db.session, None, today=date(1, 1, 1))


@pytest.mark.parametrize("day, message", [("1889-12-31", "Must be after 1890."),
                                          ("2999-01-01", "Must not be in the future.")])
def test_birth_dates_outside_a_life_are_422(app, make_user, bearer, login, day, message):
    user = make_user(locale="en")
    r = app.test_client().put("/api/v1/welfare/profile/me?lang=en",
                              json={"consent": True, "birth_date": day, "youngest_child_birth_date": day},
                              headers=bearer(user))
    assert _fields(r) == {"birth_date": message, "youngest_child_birth_date": message}
    client = login(app.test_client(), user)
    page = client.form("/welfare/profile", {"birth_date": day, "household_size": "1", "consent": "y"})
    assert page.status_code == 200 and message in page.get_data(as_text=True)


# -- other input that gave (or could give) a 500 -----------------------------------------------

@pytest.mark.parametrize("raw", [b"false", b"0", b"[]", b'"2026-11-23"', b"null", b"{"])
def test_a_scan_body_that_is_not_an_object_is_422(app, officer, bearer, raw):
    r = app.test_client().post("/api/v1/welfare/scans", data=raw,
                               headers={**bearer(officer), "Content-Type": "application/json"})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_json"


def test_a_scan_without_a_body_scans_today(app, officer, bearer):
    client, h = app.test_client(), bearer(officer)
    assert client.post("/api/v1/welfare/scans", headers=h).status_code == 201
    assert client.post("/api/v1/welfare/scans", data=b"", headers={**h, "Content-Type": "application/json"}
                       ).status_code == 201
    r = client.post("/api/v1/welfare/scans", data=b'{"async": true}', headers={**h, "Content-Type": "text/plain"})
    assert r.status_code == 422  # a body that is not JSON is not a scan of today


@pytest.mark.parametrize("raw", [b"[]", b'"x"', b"null", b"7", b""])
def test_bodies_that_are_not_a_json_object_are_422(app, officer, bearer, make_programme, raw):
    make_programme("elderly")
    client, h = app.test_client(), {**bearer(officer), "Content-Type": "application/json"}
    for method, path in (("post", "programmes"), ("patch", "programmes/elderly"), ("put", "profile/me"),
                         ("post", "screener"), ("post", "profiles/lookup")):
        r = getattr(client, method)(f"/api/v1/welfare/{path}", data=raw, headers=h)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_json", (path, raw)


def test_numbers_and_lengths_beyond_their_columns_are_422(app, officer, bearer, make_user):
    client, h = app.test_client(), bearer(officer)
    resident = bearer(make_user())
    for body, field in (({"consent": True, "median_income_pct": 10**30}, "median_income_pct"),
                        ({"consent": True, "household_size": 2**31}, "household_size"),
                        ({"consent": True, "disability_grade": -2**63}, "disability_grade"),
                        ({"consent": True, "district": "구" * (limits.DISTRICT_MAX + 1)}, "district"),
                        ({"consent": True, "household_size": "many"}, "household_size")):
        assert field in _fields(client.put("/api/v1/welfare/profile/me", json=body, headers=resident))
    assert "age" in _fields(client.post("/api/v1/welfare/screener", json={"age": 10**30}))
    assert "user_id" in _fields(client.post("/api/v1/welfare/profiles/lookup", json={"user_id": 2**31}, headers=h))
    assert "code" in _fields(client.post("/api/v1/welfare/programmes", json={**NEW, "code": "x" * 65}, headers=h))
    r = client.post("/api/v1/welfare/programmes", json={**NEW, "callback_phone": "1" * 33}, headers=h)
    assert "callback_phone" in _fields(r)
    assert client.get("/api/v1/welfare/programmes/" + "x" * 65).status_code == 404


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=10000000000000000000000", "cursor=W1tdLDFd"])
def test_list_query_strings_are_422(app, query):
    r = app.test_client().get(f"/api/v1/welfare/programmes?{query}")
    assert r.status_code == 422
