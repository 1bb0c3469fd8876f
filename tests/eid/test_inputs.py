"""No e-ID input yields a 500: hostile ids in paths, names no person can read, deep JSON at the
gate (its fast path included: ``test_fastpath``'s bad bodies). Run on PostgreSQL, where a NUL
byte sent to the database is an error."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from portal.eid import errors, service
from portal.eid.errors import NoSuchCard
from portal.eid.models import Card, Facility, Gate
from portal.errors import Invalid
from portal.extensions import db

INVISIBLE = ["\u200b\u200b", "\u202e", " \u3164 ", "\u2800"]  # zero-width, bidi, fillers


@pytest.fixture
def desk(client, login, staff):
    login(client, staff)
    return client


@pytest.mark.parametrize("path", [
    "/eid/staff/facilities/%00",
    "/eid/staff/facilities/lib-1%00",
    "/eid/staff/facilities/" + "a" * 3000,
    "/eid/staff/facilities/%ED%A0%80",
    "/eid/staff/facilities/LIB-1",
])
def test_a_facility_code_that_cannot_exist_is_404(path, app, desk, make_facility):
    make_facility(code="lib-1")
    assert desk.get(path).status_code == 404
    assert desk.form(path + "/gates", {"name": "north"}).status_code == 404
    assert db.session.scalar(db.select(db.func.count(Gate.id))) == 0


@pytest.mark.parametrize("card_id", ["%00", "a%00b", "x" * 300, "a.b", "%ED%A0%80"])
def test_a_card_id_that_cannot_exist_is_404(card_id, client, login, staff, resident, card_for):
    card_for(resident)  # signs the client in as the resident
    desk = login(client, staff)
    for action in ("suspend", "resume"):
        response = desk.form(f"/eid/staff/cards/{card_id}/{action}", {"reason": "checked"})
        assert response.status_code == 404, action
    with pytest.raises(NoSuchCard):
        service.check_card_id("a\x00b")
    assert db.session.scalar(db.select(Card.status)) == "active"


@pytest.mark.parametrize("field", ["name_ko", "name_en", "name_zh", "districts"])
@pytest.mark.parametrize("text", INVISIBLE)
def test_facility_names_and_districts_a_person_cannot_see_are_422(field, text, desk):
    data = {"code": "pool-1", "name_ko": "구민 수영장", "kind": "sports_centre", field: text}
    if field == "districts":
        data[field] = ["seongdong", text]
    response = desk.form("/eid/staff/facilities?lang=en", data)
    assert response.status_code == 422
    assert "characters a person can see" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Facility.id))) == 0


def test_a_facility_with_names_a_person_can_see_is_saved(desk):
    response = desk.form("/eid/staff/facilities", {
        "code": "pool-1", "name_ko": "구민 수영장", "name_en": "Pool\u200b", "kind": "sports_centre",
        "districts": ["성동구", "Gwangjin-gu"]})
    assert response.status_code == 303
    facility = db.session.scalar(db.select(Facility))
    assert facility.names == {"ko": "구민 수영장", "en": "Pool\u200b"}  # visible text, kept as typed
    assert facility.districts == ["seongdong", "gwangjin"]  # a name in any language, stored as the code


@pytest.mark.parametrize("text", INVISIBLE)
def test_a_gate_name_a_person_cannot_see_is_422(text, desk, make_facility):
    facility = make_facility(code="lib-1")
    response = desk.form(f"/eid/staff/facilities/{facility.code}/gates?lang=en", {"name": text})
    assert response.status_code == 422
    assert "characters a person can see" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Gate.id))) == 0
    assert desk.form(f"/eid/staff/facilities/{facility.code}/gates", {"name": ""}).status_code == 201
    assert db.session.scalar(db.select(Gate.name)) == facility.code  # no name: the facility's


@pytest.mark.parametrize("text", INVISIBLE)
def test_a_status_reason_a_person_cannot_see_changes_nothing(text, client, login, staff,
                                                             resident, card_for):
    card = card_for(resident)
    with pytest.raises(Invalid) as refused:
        service.suspend_card(db.session, staff, card["card_id"], text)
    assert refused.value.status == 422
    desk = login(client, staff)
    page = desk.form(f"/eid/staff/cards/{card['card_id']}/suspend", {"reason": text},
                     follow_redirects=True)
    with force_locale("ko"):
        assert str(errors.INVISIBLE) in page.get_data(as_text=True)
    assert db.session.scalar(db.select(Card.status)) == "active"
    desk.form(f"/eid/staff/cards/{card['card_id']}/suspend", {"reason": "checked at the desk"})
    assert db.session.scalar(db.select(Card.status)) == "suspended"  # the control
