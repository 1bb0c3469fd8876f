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
