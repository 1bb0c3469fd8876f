"""Places as a table (issue 13): a district or area is picked from one list, in the page's
language, and a name in any language means the same place; accounts keep the place's code."""

from __future__ import annotations

import re

import pytest
from markupsafe import Markup

from portal import places
from portal.accounts import service
from portal.accounts.models import User
from portal.extensions import db

SEONGDONG = ("seongdong", "Seongdong-gu", "seongdong gu", "SEONGDONG", "Seongdong District", "城东区",
             "성동구", " 성동 구 ")


@pytest.mark.parametrize("text", SEONGDONG)
def test_a_district_is_matched_by_its_code_or_any_languages_name(app, text):
    assert places.match(text) == "seongdong"
    assert places.match(text, "district") == "seongdong"


@pytest.mark.parametrize("text", ["Atlantis", "", "   ", "구", "Seongdong-dong", None, 7])
def test_text_that_names_no_place_matches_nothing(app, text):
    assert places.match(text) is None


def test_a_district_is_not_an_area_with_a_like_name(app):
    assert places.match("Seongdong-gu") == places.match("성동구") == places.match("城东区") == "seongdong"
    assert places.match("Seongsu-dong") == places.match("성수동") == places.match("圣水洞") == "seongsu"
    assert places.match("Seongsu-dong", "district") is None
    assert places.match("Seongdong-gu", "area") is None


def test_a_place_is_named_in_the_page_language_and_marked_when_it_falls_back(app):
    with app.test_request_context("/?lang=zh"):
        assert places.name("seongdong") == "城东区"
        assert places.render("seongdong") == "城东区"
        db.session.get(places.Place, "seongdong").name_zh = None
        db.session.flush()
        places.forget()
        assert places.render("seongdong") == Markup('<span lang="en">Seongdong-gu</span>')
        db.session.rollback()
        places.forget()
        # Text stored before places had codes is shown as it is.
        assert places.render("<b>Atlantis</b>") == "&lt;b&gt;Atlantis&lt;/b&gt;"


def _options(html: str) -> dict[str, str]:
    select = re.search(r'<select[^>]*name="district".*?</select>', html, re.S).group(0)
    return dict(re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select))


@pytest.mark.parametrize("lang, name", [("ko", "성동구"), ("en", "Seongdong-gu"), ("zh", "城东区")])
def test_the_profile_picks_the_district_from_the_table_in_the_page_language(client, make_user, login, lang, name):
    user = make_user(verified=False, locale=lang)
    login(client, user)
    html = client.get("/account/").get_data(as_text=True)
    options = _options(html)
    assert options["seongdong"] == name
    assert len([code for code in options if code]) == 25  # Seoul's districts, no tourism area
    r = client.form("/account/", {"name": "Kim", "district": "seongdong"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).district == "seongdong"
    assert re.search(r'<option[^>]*selected[^>]*value="seongdong"|<option[^>]*value="seongdong"[^>]*selected',
                     client.get("/account/").get_data(as_text=True))


def test_api_clients_may_name_the_district_in_any_language(client, make_user, bearer):
    user = make_user(verified=False)
    r = client.post("/api/v1/accounts/me/verification?lang=en", headers=bearer(user),
                    json={"name": "홍길동", "birth_date": "1950-03-01", "district": "Atlantis",
                          "document_number": "500301-1234567"})
    assert r.status_code in (404, 409, 422)
    service.import_register(db.session, [{"name": "홍길동", "birth_date": "1950-03-01", "district": "성동구",
                                          "document_number": "500301-1234567"}])
    r = client.post("/api/v1/accounts/me/verification", headers=bearer(user),
                    json={"name": "홍길동", "birth_date": "1950-03-01", "district": "Seongdong-gu",
                          "document_number": "500301-1234567"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["district"] == "seongdong"


def test_a_register_row_naming_no_district_is_refused_in_the_readers_language(client, make_user, bearer):
    staff = make_user(roles=("staff",))
    target = make_user(verified=False)
    r = client.post(f"/api/v1/accounts/users/{target.id}/verification?lang=en",
                    headers=bearer(staff),
                    json={"reason": "ID checked", "name": "Kim", "birth_date": "1990-07-07",
                          "district": "Atlantis", "document_number": "900707-1234567"})
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"]["district"] == "Choose a district from the list."
