"""Areas: the key filters use stays the same; people read the area's name in their language."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from tourism import demo
from tourism.models import Listing

from .test_openapi import resolved
from .test_pages import visible_text

DOLSAN = {"ko": "돌산", "en": "Dolsan", "zh": "突山"}


def area_options(page: str) -> dict[str, str]:
    """{value: label} of the options of <select name="area">."""
    select_html = re.search(r'(?s)<select name="area">(.*?)</select>', page).group(1)
    return {value: label.strip() for value, label in
            re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select_html) if value}


def area_tags(page: str) -> list[str]:
    return [tag.strip() for tag in re.findall(r'<span class="tag area"[^>]*>([^<]*)</span>', page)]


CRUISE = {"ko": "야경 크루즈", "en": "Night Cruise", "zh": "夜景游船"}
SEAFOOD = {"ko": "해물한상", "en": "Seafood Table", "zh": "海鲜套餐"}


@pytest.fixture
def two_areas(make_listing):
    """A cruise in Dolsan and a restaurant in Gukdong, each with its area named in ko, en, zh."""
    make_listing(name=CRUISE)
    make_listing(name=SEAFOOD, kind="restaurant", area="Gukdong")


@pytest.mark.parametrize("lang", ["ko", "en", "zh"])
def test_area_filter_and_card_tags_show_the_name_in_the_page_language(client, two_areas, lang):
    page = client.get(f"/tourism/?lang={lang}").get_data(as_text=True)
    options = area_options(page)
    assert options == {"Dolsan": DOLSAN[lang], "Gukdong": {"ko": "국동", "en": "Gukdong", "zh": "菊洞"}[lang]}
    assert DOLSAN[lang] in area_tags(page)
    if lang != "en":
        assert ">Dolsan<" not in page  # the key is the option's value, never what people read


@pytest.mark.parametrize("lang", ["ko", "en", "zh"])
def test_filtering_by_the_key_works_in_every_language(client, two_areas, lang):
    page = client.get(f"/tourism/?area=Dolsan&lang={lang}").get_data(as_text=True)
    text = visible_text(page)
    assert CRUISE[lang] in text
    assert SEAFOOD[lang] not in text
    assert re.search(r'<option value="Dolsan"[^>]* selected>', page)
    items = client.get(f"/api/v1/tourism/listings?area=Dolsan&lang={lang}").get_json()["items"]
    assert [(i["area"], i["area_name"]) for i in items] == [("Dolsan", DOLSAN[lang])]
    # Only the key filters: a translated name is not a key.
    assert client.get(f"/api/v1/tourism/listings?area={DOLSAN['zh']}").get_json()["items"] == []


def test_listing_page_shows_the_area_name(client, make_listing):
    listing, _slot = make_listing()
    for lang, name in DOLSAN.items():
        page = client.get(f"/tourism/listings/{listing.id}?lang={lang}").get_data(as_text=True)
        assert area_tags(page) == [name]


def test_a_missing_area_name_falls_back_requested_en_ko_then_key(client, make_listing):
    only_ko, _s = make_listing(area="Odongdo", area_name={"ko": "오동도"})
    ko_en, _s = make_listing(area="Expo", area_name={"ko": "엑스포", "en": "Expo Park"})
    none, _s = make_listing(area="Geomundo", area_name={})

    def shown(listing, lang):
        page = client.get(f"/tourism/listings/{listing.id}?lang={lang}").get_data(as_text=True)
        return area_tags(page)[0]

    assert shown(ko_en, "zh") == "Expo Park"  # requested -> en
    assert shown(only_ko, "zh") == "오동도"  # -> ko
    assert shown(only_ko, "en") == "오동도"
    assert shown(none, "zh") == "Geomundo"  # -> the key
    options = area_options(client.get("/tourism/?lang=zh").get_data(as_text=True))
    assert options == {"Odongdo": "오동도", "Expo": "Expo Park", "Geomundo": "Geomundo"}
    api = client.get(f"/api/v1/tourism/listings/{none.id}?lang=zh").get_json()
    assert api["area"] == "Geomundo" and api["area_name"] == "Geomundo"
    # The area name counts among the missing translations.
    assert client.get(f"/api/v1/tourism/listings/{only_ko.id}").get_json()["missing_locales"] == ["en", "zh"]


def test_listings_sharing_a_key_share_its_names_in_the_filter(client, make_listing):
    make_listing(area_name={"ko": "돌산"})
    make_listing(area_name={"zh": "突山"})
    assert area_options(client.get("/tourism/?lang=zh").get_data(as_text=True)) == {"Dolsan": "突山"}
    assert area_options(client.get("/tourism/?lang=ko").get_data(as_text=True)) == {"Dolsan": "돌산"}


def test_api_area_name_follows_the_served_language(client, make_listing):
    listing, _slot = make_listing()
    for lang, name in DOLSAN.items():
        item = client.get(f"/api/v1/tourism/listings/{listing.id}?lang={lang}").get_json()
        assert (item["area"], item["area_name"], item["lang"]) == ("Dolsan", name, lang)
    by_header = client.get("/api/v1/tourism/listings", headers={"Accept-Language": "zh-CN"}).get_json()
    assert by_header["items"][0]["area_name"] == "突山" and by_header["items"][0]["lang"] == "zh"
    # The listing's name only in ko: every text, the area name too, is served in ko.
    ko_only, _slot = make_listing(name={"ko": "오동도 산책"}, description={"ko": "동백숲"})
    item = client.get(f"/api/v1/tourism/listings/{ko_only.id}?lang=zh").get_json()
    assert (item["lang"], item["area_name"]) == ("ko", "돌산")
    schema = client.get("/api/v1/openapi.json").get_json()
    listing_schema = schema["paths"]["/api/v1/tourism/listings"]["get"]["responses"]["200"]
    page = resolved(schema, listing_schema["content"]["application/json"]["schema"])
    props = resolved(schema, page["properties"]["items"]["items"])["properties"]
    assert "area" in props and "area_name" in props


def test_search_finds_a_listing_by_its_area_name(client, make_listing):
    make_listing(name={"en": "Night Cruise"})
    items = client.get("/api/v1/tourism/listings?q=突山&lang=en").get_json()["items"]
    assert [i["name"] for i in items] == ["Night Cruise"]


def test_staff_set_the_area_key_and_its_three_names(client, make_user, login):
    login(client, make_user(roles=("staff",)))
    form = client.get("/tourism/staff/listings/new?lang=en").get_data(as_text=True)
    for code in ("ko", "en", "zh"):
        assert f'name="area_name_{code}"' in form
    resp = client.form("/tourism/staff/listings/new",
                       {"kind": "event", "area": "Odongdo", "area_name_ko": "오동도",
                        "name_ko": "동백숲 산책", "name_en": "Camellia Walk", "name_zh": "山茶花散步",
                        "description_ko": "90분", "description_en": "90 minutes", "description_zh": "90分钟",
                        "free_cancel_hours": 2, "late_refund_percent": 0, "active": "y"})
    assert resp.status_code == 302
    listing = db.session.scalar(select(Listing))
    assert (listing.area, listing.area_name) == ("Odongdo", {"ko": "오동도"})
    staff_list = client.get("/tourism/staff/?lang=en").get_data(as_text=True)
    row = re.search(r"(?s)<tr>.*?</tr>", staff_list.split("<tbody>")[1]).group(0)
    assert "English" in visible_text(row) and "中文" in visible_text(row)  # area name missing in en, zh

    edit = client.get(f"/tourism/staff/listings/{listing.id}/edit?lang=en").get_data(as_text=True)
    assert re.search(r'name="area_name_ko"[^>]*value="오동도"', edit)
    resp = client.form(f"/tourism/staff/listings/{listing.id}/edit",
                       {"kind": "event", "area": "Odongdo", "area_name_ko": "오동도", "area_name_en": "Odongdo",
                        "area_name_zh": "梧桐岛", "name_ko": "동백숲 산책", "name_en": "Camellia Walk",
                        "name_zh": "山茶花散步", "description_ko": "90분", "description_en": "90 minutes",
                        "description_zh": "90分钟", "free_cancel_hours": 2, "late_refund_percent": 0,
                        "active": "y"})
    assert resp.status_code == 302
    db.session.expire_all()
    listing = db.session.get(Listing, listing.id)
    assert listing.area_name == {"ko": "오동도", "en": "Odongdo", "zh": "梧桐岛"}
    staff_list = visible_text(client.get("/tourism/staff/?lang=zh").get_data(as_text=True))
    assert "梧桐岛" in staff_list
    assert "梧桐岛" in area_options(client.get("/tourism/?lang=zh").get_data(as_text=True)).values()

    # Names without a key are refused: nothing would ever show them.
    resp = client.form(f"/tourism/staff/listings/{listing.id}/edit?lang=en",
                       {"kind": "event", "area": "", "area_name_ko": "오동도", "name_ko": "동백숲 산책",
                        "free_cancel_hours": 2, "late_refund_percent": 0, "active": "y"})
    assert resp.status_code == 422  # the form again, with what is wrong (as the API answers)
    assert "Give the area a key" in visible_text(resp.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).area == "Odongdo"


def test_staff_area_name_form_needs_csrf(client, make_user, login):
    login(client, make_user(roles=("staff",)))
    resp = client.post("/tourism/staff/listings/new",
                       data={"kind": "event", "area": "Odongdo", "area_name_ko": "오동도", "name_ko": "산책",
                             "free_cancel_hours": 2, "late_refund_percent": 0})
    assert resp.status_code == 400
    assert db.session.scalar(select(Listing)) is None


def test_seed_demo_gives_area_names_to_listings_seeded_before_them(app):
    demo.seed(db.session, days=1)
    listing = db.session.scalar(select(Listing).where(Listing.slug == "yeosu-night-sea-cruise"))
    assert listing.area_name == DOLSAN
    # A database seeded before area names existed: the rows have {} (the column's server default).
    for item in db.session.scalars(select(Listing)):
        item.area_name = {}
    odongdo = db.session.scalar(select(Listing).where(Listing.slug == "odongdo-guided-walk"))
    odongdo.area_name = {"en": "Odongdo Island"}  # a staff edit stays
    db.session.commit()
    assert demo.seed(db.session, days=1) == 0
    db.session.expire_all()
    names = {item.slug: item.area_name for item in db.session.scalars(select(Listing))}
    assert names["yeosu-night-sea-cruise"] == DOLSAN
    assert names["yeosu-geomundo-ferry"] == {"ko": "여수항", "en": "Yeosu Port", "zh": "丽水港"}
    assert names["odongdo-guided-walk"] == {"ko": "오동도", "en": "Odongdo Island", "zh": "梧桐岛"}
    assert "돌산" in db.session.scalar(select(Listing.search_text).where(Listing.slug == "yeosu-night-sea-cruise"))
