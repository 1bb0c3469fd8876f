"""flask eid gate-create / rotate-key / verify-offline."""

from __future__ import annotations

import json

from portal.eid import service
from portal.extensions import db


def test_gate_create_prints_the_key_alone_on_the_last_line(app, make_facility, resident, card_for,
                                                          token_for, verify):
    facility = make_facility(code="lib-1")
    result = app.test_cli_runner().invoke(args=["eid", "gate-create", "lib-1", "--name", "north"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("eidg_") and " " not in key
    card_for(resident)
    response = verify(key, token_for(resident))
    assert response.get_json()["facility"] == facility.code
    assert response.get_json()["reason"] == "ok"


def test_gate_create_for_unknown_facility_fails(app):
    result = app.test_cli_runner().invoke(args=["eid", "gate-create", "nowhere"])
    assert result.exit_code != 0


def test_rotate_key(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["eid", "rotate-key"])
    second = runner.invoke(args=["eid", "rotate-key"])
    assert first.exit_code == second.exit_code == 0
    kids = [k["kid"] for k in client.get("/api/v1/eid/keys").get_json()["keys"]]
    assert kids == [second.output.split()[-1], first.output.split()[-1]]


def test_verify_offline(app, client, tmp_path, resident, staff, card_for, token_for):
    card = card_for(resident)
    token = token_for(resident)
    keys_file, status_file = tmp_path / "keys.json", tmp_path / "status.json"
    keys_file.write_text(json.dumps(client.get("/api/v1/eid/keys").get_json()))
    status_file.write_text(json.dumps(client.get("/api/v1/eid/status").get_json()))
    runner = app.test_cli_runner()

    def run(tok, status=status_file, *extra):
        return runner.invoke(args=["eid", "verify-offline", tok, "--keys", str(keys_file),
                                   "--status", str(status), *extra])

    ok = run(token)
    assert (ok.exit_code, ok.output.strip()) == (0, "granted ok")
    bad = run(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    assert bad.exit_code == 1 and bad.output.strip().startswith("denied ")
    assert run("garbage").output.strip() == "denied malformed"

    service.suspend_card(db.session, staff, card["card_id"], "lost at the pool")
    fresh_status = tmp_path / "status2.json"
    fresh_status.write_text(json.dumps(client.get("/api/v1/eid/status").get_json()))
    suspended = run(token, fresh_status)
    assert (suspended.exit_code, suspended.output.strip()) == (1, "denied suspended")

    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"min_age": 65}))
    assert run(token, status_file, "--policy", str(policy)).output.strip() == "denied policy"


# -- the offline gate's kit (eid gate-kit, eid verify-offline --kit) ------------------------


def test_gate_kit_writes_what_verify_offline_reads(app, client, tmp_path, resident, card_for,
                                                  token_for, make_facility):
    import time

    from portal.eid import statuslist, verifier

    make_facility(code="pool-1", min_age=19)
    card_for(resident)
    token = token_for(resident)
    runner = app.test_cli_runner()
    kit_file = tmp_path / "kit.json"
    before = int(time.time())
    made = runner.invoke(args=["eid", "gate-kit", "pool-1", "--output", str(kit_file)])
    assert made.exit_code == 0, made.output
    kit = json.loads(kit_file.read_text())
    assert set(kit) == {"facility", "policy", "keys", "status_list", "synced_at"}
    assert kit["facility"] == "pool-1" and kit["policy"]["min_age"] == 19
    assert kit["keys"] == client.get("/api/v1/eid/keys").get_json()
    assert before <= kit["synced_at"] <= time.time()
    status = statuslist.decode(kit["status_list"], verifier.load_jwks(kit["keys"]))
    assert not status.stale(time.time())

    def run(kit_path, *extra):
        result = runner.invoke(args=["eid", "verify-offline", token, "--kit", str(kit_path),
                                     *extra])
        return result.exit_code, result.output.strip()

    assert run(kit_file) == (0, "granted ok")
    # The gate's learned offset moves its clock: an hour behind, the token is not yet valid.
    assert run(kit_file, "--clock-offset", "-3600") == (1, "denied not_yet_valid")

    # Revoked after the sync: the old kit still grants, a kit made afterwards denies.
    service.revoke_my_card(db.session, resident)
    assert run(kit_file) == (0, "granted ok")
    fresh = tmp_path / "fresh.json"
    assert runner.invoke(args=["eid", "gate-kit", "pool-1", "--output", str(fresh)]).exit_code == 0
    assert run(fresh) == (1, "denied revoked")


def test_verify_offline_refuses_a_kit_whose_list_is_past_its_exp(app, tmp_path, resident,
                                                                 card_for, token_for,
                                                                 make_facility):
    import time

    from portal.eid import keys, settings, statuslist

    make_facility(code="pool-2")
    card_for(resident)
    token = token_for(resident)
    runner = app.test_cli_runner()
    kit_file = tmp_path / "kit.json"
    assert runner.invoke(args=["eid", "gate-kit", "pool-2", "--output",
                               str(kit_file)]).exit_code == 0
    kit = json.loads(kit_file.read_text())
    # The same list, signed by the city's key, but whose exp passed a second ago.
    row = keys.active_key(db.session)
    now = int(time.time())
    kit["status_list"] = statuslist.sign(
        1 << 20, {}, key=keys.signer(row, service.fernet()), kid=row.kid,
        uri=settings.ISSUER() + "/api/v1/eid/status-list", iat=now - 86401, exp=now - 1, ttl=300)
    kit_file.write_text(json.dumps(kit))
    result = runner.invoke(args=["eid", "verify-offline", token, "--kit", str(kit_file)])
    assert (result.exit_code, result.output.strip()) == (1, "denied status_stale")
    # A list not signed by a published key is no list at all.
    kit["keys"] = {"keys": []}
    kit_file.write_text(json.dumps(kit))
    result = runner.invoke(args=["eid", "verify-offline", token, "--kit", str(kit_file)])
    assert result.exit_code == 2 and "status list is refused" in result.output


def test_gate_kit_for_an_unknown_facility(app, tmp_path, resident, card_for):
    card_for(resident)
    result = app.test_cli_runner().invoke(args=["eid", "gate-kit", "nowhere", "--output",
                                                str(tmp_path / "kit.json")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and result.output.strip()
    assert not (tmp_path / "kit.json").exists()
