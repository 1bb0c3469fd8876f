"""The card page, its QR refresh, the access log page and the staff pages."""

from __future__ import annotations

import re
from datetime import date

from portal.eid.models import Card, Facility, Gate
from portal.extensions import db


def test_card_page_without_card_offers_to_issue(client, login, resident):
    login(client, resident)
    page = client.get("/eid/?lang=en").get_data(as_text=True)
    assert "Issue my e-ID card" in page
    response = client.form("/eid/issue")
    assert response.status_code == 303
    assert db.session.scalar(db.select(db.func.count(Card.id))) == 1


def test_issue_form_needs_csrf(client, login, resident):
    login(client, resident)
    assert client.post("/eid/issue").status_code == 400
    assert db.session.scalar(db.select(db.func.count(Card.id))) == 0


def test_card_page_shows_holder_and_makes_its_code_on_the_phone(client, login, resident, card_for):
    card_for(resident)
    card = db.session.scalar(db.select(Card))
    page = client.get("/eid/?lang=en").get_data(as_text=True)
    assert resident.name in page and "Seongdong-gu" in page  # the district in the page's language
    assert card.masked_number in page and card.number not in page
    # The code is made on the phone (card.js, with the credential of this card), or fetched from
    # /eid/qr by browsers without WebCrypto; no server token travels in the page itself.
    assert 'id="eid-qr"' in page and 'data-credential-url="/api/v1/eid/cards/me/credential"' in page
    assert f'data-card="{card.public_id}"' in page and "eyJ" not in page
    assert 'data-url="/eid/qr"' in page and "card.js" in page
    assert client.get("/eid/").headers["Cache-Control"] == "no-store"


def test_qr_refresh_needs_csrf_and_gives_a_new_token(client, login, resident, card_for,
                                                     csrf_headers):
    card_for(resident)
    assert client.post("/eid/qr").status_code == 400
    response = client.post("/eid/qr", headers=csrf_headers(client))
    assert response.status_code == 200
    body = response.get_json()
    assert body["expires_in"] == 60 and body["svg"].startswith("<svg")
    assert response.headers["Cache-Control"] == "no-store"


def test_unverified_sees_how_to_verify(client, login, make_user):
    login(client, make_user(verified=False))
    page = client.get("/eid/?lang=en").get_data(as_text=True)
    assert "Verify your residency first" in page and "<svg" not in page


def test_card_page_needs_sign_in(client):
    response = client.get("/eid/")
    assert response.status_code in (302, 401)


def test_report_lost_reissues(client, login, resident, card_for):
    first = card_for(resident)
    response = client.form("/eid/report-lost")
    assert response.status_code == 303
    cards = db.session.scalars(db.select(Card).order_by(Card.id)).all()
    assert [(c.public_id == first["card_id"], c.status) for c in cards] == [
        (True, "revoked"), (False, "active")]


def test_card_page_in_three_languages(client, login, resident, card_for):
    card_for(resident)
    texts = {lang: client.get(f"/eid/?lang={lang}").get_data(as_text=True) for lang in ("ko", "en", "zh")}
    assert "Card number" in texts["en"]
    assert "Card number" not in texts["ko"] and "Card number" not in texts["zh"]
    assert "카드 번호" in texts["ko"]
    assert "卡号" in texts["zh"]


