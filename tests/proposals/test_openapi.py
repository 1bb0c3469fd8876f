"""The OpenAPI document describes the proposals API, and says what the views do: which calls
need a token, which fields a body needs, which query values are accepted."""

from __future__ import annotations

import pytest


def _document(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def _operations(doc: dict):
    for path, operations in doc["paths"].items():
        if path.startswith("/api/v1/proposals"):
            for method, operation in operations.items():
                yield path, method, operation


def _schema(doc: dict, ref: dict) -> dict:
    return doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


@pytest.mark.parametrize("path", ["/api/v1/proposals", "/api/v1/proposals/{id}", "/api/v1/proposals/{id}/endorsement",
                                  "/api/v1/proposals/{id}/ballot", "/api/v1/proposals/{id}/ballots",
                                  "/api/v1/proposals/{id}/transitions"])
def test_openapi_documents_the_contract(client, path):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert path.replace("{id}", "{proposal_id}") in paths


def test_public_operations_are_those_that_answer_without_a_token(client, make_user, new_proposal):
    p = new_proposal(make_user())
    doc = _document(client)
    checked = 0
    for path, method, operation in _operations(doc):
        r = client.open(path.replace("{proposal_id}", str(p.id)), method=method.upper(),
                        json={} if "requestBody" in operation else None)
        public = operation.get("security") == []
        assert (r.status_code != 401) == public, (method, path, r.status_code)
        assert str(r.status_code) in operation["responses"], (method, path, r.status_code)
        checked += 1
    assert checked == 17


def test_a_body_without_fields_is_refused_for_exactly_the_documented_required_ones(
        client, resident, staff, bearer, new_proposal, make_user):
    p = new_proposal(make_user())
    doc = _document(client)
    calls = {("/api/v1/proposals", resident), ("/api/v1/proposals/{proposal_id}/ballot", resident),
             ("/api/v1/proposals/{proposal_id}/comments", resident),
             ("/api/v1/proposals/{proposal_id}/flags", resident),
             ("/api/v1/proposals/{proposal_id}/transitions", staff),
             ("/api/v1/proposals/{proposal_id}/merge", staff)}
    bodies = {path for path, _method, op in _operations(doc) if "requestBody" in op}
    assert bodies == {path for path, _user in calls}
    for path, user in calls:
        required = _schema(doc, doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"])
        r = client.post(path.replace("{proposal_id}", str(p.id)), json={}, headers=bearer(user))
        assert r.status_code == 422, (path, r.get_json())
        assert set(r.get_json()["error"]["fields"]) == set(required["required"]), path


def test_every_documented_filter_value_is_accepted_and_others_refused(client):
    doc = _document(client)
    params = {p["name"]: p["schema"] for p in doc["paths"]["/api/v1/proposals"]["get"]["parameters"]}
    for name in ("status", "category", "sort"):
        for value in params[name]["enum"]:
            assert client.get("/api/v1/proposals", query_string={name: value}).status_code == 200, (name, value)
        r = client.get("/api/v1/proposals", query_string={name: "nonesuch"})
        assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {name}


def test_documented_limits_are_the_views_limits(client, make_user, new_proposal):
    p = new_proposal(make_user())
    doc = _document(client)
    pages = 0
    for path, _method, operation in _operations(doc):
        limit = next((q["schema"] for q in operation.get("parameters", []) if q["name"] == "limit"), None)
        if limit is None:
            continue
        url = path.replace("{proposal_id}", str(p.id))
        assert client.get(url, query_string={"limit": limit["maximum"]}).status_code != 422, path
        for beyond in (limit["minimum"] - 1, limit["maximum"] + 1):
            r = client.get(url, query_string={"limit": beyond})
            assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"limit"}, path
        pages += 1
    assert pages == 3


def test_the_open_data_export_is_documented_as_csv(client):
    operation = _document(client)["paths"]["/api/v1/proposals/export.csv"]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["text/csv"]
    assert client.get("/api/v1/proposals/export.csv").mimetype == "text/csv"
