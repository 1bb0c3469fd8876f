"""Facilities: the public list in three languages, the rules a facility must follow, who may
manage them (``portal/eid/service/facilities.py``)."""

from __future__ import annotations

import pytest

from portal.eid import service
from portal.extensions import db


def test_facilities_are_public_and_translated(client, make_facility):
    make_facility(code="a-library", min_age=None, residents_only=True, districts=["성동구"],
                  resident_discount=20, opening_hours="mon-fri 09:00-18:00; sat 10:00-13:00")
    make_facility(code="b-pool", names={"ko": "수영장"}, kind="sports_centre")
    body = client.get("/api/v1/eid/facilities?lang=en").get_json()
    assert [(i["code"], i["name"], i["lang"]) for i in body["items"]] == [
        ("a-library", "Seongdong Library", "en"), ("b-pool", "수영장", "ko")]
    first = body["items"][0]
    assert first["kind"] == "library"
    assert first["policy"] == {"residents_only": True, "districts": ["seongdong"], "min_age": None,
                               "max_age": None, "resident_discount": 20}
    assert first["opening_hours"] == {"mon": "09:00-18:00", "tue": "09:00-18:00",
                                      "wed": "09:00-18:00", "thu": "09:00-18:00",
                                      "fri": "09:00-18:00", "sat": "10:00-13:00"}
    assert body["next_cursor"] is None
    zh = client.get("/api/v1/eid/facilities?lang=zh&limit=1").get_json()
    assert zh["items"][0]["name"] == "城东图书馆" and zh["next_cursor"]
    rest = client.get(f"/api/v1/eid/facilities?cursor={zh['next_cursor']}").get_json()
    assert [i["code"] for i in rest["items"]] == ["b-pool"]


def test_facility_rules_are_validated(staff, make_facility):
    from portal.errors import Conflict, Invalid

    with pytest.raises(Invalid) as bad:
        make_facility(code="X Y", names={"en": "no korean"}, kind="casino", min_age=21,
                      max_age=30, resident_discount=120, opening_hours="someday 9-5")
    assert set(bad.value.fields) == {"code", "name_ko", "kind", "min_age", "max_age",
                                     "resident_discount", "opening_hours"}
    make_facility(code="dup")
    with pytest.raises(Conflict):
        make_facility(code="dup")


def test_only_staff_manage_facilities(make_user):
    from portal.errors import Forbidden

    with pytest.raises(Forbidden):
        service.create_facility(db.session, make_user(), service.FacilityInput(
            code="mine", names={"ko": "내 시설"}))
