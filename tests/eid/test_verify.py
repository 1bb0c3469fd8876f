"""POST /api/v1/eid/verify: every way a token is granted or denied (``portal/eid/verify/``)."""

from __future__ import annotations

import json
import time
from datetime import date

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.eid import service, verifier
from portal.eid.models import AccessEntry, Card
from portal.extensions import db


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def reason(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["decision"] == ("granted" if body["reason"] == "ok" else "denied")
    return body["reason"]


def test_valid_token_is_granted_and_logged(resident, card_for, token_for, make_gate, verify):
    card = card_for(resident)
    key, facility = make_gate(resident_discount=30)
    response = verify(key, token_for(resident))
    body = response.get_json()
    assert body["decision"] == "granted" and body["reason"] == "ok"
    assert body["facility"] == facility.code
    assert body["card_status"] == "active" and body["resident_discount"] == 30
    assert set(body) == {"decision", "reason", "message", "facility", "card_status",
                         "resident_discount", "server_time"}
    (entry,) = db.session.scalars(db.select(AccessEntry)).all()
    card_row = db.session.scalar(db.select(Card).where(Card.public_id == card["card_id"]))
    assert (entry.card_id, entry.facility_id, entry.decision, entry.reason) == (
        card_row.id, facility.id, "granted", "ok")
    assert entry.gate_id and entry.at


def test_replayed_at_the_same_gate(resident, card_for, token_for, make_gate, verify):
    card_for(resident)
    key, _ = make_gate()
    token = token_for(resident)
    assert reason(verify(key, token)) == "ok"
    assert reason(verify(key, token)) == "replayed"


def test_replayed_at_another_gate(resident, card_for, token_for, make_gate, verify):
    card_for(resident)
    key_a, _ = make_gate()
    key_b, _ = make_gate()
    token = token_for(resident)
    assert reason(verify(key_a, token)) == "ok"
    assert reason(verify(key_b, token)) == "replayed"
    assert [e.reason for e in db.session.scalars(
        db.select(AccessEntry).order_by(AccessEntry.id))] == ["ok", "replayed"]


def test_forged_signature(resident, card_for, token_for, make_gate, verify):
    card_for(resident)
    key, _ = make_gate()
    token = token_for(resident)
    kid = jwt.get_unverified_header(token)["kid"]
    forged = jwt.encode(claims_of(token), Ed25519PrivateKey.generate(), algorithm="EdDSA",
                        headers={"kid": kid})
    assert reason(verify(key, forged)) == "bad_signature"


def test_token_signed_by_an_unknown_key(resident, card_for, token_for, make_gate, verify):
    card_for(resident)
    key, _ = make_gate()
    stranger = jwt.encode(claims_of(token_for(resident)), Ed25519PrivateKey.generate(),
                          algorithm="EdDSA", headers={"kid": "not-ours"})
    assert reason(verify(key, stranger)) == "unknown_key"


def test_altered_claims(make_user, card_for, token_for, make_gate, verify):
    young = make_user(birth_date=date(2000, 1, 1))
    card_for(young)
    key, _ = make_gate(min_age=65)
    head, payload, sig = token_for(young).split(".")
    claims = json.loads(verifier.b64url_decode(payload))
    claims["age_over"] = [14, 19, 65]
    altered = f"{head}.{verifier.b64url_encode(json.dumps(claims).encode())}.{sig}"
    assert reason(verify(key, altered)) == "bad_signature"


def sign_at(user, when):
    card = db.session.scalar(db.select(Card).where(Card.user_id == user.id))
    from datetime import UTC, datetime
    token, _ = service.sign_token(db.session, card, datetime.fromtimestamp(when, tz=UTC))
    return token


def test_expired(resident, card_for, make_gate, verify):
    card_for(resident)
    key, _ = make_gate()
    assert reason(verify(key, sign_at(resident, time.time() - 60 - 31))) == "expired"
    # Within the 30 s clock-skew allowance it still works.
    assert reason(verify(key, sign_at(resident, time.time() - 60 - 20))) == "ok"


def test_not_yet_valid(resident, card_for, make_gate, verify):
    card_for(resident)
    key, _ = make_gate()
    assert reason(verify(key, sign_at(resident, time.time() + 45))) == "not_yet_valid"
    assert reason(verify(key, sign_at(resident, time.time() + 20))) == "ok"


def test_revoked_card(client, resident, card_for, token_for, make_gate, verify, csrf_headers):
    card_for(resident)
    key, _ = make_gate()
    token = token_for(resident)
    assert client.post("/api/v1/eid/cards/me/revoke", headers=csrf_headers(client)).status_code == 200
    response = verify(key, token)
    assert reason(response) == "revoked"
    assert response.get_json()["card_status"] == "revoked"


def test_suspended_card(resident, staff, card_for, token_for, make_gate, verify):
    card = card_for(resident)
    key, _ = make_gate()
    token = token_for(resident)
    service.suspend_card(db.session, staff, card["card_id"], "investigation")
    response = verify(key, token)
    assert reason(response) == "suspended"
    assert response.get_json()["card_status"] == "suspended"
    service.resume_card(db.session, staff, card["card_id"], "done")
    assert reason(verify(key, token_for(resident))) == "ok"


def test_policy_age(make_user, card_for, token_for, make_gate, verify):
    young = make_user(birth_date=date(2000, 1, 1))
    senior = make_user(birth_date=date(1950, 1, 1))
    key, facility = make_gate(min_age=65)
    card_for(young)
    assert reason(verify(key, token_for(young))) == "policy"
    card_for(senior)
    assert reason(verify(key, token_for(senior))) == "ok"


def test_policy_district_and_residents_only(make_user, card_for, token_for, make_gate, verify):
    key, _ = make_gate(residents_only=True, districts=["성동구"])
    outsider = make_user(district="강남구")
    local = make_user(district="성동구")
    card_for(outsider)
    card_for(local)
    assert reason(verify(key, token_for(outsider))) == "policy"
    assert reason(verify(key, token_for(local))) == "ok"


def test_policy_residents_only(make_user, card_for, token_for, make_gate, verify):
    key, _ = make_gate(residents_only=True)
    staff_member = make_user(roles=("staff",))  # verified, but not a resident
    card_for(staff_member)
    assert reason(verify(key, token_for(staff_member))) == "policy"


def test_malformed_and_oversize(make_gate, resident, card_for, token_for, verify, app):
    key, _ = make_gate()
    for bad in ["", "not-a-token", "a.b.c", None, 42, ["x"], {"a": 1}]:
        assert reason(verify(key, bad)) == "malformed", bad
    card_for(resident)
    assert reason(verify(key, token_for(resident) + "A" * 3000)) == "malformed"
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    response = client.post("/api/v1/eid/verify", json={}, headers=headers)
    assert reason(response) == "malformed"
    response = client.post("/api/v1/eid/verify", data="{not json", headers=headers,
                           content_type="application/json")
    assert response.status_code == 422
    response = client.post("/api/v1/eid/verify", data="x" * (2 * 1024 * 1024), headers=headers,
                           content_type="application/json")
    assert response.status_code == 413
    assert db.session.scalar(db.select(db.func.count(AccessEntry.id))) == 9


def test_wrong_or_missing_gate_key_is_401(resident, card_for, token_for, make_gate, app, verify):
    card_for(resident)
    key, _ = make_gate()
    token = token_for(resident)
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer eidg_wrong"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer " + key[:-1] + ("x" if key[-1] != "x" else "y")}):
        response = client.post("/api/v1/eid/verify", json={"token": token}, headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] in ("invalid_gate_key", "unauthorized")
    # A resident's personal API token is not a gate key either.
    from portal.accounts.service import create_token
    plain, _row = create_token(db.session, resident, "phone")
    response = client.post("/api/v1/eid/verify", json={"token": token},
                           headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 401
    assert reason(verify(key, token)) == "ok"  # the refused calls did not use the token


def test_switched_off_gate_is_401(resident, staff, card_for, token_for, make_gate, verify):
    card_for(resident)
    key, _ = make_gate()
    gate_id = db.session.scalar(db.select(service.Gate.id))
    service.deactivate_gate(db.session, staff, gate_id)
    assert verify(key, token_for(resident)).status_code == 401


def test_card_status_comes_before_policy_and_is_logged(client, make_user, card_for, token_for,
                                                       make_gate, verify, csrf_headers):
    young = make_user(birth_date=date(2001, 1, 1))
    card_for(young)
    key, _ = make_gate(min_age=65)
    token = token_for(young)
    client.post("/api/v1/eid/cards/me/revoke", headers=csrf_headers(client))
    assert reason(verify(key, token)) == "revoked"
    entry = db.session.scalar(db.select(AccessEntry))
    assert (entry.reason, entry.card_status, entry.card_id is not None) == ("revoked", "revoked", True)


def test_card_past_its_validity_is_denied(resident, card_for, token_for, make_gate, verify):
    from portal.types import utcnow

    card_for(resident)
    key, _ = make_gate()
    token = token_for(resident)
    db.session.execute(db.update(Card).values(expires_at=utcnow()))
    db.session.commit()
    response = verify(key, token)
    assert reason(response) == "revoked"
    assert response.get_json()["card_status"] == "expired"


def test_expired_token_is_logged_against_its_card(resident, card_for, make_gate, verify):
    card = card_for(resident)
    key, _ = make_gate()
    verify(key, sign_at(resident, time.time() - 200))
    entry = db.session.scalar(db.select(AccessEntry))
    card_id = db.session.scalar(db.select(Card.id).where(Card.public_id == card["card_id"]))
    assert (entry.reason, entry.card_id) == ("expired", card_id)
