"""Issue 13, finding 3: the screener knew only Korean district names ("Seongdong-gu" and "城东区"
gave "No current programme matches", "성동구" eligible). A district is now picked from the
places table in the visitor's language, and any language's name means the same district."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from welfare.models import Programme, WelfareProfile

# Only age and district, so the test says nothing about how income is asked.
RULE = {"all": [{"age": {"min": 65}}, {"district": {"in": ["성동구"]}}]}
NAME = {"ko": "홀몸 어르신 돌봄", "en": "Care for seniors living alone", "zh": "独居老人关怀"}


def _screen(client, lang, district):
    r = client.form(f"/welfare/screener?lang={lang}", {"age": "72", "household_size": "1", "district": district,
                                                       "disability_grade": ""})
    assert r.status_code == 200
    return r.get_data(as_text=True)


@pytest.mark.parametrize("district", ["Seongdong-gu", "城东区", "성동구", "seongdong", "seongdong gu"])
@pytest.mark.parametrize("lang", ["ko", "en", "zh"])
def test_the_screener_knows_a_district_by_any_languages_name(app, client, make_programme, lang, district):
    make_programme("elderly", rules=RULE)
    assert NAME[lang] in _screen(client, lang, district)


@pytest.mark.parametrize("district", ["Gangnam-gu", "江南区", "강남구"])
def test_another_district_is_not_eligible(app, client, make_programme, district):
    make_programme("elderly", rules=RULE)
    assert NAME["en"] not in _screen(client, "en", district)


def test_a_name_that_is_no_district_is_said_so(app, client, make_programme):
    make_programme("elderly", rules=RULE)
    html = _screen(client, "en", "Atlantis")
    assert "Choose a district from the list." in html


@pytest.mark.parametrize("district", ["城东区", "Seongdong-gu"])
def test_the_screener_api_accepts_a_name_in_any_language(app, make_programme, district):
    make_programme("elderly", rules=RULE)
    client = app.test_client()
    r = client.post("/api/v1/welfare/screener?lang=zh", json={"age": 70, "district": district},
                    headers={"X-CSRFToken": client.csrf_token()})
    assert r.status_code == 200, r.get_json()
    assert [i["programme"]["code"] for i in r.get_json()["items"]] == ["elderly"]
    assert "城东区" in r.get_json()["items"][0]["explanation"]


@pytest.mark.parametrize("lang, name", [("ko", "성동구"), ("en", "Seongdong-gu"), ("zh", "城东区")])
def test_the_screener_and_profile_list_districts_in_the_visitors_language(client, make_user, login, lang, name):
    html = client.get(f"/welfare/screener?lang={lang}").get_data(as_text=True)
    assert re.search(rf'<option[^>]*value="seongdong"[^>]*>{name}</option>', html)
    login(client, make_user(locale=lang))
    html = client.get("/welfare/profile").get_data(as_text=True)
    assert re.search(rf'<option[^>]*value="seongdong"[^>]*>{name}</option>', html)


def test_a_programme_naming_districts_in_any_language_stores_codes(app, client, make_user, bearer):
    officer = make_user(roles=("welfare_officer",))
    body = {"code": "seniors", "name": NAME, "how_to_apply": {"ko": "주민센터", "en": "Centre", "zh": "居民中心"},
            "channels": ["app"], "rules": {"district": {"in": ["Seongdong-gu", "城东区", "Mapo"]}}}
    r = client.post("/api/v1/welfare/programmes", json=body, headers=bearer(officer))
    assert r.status_code == 201, r.get_json()
    stored = db.session.scalar(sa.select(Programme.rules).where(Programme.code == "seniors"))
    assert stored == {"district": {"in": ["seongdong", "mapo"]}}
    body = {**body, "code": "nowhere", "rules": {"district": {"in": ["Atlantis"]}}}
    r = client.post("/api/v1/welfare/programmes?lang=en", json=body, headers=bearer(officer))
    assert r.status_code == 422 and "rules.district.in" in r.get_json()["error"]["fields"]


def test_a_profile_saved_with_a_name_holds_the_code(app, client, make_user, bearer):
    user = make_user()
    r = client.put("/api/v1/welfare/profile/me", json={"consent": True, "district": "城东区"}, headers=bearer(user))
    assert r.status_code == 200, r.get_json()
    stored = db.session.scalar(sa.select(WelfareProfile.district).where(WelfareProfile.user_id == user.id))
    assert stored == "seongdong"