def test_staff_create_facility_and_gate_key_shown_once(client, login, staff):
    login(client, staff)
    assert client.get("/eid/staff/facilities").status_code == 200
    response = client.form("/eid/staff/facilities", {
        "code": "pool-1", "name_ko": "구민 수영장", "name_en": "Residents' Pool", "name_zh": "居民游泳池",
        "kind": "sports_centre", "opening_hours": "mon-sat 06:00-21:00", "residents_only": "y",
        "districts": ["seongdong", "gwangjin"], "min_age": "", "max_age": "", "resident_discount": "25",
        "active": "y"})
    assert response.status_code == 303, response.get_data(as_text=True)
    facility = db.session.scalar(db.select(Facility).where(Facility.code == "pool-1"))
    assert facility.districts == ["seongdong", "gwangjin"] and facility.resident_discount == 25
    assert facility.opening_hours["5"] == "06:00-21:00" and "6" not in facility.opening_hours
    listing = client.get("/eid/staff/facilities?lang=en").get_data(as_text=True)
    for text in ("Residents&#39; Pool", "Residents only", "Districts: Seongdong-gu, Gwangjin-gu",
                 "Resident discount 25%", "Sat 06:00-21:00"):
        assert text in listing, text
    assert "Sun 06:00" not in listing
    assert "구민 수영장" in client.get("/eid/staff/facilities?lang=ko").get_data(as_text=True)

    response = client.form("/eid/staff/facilities/pool-1/gates", {"name": "front door"})
    assert response.status_code == 201
    key = re.search(r'id="new-gate-key">([^<]+)<', response.get_data(as_text=True)).group(1)
    gate = db.session.scalar(db.select(Gate))
    assert key.startswith(gate.key_prefix) and gate.key_hash != key
    page = client.get("/eid/staff/facilities/pool-1").get_data(as_text=True)
    assert key not in page and gate.key_prefix in page


def test_staff_facility_form_errors_are_shown(client, login, staff):
    login(client, staff)
    response = client.form("/eid/staff/facilities?lang=en", {
        "code": "x1", "name_ko": "시설", "kind": "library", "min_age": "21", "resident_discount": "0"})
    assert response.status_code == 422
    assert "Use one of the age thresholds" in response.get_data(as_text=True)


def test_staff_suspend_and_resume_pages(client, login, resident, staff, card_for):
    card = card_for(resident)
    number = db.session.scalar(db.select(Card.number))
    login(client, staff)
    page = client.get(f"/eid/staff/cards?q={number}").get_data(as_text=True)
    assert card["card_id"] in page
    response = client.form(f"/eid/staff/cards/{card['card_id']}/suspend", {"reason": "lost"})
    assert response.status_code == 303
    assert db.session.scalar(db.select(Card.status)) == "suspended"
    client.form(f"/eid/staff/cards/{card['card_id']}/resume", {"reason": ""})
    db.session.expire_all()
    assert db.session.scalar(db.select(Card.status)) == "suspended"  # a reason is required
    client.form(f"/eid/staff/cards/{card['card_id']}/resume", {"reason": "found"})
    db.session.expire_all()
    assert db.session.scalar(db.select(Card.status)) == "active"


def test_residents_cannot_open_staff_pages(client, login, resident):
    login(client, resident)
    assert client.get("/eid/staff/facilities").status_code == 403
    assert client.get("/eid/staff/cards").status_code == 403



def test_staff_edit_facility_policy_applies_at_the_gate(client, login, staff, make_gate, make_user,
                                                        card_for, token_for, verify):
    key, facility = make_gate()
    young = make_user(birth_date=date(2001, 1, 1))
    card_for(young)
    login(client, staff)
    page = client.get(f"/eid/staff/facilities/{facility.code}?lang=en").get_data(as_text=True)
    assert "Seongdong Library" in page and "test gate" in page
    response = client.form(f"/eid/staff/facilities/{facility.code}", {
        "code": "ignored", "name_ko": "성동구립도서관", "name_en": "Seongdong Library",
        "name_zh": "城东图书馆", "kind": "senior_centre", "opening_hours": "", "districts": "",
        "min_age": "65", "max_age": "", "resident_discount": "0", "active": "y"})
    assert response.status_code == 303
    db.session.expire_all()
    stored = db.session.scalar(db.select(Facility))
    assert (stored.code, stored.kind, stored.min_age) == (facility.code, "senior_centre", 65)
    assert verify(key, token_for(young)).get_json()["reason"] == "policy"
