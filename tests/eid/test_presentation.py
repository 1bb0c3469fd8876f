"""The card on the phone: a device-bound credential (``POST /api/v1/eid/cards/me/credential``)
and the presentations the phone makes of it, at online gates (fast path and view) and offline."""

from __future__ import annotations

import base64
import re
import time
from concurrent.futures import ThreadPoolExecutor

import base45
import cbor2
import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.eid import presentation, verifier
from portal.eid.models import AccessEntry, Device
from portal.eid.presentation import Device as Phone
from portal.extensions import db
from tests.conftest import requires_postgres

CREDENTIAL = "/api/v1/eid/cards/me/credential"


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def credential_for(client, login, csrf_headers):
    """credential_for(user, phone) -> (the answer's JSON, the credential's bytes)."""
    def factory(user, phone):
        login(client, user)
        response = client.post(CREDENTIAL, json={"device_key": phone.jwk()}, headers=csrf_headers(client))
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        return body, b64decode(body["credential"])
    return factory


def answer(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_credential_carries_only_what_gates_need_and_the_phone_key(app, resident, card_for,
                                                                     credential_for):
    card = card_for(resident)
    phone = Phone()
    body, credential = credential_for(resident, phone)
    assert set(body) == {"credential", "expires_at", "status", "server_time"}
    assert abs(body["server_time"] - time.time()) < 5
    protected, unprotected, payload, signature = cbor2.loads(credential)
    claims = cbor2.loads(payload)
    assert set(claims) == {2, 4, 6, 8, 65535, "res", "dst", "age"}
    assert claims[2] == card["card_id"]
    assert claims[4] - claims[6] == 24 * 3600
    assert claims[65535]["status_list"]["idx"] == body["status"]["idx"]
    assert claims[65535]["status_list"]["uri"] == body["status"]["uri"]
    assert body["status"]["uri"].endswith("/api/v1/eid/status-list")
    assert claims["res"] is True and claims["dst"] == "seongdong" and claims["age"] == [14, 19]
    x = b64decode(phone.jwk()["x"])
    assert claims[8] == {1: {1: 2, -1: 1, -2: x, -3: bool(b64decode(phone.jwk()["y"])[-1] & 1)}}
    # No name, no card number, no birth date anywhere in it.
    assert "홍길동".encode() not in credential and b"1990" not in credential


def test_a_presentation_is_a_sparse_qr(resident, card_for, credential_for):
    card_for(resident)
    phone = Phone()
    _, credential = credential_for(resident, phone)
    text = phone.present(credential)
    assert text.startswith("EID1:") and len(text) <= 600
    assert re.fullmatch(r"[0-9A-Z $%*+\-./:]+", text)  # QR alphanumeric mode
    qr = segno.make(text, error="m", micro=False, boost_error=False)
    assert qr.mode == "alphanumeric" and qr.error == "M" and qr.version <= 16


@pytest.mark.parametrize("mode", ["fast", "flask"])
def test_each_proof_is_granted_once_online(mode, resident, card_for, credential_for, make_gate, verify_by):
    card_for(resident)
    phone = Phone()
    _, credential = credential_for(resident, phone)
    key, _ = make_gate()
    first, second = phone.present(credential), phone.present(credential)
    response, fast = verify_by(mode, key, first)
    assert fast == (mode == "fast")
    body = answer(response)
    assert (body["decision"], body["reason"], body["card_status"]) == ("granted", "ok", "active")
    assert abs(body["server_time"] - time.time()) < 5
    assert answer(verify_by(mode, key, first)[0])["reason"] == "replayed"
    assert answer(verify_by(mode, key, second)[0])["reason"] == "ok"  # the next code passes
    assert [e.reason for e in db.session.scalars(db.select(AccessEntry).order_by(AccessEntry.id))] == [
        "ok", "replayed", "ok"]


@pytest.mark.parametrize("mode", ["fast", "flask"])
def test_another_phone_cannot_present_the_credential(mode, resident, card_for, credential_for, make_gate,
                                                     verify_by):
    card_for(resident)
    _, credential = credential_for(resident, Phone())
    key, _ = make_gate()
    thief = Phone()
    assert answer(verify_by(mode, key, thief.present(credential))[0])["reason"] == "unbound"
    # The credential alone (copied off a screen, no proof) is no better.
    alone = presentation.PREFIX + base45.b45encode(b"\x81" + credential).decode()
    assert answer(verify_by(mode, key, alone)[0])["reason"] == "unbound"


def test_a_proof_for_another_credential_is_unbound(resident, card_for, credential_for, make_gate, verify):
    card_for(resident)
    phone = Phone()
    _, old = credential_for(resident, phone)
    time.sleep(1.05)  # a renewal a second later: another iat, another credential
    _, new = credential_for(resident, phone)
    assert old != new
    proof_for_old = presentation.proof(phone.sign, old, int(time.time()), b"123456789012")
    key, _ = make_gate()
    assert answer(verify(key, presentation.encode(new, proof_for_old)))["reason"] == "unbound"
    assert answer(verify(key, presentation.encode(old, proof_for_old)))["reason"] == "ok"


def test_proof_times(resident, card_for, credential_for, make_gate, verify):
    card_for(resident)
    phone = Phone()
    _, credential = credential_for(resident, phone)
    key, _ = make_gate()
    now = int(time.time())
    old = phone.present(credential, iat=now - presentation.PROOF_SECONDS - verifier.LEEWAY - 5)
    ahead = phone.present(credential, iat=now + verifier.LEEWAY + 60)
    assert answer(verify(key, old))["reason"] == "expired"
    assert answer(verify(key, ahead))["reason"] == "not_yet_valid"


def test_a_revoked_card_is_denied_with_a_live_credential(client, resident, card_for, credential_for,
                                                         make_gate, verify, csrf_headers):
    card_for(resident)
    phone = Phone()
    _, credential = credential_for(resident, phone)
    key, _ = make_gate()
    assert client.post("/api/v1/eid/cards/me/revoke", headers=csrf_headers(client)).status_code == 200
    body = answer(verify(key, phone.present(credential)))
    assert (body["reason"], body["card_status"]) == ("revoked", "revoked")


def test_forged_and_hostile_presentations(resident, card_for, credential_for, make_gate, verify):
    card_for(resident)
    phone = Phone()
    _, credential = credential_for(resident, phone)
    key, _ = make_gate()
    parts = cbor2.loads(credential)
    # The same claims signed by a key the city never published.
    forged = cbor2.dumps([parts[0], {}, parts[2], Ed25519PrivateKey.generate().sign(b"x")])
    assert answer(verify(key, phone.present(forged)))["reason"] == "bad_signature"
    # A better district written into the city's signed payload.
    claims = cbor2.loads(parts[2])
    claims["dst"] = "gangnam"
    tampered = cbor2.dumps([parts[0], {}, cbor2.dumps(claims), parts[3]])
    assert answer(verify(key, phone.present(tampered)))["reason"] == "bad_signature"
    unknown = cbor2.dumps([cbor2.dumps({1: -8, 4: b"nobody"}), {}, parts[2], parts[3]])
    assert answer(verify(key, phone.present(unknown)))["reason"] == "unknown_key"
    for text in ("EID1:", "EID1:!!!", "EID1:" + "A" * 5000, "EID1:" + base45.b45encode(b"\x82\xff\xff").decode(),
                 "EID1:" + base45.b45encode(cbor2.dumps([1, 2])).decode(),
                 phone.present(credential) + "00"):
        assert answer(verify(key, text))["reason"] == "malformed", text


def test_a_card_lives_on_a_few_phones(app, client, resident, card_for, credential_for, login, csrf_headers):
    app.config["EID_DEVICES_PER_CARD"] = 2
    card_for(resident)
    first, second = Phone(), Phone()
    credential_for(resident, first)
    credential_for(resident, second)
    credential_for(resident, first)  # the same phone again renews, it is not a third
    response = client.post(CREDENTIAL, json={"device_key": Phone().jwk()}, headers=csrf_headers(client))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "device_limit"
    assert db.session.scalar(db.select(db.func.count()).select_from(Device)) == 2


def test_bad_device_keys_are_refused(client, resident, card_for, csrf_headers):
    card_for(resident)
    jwk = Phone().jwk()
    private = dict(jwk, d="A" * 43)
    off_curve = dict(jwk, y=jwk["x"])
    for bad in ({}, {"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]}, private, off_curve, "key", None):
        response = client.post(CREDENTIAL, json={"device_key": bad}, headers=csrf_headers(client))
        assert response.status_code == 422, (bad, response.get_json())


def test_no_credential_without_an_active_card(client, resident, login, csrf_headers, make_user):
    login(client, resident)
    response = client.post(CREDENTIAL, json={"device_key": Phone().jwk()}, headers=csrf_headers(client))
    assert response.status_code == 404
    unverified = make_user(verified=False)
    login(client, unverified)
    response = client.post(CREDENTIAL, json={"device_key": Phone().jwk()}, headers=csrf_headers(client))
    assert response.status_code == 403
    client.post("/account/logout", headers=csrf_headers(client))
    assert client.post(CREDENTIAL, json={"device_key": Phone().jwk()}).status_code in (400, 401)


def test_legacy_tokens_stop_when_switched_off(app, resident, card_for, token_for, make_gate, verify):
    card_for(resident)
    key, _ = make_gate()
    assert answer(verify(key, token_for(resident)))["reason"] == "ok"
    app.config["EID_LEGACY_TOKENS"] = "0"
    assert answer(verify(key, token_for(resident)))["reason"] == "unbound"


@requires_postgres
def test_racing_phones_cannot_pass_the_device_limit(app, resident, card_for, csrf_headers, login):
    app.config["EID_DEVICES_PER_CARD"] = 2
    card_for(resident)
    clients = []
    for _ in range(8):
        c = app.test_client()
        login(c, resident)
        clients.append((c, csrf_headers(c)))

    def ask(pair):
        c, headers = pair
        return c.post(CREDENTIAL, json={"device_key": Phone().jwk()}, headers=headers).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(ask, clients))
    assert sorted(codes) == [201, 201] + [409] * 6, codes


def test_offline_gate_checks_a_presentation_with_its_clock_offset(resident, card_for, credential_for, app):
    card_for(resident)
    phone = Phone()
    _, credential = credential_for(resident, phone)
    keys = verifier.load_jwks(app.test_client().get("/api/v1/eid/keys").get_json())
    text = phone.present(credential)
    store = verifier.MemoryReplayStore()
    # A gate whose clock runs 10 minutes slow denies; with the offset it learned, it grants.
    slow = time.time() - 600
    assert verifier.verify(text, keys, now=slow).reason == "not_yet_valid"
    result = verifier.verify(text, keys, now=slow, clock_offset=600, replay_store=store)
    assert result.reason == "ok" and result.claims["district"] == "seongdong"
    assert verifier.verify(text, keys, now=slow, clock_offset=600, replay_store=store).reason == "replayed"


def test_an_offline_gate_with_its_kit(app, client, tmp_path, resident, card_for, credential_for, make_facility):
    """A gate's kit (keys, status list, policy, time of sync): a presentation is granted once;
    after the card is revoked, a kit synced since denies it; a list past its exp denies all."""
    import json

    from portal.eid import service, statuslist

    make_facility(code="pool-3")
    card_for(resident)
    phone = Phone()
    body, credential = credential_for(resident, phone)
    runner = app.test_cli_runner()

    def kit():
        path = tmp_path / "kit.json"
        assert runner.invoke(args=["eid", "gate-kit", "pool-3", "--output", str(path)]).exit_code == 0
        data = json.loads(path.read_text())
        keys = verifier.load_jwks(data["keys"])
        return keys, statuslist.decode(data["status_list"], keys), data["policy"]

    keys, status, policy = kit()
    store = verifier.MemoryReplayStore()
    text = phone.present(credential)
    assert verifier.verify(text, keys, status=status, policy=policy, replay_store=store).reason == "ok"
    assert verifier.verify(text, keys, status=status, policy=policy, replay_store=store).reason == "replayed"
    assert status.get(body["status"]["idx"]) == 0

    service.revoke_my_card(db.session, resident)
    keys, status, policy = kit()
    assert status.get(body["status"]["idx"]) == 1
    assert verifier.verify(phone.present(credential), keys, status=status, policy=policy).reason == "revoked"
    # A list whose exp has passed (the gate was not synced for a day): no decision on old news.
    from portal.eid import keys as issuer_keys
    from portal.eid import settings

    row = issuer_keys.active_key(db.session)
    now = int(time.time())
    stale = statuslist.decode(statuslist.sign(
        1 << 20, {}, key=issuer_keys.signer(row, service.fernet()), kid=row.kid,
        uri=settings.ISSUER() + "/api/v1/eid/status-list", iat=now - 86401, exp=now - 1, ttl=300), keys)
    assert verifier.verify(phone.present(credential), keys, status=stale).reason == "status_stale"


def test_the_gates_base45_reads_what_rfc_9285_writes():
    import os

    for n in list(range(0, 80)) + [374, 375, 600]:
        data = os.urandom(n)
        assert presentation.b45decode(base45.b45encode(data).decode()) == data
    assert presentation.b45decode("BB8") == b"AB" and presentation.b45decode("%69 VD92EX0") == b"Hello!!"
    for bad in ("A", "ABCD", "GGW", "abc", "ÿÿÿ", "::", "AB\n"):  # GGW is 65536; :: is 2024
        with pytest.raises(ValueError):
            presentation.b45decode(bad)
