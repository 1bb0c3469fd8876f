"""Cards: issue, one live card per user, report lost, tokens and what they carry."""

from __future__ import annotations

from datetime import date

import jwt
import pytest
from sqlalchemy.exc import IntegrityError

from portal.audit import entries_for
from portal.eid.models import Card
from portal.extensions import db
from portal.types import utcnow


def test_verified_resident_gets_a_card(client, login, resident, csrf_headers):
    login(client, resident)
    response = client.post("/api/v1/eid/cards", headers=csrf_headers(client))
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "active"
    assert body["card_id"] and body["expires_at"]
    assert str(resident.id) != body["card_id"]
    assert body["number"].endswith(db.session.scalar(db.select(Card.number))[-4:])
    assert body["number"].count("•") == 12

    me = client.get("/api/v1/eid/cards/me").get_json()
    assert me["card_id"] == body["card_id"] and me["status"] == "active"


def test_second_card_is_a_conflict(client, login, resident, card_for, csrf_headers):
    card_for(resident)
    response = client.post("/api/v1/eid/cards", headers=csrf_headers(client))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "card_exists"


def test_unverified_user_is_refused(client, login, make_user, csrf_headers):
    login(client, make_user(verified=False))
    response = client.post("/api/v1/eid/cards", headers=csrf_headers(client))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "not_verified"


def test_anonymous_is_401(client):
    assert client.post("/api/v1/eid/cards").status_code in (400, 401)  # CSRF or sign-in first
    assert client.get("/api/v1/eid/cards/me").status_code == 401
    assert client.post("/api/v1/eid/cards/me/token", headers={"Authorization": "Bearer pt_nope"}
                       ).status_code == 401


def test_bearer_token_works_without_csrf(client, resident, bearer):
    headers = bearer(resident)
    assert client.post("/api/v1/eid/cards", headers=headers).status_code == 201
    response = client.post("/api/v1/eid/cards/me/token", headers=headers)
    assert response.status_code == 200 and response.get_json()["token"].count(".") == 2


def test_cookie_post_without_csrf_is_refused(client, login, resident):
    login(client, resident)
    response = client.post("/api/v1/eid/cards")
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count(Card.id))) == 0


def test_no_card_yet_is_404(client, login, resident):
    login(client, resident)
    response = client.get("/api/v1/eid/cards/me")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "no_card"


def test_database_allows_one_live_card_per_user(app, resident):
    now = utcnow()
    for n in range(2):
        db.session.add(Card(public_id=f"pid-{n}", user_id=resident.id, number=f"{n:016d}",
                            status="active", expires_at=now, issued_at=now))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # A suspended card also blocks a second live card; revoked and expired ones do not.
    db.session.add_all([
        Card(public_id="a", user_id=resident.id, number="1" * 16, status="suspended", expires_at=now),
        Card(public_id="b", user_id=resident.id, number="2" * 16, status="revoked", expires_at=now),
        Card(public_id="c", user_id=resident.id, number="3" * 16, status="expired", expires_at=now),
    ])
    db.session.commit()
    db.session.add(Card(public_id="d", user_id=resident.id, number="4" * 16, status="active",
                        expires_at=now))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_report_lost_revokes_and_a_new_card_can_be_issued(client, login, resident, card_for,
                                                         csrf_headers):
    first = card_for(resident)
    response = client.post("/api/v1/eid/cards/me/revoke", headers=csrf_headers(client))
    assert response.status_code == 200
    assert response.get_json() | {"status": "revoked"} == response.get_json()
    assert response.get_json()["card_id"] == first["card_id"]
    assert client.post("/api/v1/eid/cards/me/token", headers=csrf_headers(client)).status_code == 404
    second = client.post("/api/v1/eid/cards", headers=csrf_headers(client))
    assert second.status_code == 201
    assert second.get_json()["card_id"] != first["card_id"]
    assert [e.action for e in entries_for(db.session, "eid_card", first["card_id"])] == [
        "eid.card_issued", "eid.card_revoked"]


