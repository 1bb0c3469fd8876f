"""Areas come from the places table (issue 13, "Places as a table"): a listing stores its area's
code, people read the area's name in their language, and staff pick the area from a list."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select

from portal import places
from portal.extensions import db
from portal.places import Place
from tourism.models import Listing

from .test_openapi import resolved
from .test_pages import visible_text

TTUKSEOM = {"ko": "뚝섬", "en": "Ttukseom", "zh": "纛岛"}
SEONGSU = {"ko": "성수동", "en": "Seongsu-dong", "zh": "圣水洞"}


def area_options(page: str) -> dict[str, str]:
    """{value: label} of the options of <select name="area">."""
    select_html = re.search(r'(?s)<select[^>]*name="area"[^>]*>(.*?)</select>', page).group(1)
    return {value: label.strip() for value, label in
            re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select_html) if value}


def selected_area(page: str) -> str | None:
    select_html = re.search(r'(?s)<select[^>]*name="area"[^>]*>(.*?)</select>', page).group(1)
    found = re.search(r'<option(?=[^>]*\bselected\b)[^>]*value="([^"]*)"', select_html)
    return found.group(1) if found else None


def area_tags(page: str) -> list[str]:
    return [tag.strip() for tag in re.findall(r'<span class="tag area"[^>]*>([^<]*)</span>', page)]


CRUISE = {"ko": "야경 크루즈", "en": "Night Cruise", "zh": "夜景游船"}
TABLE = {"ko": "한식 한상", "en": "Korean Table", "zh": "韩式套餐"}


@pytest.fixture
def two_areas(make_listing):
    """A cruise at Ttukseom and a restaurant in Seongsu-dong (areas of the places table)."""
    make_listing(name=CRUISE)
    make_listing(name=TABLE, kind="restaurant", area="seongsu")


@pytest.fixture
def extra_places(app):
    """add(code, **names): an area of the places table for one test (the table is reference data
    the cleaning between tests keeps, so it is removed afterwards)."""
    added = []

    def add(code, **names):
        db.session.add(Place(code=code, kind="area", sort=900 + len(added),
                             **{f"name_{k}": v for k, v in names.items()}))
        db.session.commit()
        places.forget()
        added.append(code)

    yield add
    db.session.rollback()
    if added:
        db.session.execute(delete(Place).where(Place.code.in_(added)))
        db.session.commit()
    places.forget()


@pytest.mark.parametrize("lang", ["ko", "en", "zh"])
def test_area_filter_and_card_tags_show_the_tables_name_in_the_page_language(client, two_areas, lang):
    page = client.get(f"/tourism/?lang={lang}").get_data(as_text=True)
    assert area_options(page) == {"ttukseom": TTUKSEOM[lang], "seongsu": SEONGSU[lang]}
    assert TTUKSEOM[lang] in area_tags(page) and SEONGSU[lang] in area_tags(page)
    assert ">ttukseom<" not in page  # the code is the option's value, never what people read


@pytest.mark.parametrize("lang", ["ko", "en", "zh"])
@pytest.mark.parametrize("asked", ["ttukseom", "Ttukseom", "뚝섬", "纛岛", " TTUKSEOM "])
def test_filtering_by_the_code_or_a_name_in_any_language(client, two_areas, lang, asked):
    page = client.get(f"/tourism/?area={asked}&lang={lang}").get_data(as_text=True)
    text = visible_text(page)
    assert CRUISE[lang] in text and TABLE[lang] not in text
    assert selected_area(page) == "ttukseom"
    items = client.get(f"/api/v1/tourism/listings?area={asked}&lang={lang}").get_json()["items"]
    assert [(i["area"], i["area_name"]) for i in items] == [("ttukseom", TTUKSEOM[lang])]


def test_an_area_that_names_no_place_finds_nothing(client, two_areas):
    resp = client.get("/api/v1/tourism/listings?area=Atlantis")
    assert resp.status_code == 200 and resp.get_json()["items"] == []
    page = client.get("/tourism/?area=Atlantis&lang=en").get_data(as_text=True)
    assert CRUISE["en"] not in visible_text(page) and selected_area(page) is None


def test_listing_page_shows_the_area_name(client, make_listing):
    listing, _slot = make_listing()
    for lang, name in TTUKSEOM.items():
        page = client.get(f"/tourism/listings/{listing.id}?lang={lang}").get_data(as_text=True)
        assert area_tags(page) == [name]


def test_a_missing_area_name_falls_back_requested_en_ko(client, make_listing, extra_places):
    extra_places("test-only-ko", ko="시험 구역")
    extra_places("test-ko-en", ko="시험 광장", en="Test Square")
    only_ko, _s = make_listing(area="test-only-ko")
    ko_en, _s = make_listing(area="test-ko-en")
    legacy, _s = make_listing(area="geomundo")  # a value stored before areas were places

    def shown(listing, lang):
        page = client.get(f"/tourism/listings/{listing.id}?lang={lang}").get_data(as_text=True)
        return re.search(r'<span class="tag area"([^>]*)>([^<]*)</span>', page).groups()

    assert shown(ko_en, "zh") == (' lang="en"', "Test Square")  # requested -> en
    assert shown(only_ko, "zh") == (' lang="ko"', "시험 구역")  # -> ko
    assert shown(legacy, "zh") == ("", "geomundo")  # no place: the stored value, in no language
    assert area_options(client.get("/tourism/?lang=zh").get_data(as_text=True)) == {
        "test-only-ko": "시험 구역", "test-ko-en": "Test Square", "geomundo": "geomundo"}
    api = client.get(f"/api/v1/tourism/listings/{ko_en.id}?lang=zh").get_json()
    assert (api["area"], api["area_name"]) == ("test-ko-en", "Test Square")


def test_api_area_name_follows_the_served_language(client, make_listing):
    listing, _slot = make_listing()
    for lang, name in TTUKSEOM.items():
        item = client.get(f"/api/v1/tourism/listings/{listing.id}?lang={lang}").get_json()
        assert (item["area"], item["area_name"], item["lang"]) == ("ttukseom", name, lang)
    by_header = client.get("/api/v1/tourism/listings", headers={"Accept-Language": "zh-CN"}).get_json()
    assert by_header["items"][0]["area_name"] == "纛岛" and by_header["items"][0]["lang"] == "zh"
    # The listing's name only in ko: every text, the area name too, is served in ko.
    ko_only, _slot = make_listing(name={"ko": "서울숲 산책"}, description={"ko": "생태숲"})
    item = client.get(f"/api/v1/tourism/listings/{ko_only.id}?lang=zh").get_json()
    assert (item["lang"], item["area_name"]) == ("ko", "뚝섬")
    schema = client.get("/api/v1/openapi.json").get_json()
    listing_schema = schema["paths"]["/api/v1/tourism/listings"]["get"]["responses"]["200"]
    page = resolved(schema, listing_schema["content"]["application/json"]["schema"])
    props = resolved(schema, page["properties"]["items"]["items"])["properties"]
    assert "area" in props and "area_name" in props


@pytest.mark.parametrize("q", ["纛岛", "뚝섬", "ttukseom", "TTUKSEOM"])
def test_search_finds_a_listing_by_its_area_name_in_any_language(client, make_listing, q):
    make_listing(name={"en": "Night Cruise"})
    make_listing(name={"en": "Korean Table"}, area="seongsu")
    items = client.get(f"/api/v1/tourism/listings?q={q}&lang=en").get_json()["items"]
    assert [i["name"] for i in items] == ["Night Cruise"]


LISTING_FORM = {"kind": "event", "name_ko": "숲 해설 산책", "name_en": "Forest Walk", "name_zh": "森林导览散步",
                "description_ko": "90분", "description_en": "90 minutes", "description_zh": "90分钟",
                "free_cancel_hours": 2, "late_refund_percent": 0, "active": "y"}


@pytest.mark.parametrize("lang, forest, bukchon", [("ko", "서울숲", "북촌"), ("en", "Seoul Forest", "Bukchon"),
                                                   ("zh", "首尔林", "北村")])
def test_staff_pick_the_area_from_the_places_table_in_the_page_language(client, make_user, login, lang, forest,
                                                                       bukchon):
    login(client, make_user(roles=("staff",)))
    form = client.get(f"/tourism/staff/listings/new?lang={lang}").get_data(as_text=True)
    options = area_options(form)
    assert options["seoul-forest"] == forest and options["bukchon"] == bukchon
    assert "seongdong" not in options  # areas only, no districts
    assert set(options) == set(db.session.scalars(select(Place.code).where(Place.kind == "area")))
    assert "area_name_" not in form  # no free names to type: the table names the area
    label = re.search(r'<label[^>]*for="area"[^>]*>([^<]*)</label>', form)
    assert label and label.group(1).strip() == {"ko": "지역", "en": "Area", "zh": "地区"}[lang]

    resp = client.form(f"/tourism/staff/listings/new?lang={lang}", {**LISTING_FORM, "area": "seoul-forest"})
    assert resp.status_code == 302
    listing = db.session.scalar(select(Listing))
    assert listing.area == "seoul-forest"
    edit = client.get(f"/tourism/staff/listings/{listing.id}/edit?lang={lang}").get_data(as_text=True)
    assert selected_area(edit) == "seoul-forest"
    staff_list = visible_text(client.get(f"/tourism/staff/?lang={lang}").get_data(as_text=True))
    assert forest in staff_list and "seoul-forest" not in staff_list


def test_staff_area_that_names_no_place_is_refused_and_the_form_kept(client, make_user, login):
    login(client, make_user(roles=("staff",)))
    resp = client.form("/tourism/staff/listings/new?lang=en", {**LISTING_FORM, "area": "atlantis"})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "Choose an area from the list." in visible_text(body)
    assert re.search(r'name="name_en"[^>]*value="Forest Walk"', body)
    assert db.session.scalar(select(Listing)) is None
    # No area at all is allowed: the listing shows none.
    resp = client.form("/tourism/staff/listings/new?lang=en", {**LISTING_FORM, "area": ""})
    assert resp.status_code == 302
    assert db.session.scalar(select(Listing.area)) == ""


def test_staff_area_form_needs_csrf(client, make_user, login):
    login(client, make_user(roles=("staff",)))
    resp = client.post("/tourism/staff/listings/new", data={**LISTING_FORM, "area": "seoul-forest"})
    assert resp.status_code == 400
    assert db.session.scalar(select(Listing)) is None
