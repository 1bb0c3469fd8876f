"""Real e-ID API answers against their response models (``portal/eid/schemas.py``): a key
added to, missing from or typed differently in a builder than in its ``XOut`` model fails."""

from __future__ import annotations

from datetime import date

import pytest

from portal.eid import keys, schemas, service
from portal.extensions import db


def check(model, response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    model.model_validate(response.get_json())  # extra keys are refused: _Out forbids them


def test_card_and_token_answers(client, login, resident, csrf_headers):
    login(client, resident)
    check(schemas.CardOut, client.post("/api/v1/eid/cards", headers=csrf_headers(client)), 201)
    check(schemas.CardOut, client.get("/api/v1/eid/cards/me"))
    check(schemas.TokenOut, client.post("/api/v1/eid/cards/me/token", headers=csrf_headers(client)))
    check(schemas.CardOut, client.post("/api/v1/eid/cards/me/revoke", headers=csrf_headers(client)))


@pytest.mark.parametrize("fast", [False, True])
def test_gate_answers(fast, app, resident, staff, card_for, token_for, make_gate, verify):
    """Granted with a discount, denied with and without a card status, from Flask's view and
    from the fast path."""
    card = card_for(resident)
    key, _facility = make_gate(resident_discount=30)
    token = token_for(resident)
    service.authenticate_gate(db.session, key)  # the caches a first verify leaves behind
    keys.public_keys(db.session)
    db.session.commit()
    app.config["EID_VERIFY_FAST_PATH"] = fast
    fast_path = app.extensions["eid_fast_path"]
    served = fast_path.served

    granted = verify(key, token)
    assert granted.get_json()["resident_discount"] == 30
    check(schemas.GateAnswerOut, granted)
    malformed = verify(key, "not-a-token")
    assert malformed.get_json()["card_status"] is None
    check(schemas.GateAnswerOut, malformed)
    service.suspend_card(db.session, staff, card["card_id"], "check")
    suspended = verify(key, token)
    assert suspended.get_json()["card_status"] == "suspended"
    check(schemas.GateAnswerOut, suspended)
    assert fast_path.served - served == (3 if fast else 0)


def test_facilities_answer(client, make_facility):
    make_facility(code="a-library", residents_only=True, districts=["성동구"], min_age=65,
                  resident_discount=20, opening_hours="mon-fri 09:00-18:00; sat 10:00-13:00")
    make_facility(code="b-pool", names={"ko": "수영장"}, kind="sports_centre")
    check(schemas.FacilitiesOut, client.get("/api/v1/eid/facilities?lang=zh"))
    check(schemas.FacilitiesOut, client.get("/api/v1/eid/facilities?limit=1"))


def test_access_log_answer(client, make_user, card_for, token_for, make_gate, verify):
    user = make_user(birth_date=date(1980, 3, 1), district="성동구")
    card_for(user)
    key, _ = make_gate()
    token = token_for(user)
    verify(key, token)
    verify(key, token)
    answer = client.get("/api/v1/eid/access-log?lang=en&limit=1")
    assert answer.get_json()["next_cursor"]
    check(schemas.AccessLogOut, answer)


def test_keys_and_status_answers(client, resident, staff, card_for, token_for):
    card = card_for(resident)
    token_for(resident)  # the first token creates the signing key
    service.suspend_card(db.session, staff, card["card_id"], "check")
    check(schemas.JwksOut, client.get("/api/v1/eid/keys"))
    check(schemas.StatusOut, client.get("/api/v1/eid/status"))
