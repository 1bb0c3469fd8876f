"""The e-ID API's entry in /api/v1/openapi.json is generated from the models the views validate
with and answer by: what it says is what the endpoints (and the gate's fast path) do."""

from __future__ import annotations

import pytest

from portal.eid import schemas, service
from portal.extensions import db

PUBLIC = {("get", "/api/v1/eid/facilities"), ("get", "/api/v1/eid/keys"), ("get", "/api/v1/eid/status"),
          ("get", "/api/v1/eid/status-list")}


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


def operations(document):
    for path, ops in document["paths"].items():
        if path.startswith("/api/v1/eid/"):
            for method, op in ops.items():
                yield method, path, op


def test_public_endpoints_are_marked_and_answer_without_a_token(client, document):
    service.ensure_signing_key(db.session)  # the status list is signed
    seen = set()
    for method, path, op in operations(document):
        seen.add((method, path))
        if (method, path) in PUBLIC:
            assert op["security"] == [] and "401" not in op["responses"], path
            assert getattr(client, method)(path).status_code == 200, path
        else:
            assert op.get("security") != [] and "401" in op["responses"], path
            if "{" not in path:
                assert getattr(client, method)(path).status_code == 401, path
    assert PUBLIC <= seen and len(seen) == 11


def test_the_gate_call_is_described_as_both_paths_answer(document, resident, card_for, make_gate,
                                                          verify_by):
    op = document["paths"]["/api/v1/eid/verify"]["post"]
    assert op["security"] == [{"bearer": []}]  # a gate key, never a session
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/eid.VerifyBody"}
    body = document["components"]["schemas"]["eid.VerifyBody"]
    assert body["additionalProperties"] is False and "type" not in body["properties"]["token"]
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/eid.GateAnswerOut"}
    assert "invalid_gate_key" in op["responses"]["401"]["description"]
    assert "verify_unavailable" in op["responses"]["503"]["description"]

    # any token is schema-valid: both paths answer it with a decision, not a 422
    card_for(resident)
    key, _facility = make_gate()
    for mode in ("flask", "fast"):
        for token in (12, None, {"a": 1}, "x" * 3000):
            response, fast = verify_by(mode, key, token)
            assert response.status_code == 200 and fast == (mode == "fast"), (mode, token)
            assert schemas.GateAnswerOut.model_validate(response.get_json()).reason == "malformed"


def test_conditional_status_and_paging_are_documented_as_served(client, document):
    status = document["paths"]["/api/v1/eid/status"]["get"]
    assert "If-None-Match" in [p["name"] for p in status["parameters"] if p["in"] == "header"]
    assert "content" not in status["responses"]["304"] and "ETag" in status["responses"]["200"]["headers"]
    first = client.get("/api/v1/eid/status")
    assert client.get("/api/v1/eid/status", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304

    facilities = document["paths"]["/api/v1/eid/facilities"]["get"]
    limit = next(p["schema"] for p in facilities["parameters"] if p["name"] == "limit")
    assert (limit["minimum"], limit["maximum"]) == (1, 100)
    for value, code in (("1", 200), ("100", 200), ("0", 422), ("101", 422), ("x", 422)):
        assert client.get(f"/api/v1/eid/facilities?limit={value}").status_code == code, value
    assert client.get("/api/v1/eid/facilities?cursor=bm9wZQ").get_json()["error"]["code"] == "bad_cursor"


def test_card_errors_are_listed(document):
    issue = document["paths"]["/api/v1/eid/cards"]["post"]["responses"]
    assert "card_exists" in issue["409"]["description"] and "card_issue_limit" in issue["429"]["description"]
    assert "Retry-After" in issue["429"]["headers"]
    token = document["paths"]["/api/v1/eid/cards/me/token"]["post"]["responses"]
    assert {"403", "404", "409", "503"} <= set(token) and "signing_key_missing" in token["503"]["description"]
