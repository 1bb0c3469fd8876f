"""Signing keys (JWKS, rotation, encryption at rest), the status document, facilities API."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from portal.eid import keys, service, verifier
from portal.eid.models import SigningKey
from portal.extensions import db
from portal.types import utcnow


def test_jwks_is_public_and_cacheable(client, resident, card_for, token_for):
    card_for(resident)
    kid = jwt.get_unverified_header(token_for(resident))["kid"]
    response = client.get("/api/v1/eid/keys")
    assert response.status_code == 200
    assert "max-age" in response.headers["Cache-Control"]
    (jwk,) = response.get_json()["keys"]
    assert {k: jwk[k] for k in ("kty", "crv", "kid")} == {"kty": "OKP", "crv": "Ed25519", "kid": kid}
    assert "d" not in jwk
    assert verifier.load_jwks(response.get_json())[kid] is not None


def test_private_key_is_stored_encrypted(app, resident, card_for, token_for):
    card_for(resident)
    token_for(resident)
    row = db.session.scalar(db.select(SigningKey))
    private = keys.private_key(row, service.fernet())
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    assert raw not in row.private_key_encrypted
    with pytest.raises(keys.KeyDecryptError):
        keys.private_key(row, keys.fernet_for("another secret"))


def test_rotation_keeps_unexpired_tokens_valid(client, resident, card_for, token_for, make_gate,
                                               verify):
    card_for(resident)
    key, _ = make_gate()
    old_token = token_for(resident)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    new = service.rotate_key(db.session)
    new_token = token_for(resident)
    assert jwt.get_unverified_header(new_token)["kid"] == new.kid != old_kid
    published = [k["kid"] for k in client.get("/api/v1/eid/keys").get_json()["keys"]]
    assert published == [new.kid, old_kid]
    assert verify(key, old_token).get_json()["reason"] == "ok"
    assert verify(key, new_token).get_json()["reason"] == "ok"


def test_retired_key_leaves_the_jwks_after_its_tokens_expired(resident, card_for, token_for):
    card_for(resident)
    old_kid = jwt.get_unverified_header(token_for(resident))["kid"]
    now = utcnow()
    new = service.rotate_key(db.session, now=now)
    # Still published while a token it signed can be valid (60 s + 30 s skew) ...
    in_90s = [k["kid"] for k in service.jwks(db.session, now + timedelta(seconds=90))["keys"]]
    assert in_90s == [new.kid, old_kid]
    # ... and gone once every such token has expired.
    later = [k["kid"] for k in service.jwks(db.session, now + timedelta(minutes=10))["keys"]]
    assert later == [new.kid]


def test_status_document_with_etag(client, resident, staff, make_user, card_for):
    card = card_for(resident)
    other = make_user()
    other_card = card_for(other)
    response = client.get("/api/v1/eid/status")
    assert response.status_code == 200
    assert response.get_json() == {"revoked": [], "suspended": []}
    etag = response.headers["ETag"]
    assert client.get("/api/v1/eid/status", headers={"If-None-Match": etag}).status_code == 304

    service.suspend_card(db.session, staff, card["card_id"], "check")
    service.revoke_my_card(db.session, other)
    response = client.get("/api/v1/eid/status", headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag
    assert response.get_json() == {"revoked": [other_card["card_id"]], "suspended": [card["card_id"]]}
    assert client.get("/api/v1/eid/status",
                      headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_facilities_are_public_and_translated(client, make_facility):
    make_facility(code="a-library", min_age=None, residents_only=True, districts=["성동구"],
                  resident_discount=20, opening_hours="mon-fri 09:00-18:00; sat 10:00-13:00")
    make_facility(code="b-pool", names={"ko": "수영장"}, kind="sports_centre")
    body = client.get("/api/v1/eid/facilities?lang=en").get_json()
    assert [(i["code"], i["name"], i["lang"]) for i in body["items"]] == [
        ("a-library", "Seongdong Library", "en"), ("b-pool", "수영장", "ko")]
    first = body["items"][0]
    assert first["kind"] == "library"
    assert first["policy"] == {"residents_only": True, "districts": ["성동구"], "min_age": None,
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