def test_revoke_without_card_is_404(client, login, resident, csrf_headers):
    login(client, resident)
    response = client.post("/api/v1/eid/cards/me/revoke", headers=csrf_headers(client))
    assert response.status_code == 404


def test_token_claims_carry_no_personal_data(client, login, resident, card_for, token_for):
    card = card_for(resident)
    token = token_for(resident)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "EdDSA" and header["kid"]
    assert set(claims) == {"iss", "sub", "iat", "exp", "jti", "resident", "district", "age_over",
                           "status_idx"}
    assert claims["sub"] == card["card_id"]
    assert claims["iss"] == "https://portal.example.kr"
    assert 0 < claims["exp"] - claims["iat"] <= 60
    assert claims["resident"] is True and claims["district"] == "seongdong"
    assert claims["age_over"] == [14, 19]  # born 1990: over 19, not 65
    text = jwt.utils.base64url_decode(token.split(".")[1]).decode()
    for secret in (resident.name, resident.email, "1990-05-17", "19900517", "900517"):
        assert secret not in text
    assert resident.id not in (claims["sub"], claims["jti"])


def test_token_lifetime_is_capped_at_60_seconds(app, client, login, resident, card_for, csrf_headers):
    card_for(resident)
    app.config["EID_TOKEN_SECONDS"] = "600"
    response = client.post("/api/v1/eid/cards/me/token", headers=csrf_headers(client)).get_json()
    claims = jwt.decode(response["token"], options={"verify_signature": False})
    assert response["expires_in"] == 60 and claims["exp"] - claims["iat"] == 60


def test_each_token_has_a_fresh_jti(client, resident, card_for, token_for):
    card_for(resident)
    jtis = {jwt.decode(token_for(resident), options={"verify_signature": False})["jti"]
            for _ in range(3)}
    assert len(jtis) == 3


def test_senior_token_lists_age_65(make_user, card_for, token_for):
    today = date.today()
    senior = make_user(birth_date=date(today.year - 70, 1, 1))
    card_for(senior)
    claims = jwt.decode(token_for(senior), options={"verify_signature": False})
    assert claims["age_over"] == [14, 19, 65]


def test_expired_card_gives_no_token(app, client, resident, card_for, csrf_headers):
    card_for(resident)
    db.session.execute(db.update(Card).values(expires_at=utcnow()))
    db.session.commit()
    response = client.post("/api/v1/eid/cards/me/token", headers=csrf_headers(client))
    assert response.status_code == 404
    assert client.get("/api/v1/eid/cards/me").get_json()["status"] == "expired"
    assert client.post("/api/v1/eid/cards", headers=csrf_headers(client)).status_code == 201


def test_upkeep_tasks_expire_cards_and_forget_old_token_ids(app, resident, card_for):
    from datetime import timedelta

    from portal.eid import tasks, verifier
    from portal.eid.models import UsedToken
    from portal.eid.verify.store import USED_TOKEN_MARGIN

    card_for(resident)
    db.session.execute(db.update(Card).values(expires_at=utcnow() - timedelta(seconds=1)))
    # a used token id is kept until its token's exp + leeway + margin (by the database's clock)
    kept = timedelta(seconds=verifier.LEEWAY + USED_TOKEN_MARGIN)
    db.session.add_all([
        UsedToken(jti="old-jti-0001", expires_at=utcnow() - kept - timedelta(seconds=5)),
        UsedToken(jti="mid-jti-0001", expires_at=utcnow() - kept + timedelta(seconds=5)),
        UsedToken(jti="new-jti-0001", expires_at=utcnow() + timedelta(minutes=1))])
    db.session.commit()
    assert tasks.expire_cards.delay().get() == 1
    assert tasks.purge_used_tokens.delay().get() == 1
    db.session.expire_all()
    assert db.session.scalar(db.select(Card.status)) == "expired"
    assert sorted(db.session.scalars(db.select(UsedToken.jti))) == ["mid-jti-0001", "new-jti-0001"]
