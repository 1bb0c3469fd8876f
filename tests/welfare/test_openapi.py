"""The OpenAPI document describes every welfare API route, and says what the views do: which
calls need a token, which bodies may be left out, which limits a page takes."""

from __future__ import annotations


def _document(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def _operations(doc: dict):
    for path, operations in doc["paths"].items():
        if path.startswith("/api/v1/welfare"):
            for method, operation in operations.items():
                yield path, method, operation


def test_openapi_lists_every_welfare_route(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/welfare"):
            path = rule.rule.replace("<int:user_id>", "{user_id}").replace("<code>", "{code}")\
                .replace("<int:follow_up_id>", "{follow_up_id}")
            assert path in spec["paths"], path


def test_public_operations_are_those_that_answer_without_a_token(client, make_programme):
    make_programme("elderly")
    checked = 0
    for path, method, operation in _operations(_document(client)):
        r = client.open(path.replace("{code}", "elderly").replace("{follow_up_id}", "1"), method=method.upper(),
                        json={} if "requestBody" in operation else None)
        # public: no credentials (security: []) or optional ones ({} beside the schemes)
        public = operation.get("security") == [] or {} in operation.get("security", [])
        assert (r.status_code != 401) == public, (method, path, r.status_code)
        assert str(r.status_code) in operation["responses"], (method, path, r.status_code)
        checked += 1
    assert checked == 15


def test_a_scan_without_a_body_is_documented_and_runs(client, officer, bearer):
    operation = _document(client)["paths"]["/api/v1/welfare/scans"]["post"]
    assert operation["requestBody"]["required"] is False
    r = client.post("/api/v1/welfare/scans", headers=bearer(officer))
    assert r.status_code == 201 and r.get_json()["status"] == "done"


def test_documented_limits_are_the_views_limits(client, officer, bearer):
    operation = _document(client)["paths"]["/api/v1/welfare/programmes"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    limit = params["limit"]["schema"]
    assert client.get("/api/v1/welfare/programmes", query_string={"limit": limit["maximum"]}).status_code == 200
    for beyond in (limit["minimum"] - 1, limit["maximum"] + 1, "many"):
        r = client.get("/api/v1/welfare/programmes", query_string={"limit": beyond})
        assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"limit"}
    assert client.get("/api/v1/welfare/programmes?all=1").status_code == 401  # documented beside all
    assert "401" in operation["responses"] and "403" in operation["responses"]
    assert client.get("/api/v1/welfare/programmes?all=1", headers=bearer(officer)).status_code == 200


def _number(schema: dict) -> dict:
    return next((s for s in schema.get("anyOf", [schema]) if s.get("type") == "integer"), {})


def test_the_screener_accepts_exactly_the_bounds_its_document_gives(client):
    """Trust II item 7: a schema-valid answer is screened (200), one beyond a documented bound is
    422 naming that field; and every district the document lists is one the screener knows."""
    doc = _document(client)
    props = doc["components"]["schemas"]["welfare.ScreenerIn"]["properties"]
    bounded = {name: _number(schema) for name, schema in props.items() if "minimum" in _number(schema)}
    assert {"age", "household_size", "disability_grade", "median_income_pct", "monthly_income",
            "youngest_child_age"} <= set(bounded)
    for name, schema in bounded.items():
        for value in (schema["minimum"], schema["maximum"]):
            r = client.post("/api/v1/welfare/screener", json={name: value})
            assert r.status_code == 200, (name, value, r.get_json())
        for value in (schema["minimum"] - 1, schema["maximum"] + 1):
            r = client.post("/api/v1/welfare/screener", json={name: value})
            assert r.status_code == 422 and name in r.get_json()["error"]["fields"], (name, value)
    districts = next(s for s in props["district"]["anyOf"] if s.get("type") == "string")["enum"]
    assert "seongdong" in districts
    for code in districts:
        assert client.post("/api/v1/welfare/screener", json={"district": code}).status_code == 200, code


def test_the_profile_document_says_consent_must_be_true(client, make_user, bearer):
    props = _document(client)["components"]["schemas"]["welfare.ProfileIn"]["properties"]
    assert props["consent"]["const"] is True
    r = client.put("/api/v1/welfare/profile/me", json={"consent": False}, headers=bearer(make_user()))
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "consent_required"
