"""Signing keys (JWKS, rotation, encryption at rest) and the status document
(``portal/eid/service/status.py``)."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from portal.eid import keys, service, verifier
from portal.eid.models import Card, SigningKey
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


def test_a_card_leaves_the_status_document_once_no_token_of_it_can_pass(app, resident, make_user,
                                                                       staff, card_for):
    """Listed while a token signed before its validity ended can pass a gate (60 s token + 30 s
    skew after the card expired); after that the entry would only grow the document."""
    revoked = card_for(resident)
    service.revoke_my_card(db.session, resident)
    suspended = card_for(make_user())
    service.suspend_card(db.session, staff, suspended["card_id"], "check")
    expiry = utcnow().replace(microsecond=0) + timedelta(days=30)
    db.session.execute(db.update(Card).values(expires_at=expiry))
    db.session.commit()
    # The last token of the revoked card: signed a second before its validity ended.
    card = db.session.scalar(db.select(Card).where(Card.public_id == revoked["card_id"]))
    token, _ = service.sign_token(db.session, card, expiry - timedelta(seconds=1))
    public = verifier.load_jwks(service.jwks(db.session))

    def offline_gate(at):
        doc, _etag = service.status_document(db.session, at)
        return doc["revoked"] + doc["suspended"], verifier.verify(
            token, public, status=doc, now=at.timestamp()).reason

    both = [revoked["card_id"], suspended["card_id"]]
    assert offline_gate(expiry - timedelta(seconds=30)) == (both, "revoked")
    assert offline_gate(expiry + timedelta(seconds=89)) == (both, "revoked")
    # No token of the cards can pass any more: they have left the document.
    assert offline_gate(expiry + timedelta(seconds=90)) == ([], "expired")
