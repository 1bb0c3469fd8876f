"""Trust II in accounts: names a person cannot see, birth dates outside a life, and text longer
than its column are 422 (API) or a page with a translated message, never a 500, and nothing is
stored; registration answers alike for a known and a new address even then."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.accounts import limits, service
from portal.accounts.models import ApiToken, ResidentRecord, User
from portal.errors import Invalid
from portal.extensions import db

INVISIBLE = ["\u200b\u200b\u200b", "\u202e\u2066\u2069\u200f", "\u3164\u3164", "\u115f\u1160\uffa0\u2800\ufeff"]
FACTS = {"name": "홍길동", "birth_date": "1950-03-01", "district": "성동구", "document_number": "500301-1234567"}
STAFF_FACTS = {**FACTS, "reason": "신분증 확인"}


def _fields(r) -> dict:
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True)[:300])
    return r.get_json()["error"]["fields"]


def _users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


# -- names a person cannot see ------------------------------------------------------------

@pytest.mark.parametrize("blank", INVISIBLE)
def test_registration_needs_a_visible_name_for_known_and_new_addresses_alike(client, make_user, blank):
    make_user(email="known@example.kr")
    pages = [client.form("/account/register?lang=en", {"name": blank, "email": email, "password": "long-enough-pw"})
             for email in ("known@example.kr", "new@example.kr")]
    assert [p.status_code for p in pages] == [422, 422]
    assert all("characters a person can see" in p.get_data(as_text=True) for p in pages)
    assert _users() == 1


@pytest.mark.parametrize("blank", INVISIBLE)
def test_profile_names_and_phones_need_visible_characters(client, make_user, bearer, login, blank):
    user = make_user(name="김민지", locale="en")
    h = bearer(user)
    assert set(_fields(client.patch("/api/v1/accounts/me", json={"name": blank}, headers=h))) == {"name"}
    assert set(_fields(client.patch("/api/v1/accounts/me", json={"phone": blank}, headers=h))) == {"phone"}
    login(client, user)
    page = client.form("/account/", {"name": blank, "district": blank})
    assert page.status_code == 422 and "characters a person can see" in page.get_data(as_text=True)
    db.session.expire_all()
    assert (db.session.get(User, user.id).name, db.session.get(User, user.id).phone) == ("김민지", None)


@pytest.mark.parametrize("blank", INVISIBLE)
def test_token_names_need_visible_characters(client, make_user, bearer, login, blank):
    user = make_user(locale="en")
    assert set(_fields(client.post("/api/v1/accounts/tokens", json={"name": blank}, headers=bearer(user)))) \
        == {"name"}
    login(client, user)
    page = client.form("/account/tokens", {"name": blank})
    assert page.status_code == 422 and "characters a person can see" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1  # bearer()'s own


@pytest.mark.parametrize("blank", INVISIBLE)
def test_what_staff_type_from_an_id_needs_visible_characters(client, make_user, bearer, blank):
    staff, resident = make_user(roles=("staff",)), make_user(verified=False)
    url, h = f"/api/v1/accounts/users/{resident.id}/verification", bearer(staff)
    for field in ("name", "district", "reason"):
        assert set(_fields(client.post(url, json={**STAFF_FACTS, field: blank}, headers=h))) == {field}
    service.import_register(db.session, [dict(FACTS)])
    entry = db.session.scalar(select(ResidentRecord.id))
    r = client.post(f"/api/v1/accounts/register/{entry}/release", json={"reason": blank}, headers=h)
    assert set(_fields(r)) == {"reason"}
    db.session.expire_all()
    assert not db.session.get(User, resident.id).is_verified


# -- birth dates ----------------------------------------------------------------------------

@pytest.mark.parametrize("day, message", [("1889-12-31", "Must be after 1890."), ("0001-01-01", "Must be after 1890."),
                                          ("2999-01-01", "Must not be in the future."),
                                          ("9999-12-31", "Must not be in the future.")])
def test_birth_dates_outside_a_life_are_422(client, make_user, bearer, login, day, message):
    resident, staff = make_user(verified=False, locale="en"), make_user(roles=("staff",), locale="en")
    r = client.post("/api/v1/accounts/me/verification?lang=en", json={**FACTS, "birth_date": day},
                    headers=bearer(resident))
    assert _fields(r) == {"birth_date": message}
    r = client.post(f"/api/v1/accounts/users/{resident.id}/verification?lang=en",
                    json={**STAFF_FACTS, "birth_date": day}, headers=bearer(staff))
    assert _fields(r) == {"birth_date": message}  # the card would have attested it
    login(client, resident)
    page = client.form("/account/", {"name": "김민지", "birth_date": day})
    assert page.status_code == 422 and message in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, resident.id).birth_date is None
    assert db.session.scalar(select(func.count()).select_from(ResidentRecord)) == 0


def test_the_service_and_the_command_line_refuse_them_too(app, make_user):
    with pytest.raises(Invalid) as caught:
        service.create_user(db.session, "old@example.kr", "long-enough-pw", birth_date=date(1800, 1, 1))
    assert set(caught.value.fields) == {"birth_date"}
    runner = app.test_cli_runner()
    for born in ("1800-01-01", "2999-01-01"):
        result = runner.invoke(args=["users", "create", "cli@city.kr", "--password", "long-enough-pw", "--verified",
                                     "--birth-date", born, "--district", "성동구"])
        assert result.exit_code != 0 and "birth_date" in result.output
    make_user(email="cli@city.kr")
    result = runner.invoke(args=["users", "create", "cli@city.kr", "--password", "long-enough-pw",
                                 "--birth-date", "1800-01-01"])
    assert result.exit_code != 0 and "birth_date" in result.output


# -- the register file ------------------------------------------------------------------------

@pytest.mark.parametrize("row, column", [
    ({**FACTS, "name": "홍" * (limits.NAME_MAX + 1)}, "name"),  # was a 500: longer than the column
    ({**FACTS, "district": "구" * (limits.DISTRICT_MAX + 1)}, "district"),
    ({**FACTS, "name": "\u200b\u3164"}, "name"),
    ({**FACTS, "birth_date": "1850-01-01"}, "birth_date"),
])
def test_register_file_rows_outside_the_columns_or_a_life_import_nothing(client, make_user, login, row, column):
    login(client, make_user(roles=("staff",), locale="en"))
    text = "name,birth_date,district,document_number\n" + ",".join(row[c] for c in service.REGISTER_COLUMNS) + "\n"
    page = client.form("/staff/register", {"file": (io.BytesIO(text.encode()), "register.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 422 and f"{column}:" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ResidentRecord)) == 0


# -- lengths, types, bodies ------------------------------------------------------------------

def test_text_longer_than_its_column_is_422(client, make_user, bearer):
    user, staff = make_user(verified=False), make_user(roles=("staff",))
    h = bearer(user)
    assert set(_fields(client.patch("/api/v1/accounts/me", json={"name": "x" * (limits.NAME_MAX + 1)},
                                    headers=h))) == {"name"}
    assert set(_fields(client.patch("/api/v1/accounts/me", json={"phone": "1" * (limits.PHONE_MAX + 1)},
                                    headers=h))) == {"phone"}
    assert set(_fields(client.post("/api/v1/accounts/tokens", json={"name": "t" * (limits.TOKEN_NAME_MAX + 1)},
                                   headers=h))) == {"name"}
    r = client.post(f"/api/v1/accounts/users/{user.id}/verification",
                    json={**STAFF_FACTS, "district": "구" * (limits.DISTRICT_MAX + 1)}, headers=bearer(staff))
    assert set(_fields(r)) == {"district"}


def test_an_address_without_a_name_gets_a_name_that_fits(app):
    user = service.create_user(db.session, "a" * 200 + "@example.kr", "long-enough-pw")
    db.session.commit()
    assert user.name == "a" * limits.NAME_MAX


@pytest.mark.parametrize("raw", [b"[]", b'"x"', b"null", b"7", b""])
def test_bodies_that_are_not_a_json_object_are_422(client, make_user, bearer, raw):
    staff = make_user(roles=("staff",))
    h = {**bearer(staff), "Content-Type": "application/json"}
    for method, path in (("patch", "me"), ("post", "me/verification"), ("post", "tokens"),
                         ("post", f"users/{staff.id}/verification"), ("post", "password-reset"),
                         ("post", "register/lookup"), ("put", "me/password")):
        r = getattr(client, method)(f"/api/v1/accounts/{path}", data=raw, headers=h)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_json", (path, raw)


def test_wrong_types_are_422(client, make_user, bearer):
    h = bearer(make_user(verified=False))
    assert "birth_date" in _fields(client.post("/api/v1/accounts/me/verification",
                                               json={**FACTS, "birth_date": "10000-01-01"}, headers=h))
    assert "name" in _fields(client.patch("/api/v1/accounts/me", json={"name": ["x"]}, headers=h))
    assert "lang" in _fields(client.patch("/api/v1/accounts/me", json={"locale": "x" * 10_000}, headers=h))


def test_register_file_errors_read_as_sentences_of_the_page_language(client, make_user, login):
    """Each line's problem in the page's language and punctuation (zh "：", issue 13): the page
    said "line 2: birth_date: ..." in English on every page."""
    head = "name,birth_date,district,document_number\n"
    row = {**FACTS, "birth_date": "1850-01-01"}
    text = head + ",".join(row[c] for c in service.REGISTER_COLUMNS) + "\n"
    shown = {}
    for lang in ("ko", "en", "zh"):
        login(client, make_user(roles=("staff",), locale=lang))
        page = client.form("/staff/register", {"file": (io.BytesIO(text.encode()), "register.csv")},
                           content_type="multipart/form-data")
        assert page.status_code == 422
        shown[lang] = " ".join(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)).split())
    assert "Line 2: birth_date: " in shown["en"]
    assert "2행: birth_date: " in shown["ko"]
    assert "第2行：birth_date：" in shown["zh"] and "line 2" not in shown["zh"]
