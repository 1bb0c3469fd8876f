"""The JSON API as a whole: sign-in everywhere, every route documented."""

from __future__ import annotations

from tests.notify.conftest import inbox_notice as _inbox_notice


def test_anonymous_gets_401_everywhere(client, make_user, send):
    """Unsigned GETs, and writes with a token that is not valid (cookie writes without a CSRF
    token stop at the CSRF check first)."""
    message = _inbox_notice(send, make_user(), "anon")
    bad_token = {"Authorization": "Bearer pt_not-a-real-token"}
    for method, url in [("get", "/api/v1/notify/inbox"), ("post", f"/api/v1/notify/inbox/{message.id}/read"),
                        ("get", "/api/v1/notify/preferences"), ("put", "/api/v1/notify/preferences"),
                        ("get", "/api/v1/notify/messages"), ("post", f"/api/v1/notify/messages/{message.id}/retry"),
                        ("get", "/api/v1/notify/stats")]:
        resp = getattr(client, method)(url, json={}, headers=bad_token if method != "get" else {})
        assert resp.status_code == 401, url
        assert resp.get_json()["error"]["code"] == "unauthorized"


def test_openapi_documents_every_notify_route(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ["/api/v1/notify/inbox", "/api/v1/notify/inbox/{message_id}/read", "/api/v1/notify/preferences",
                 "/api/v1/notify/messages", "/api/v1/notify/messages/{message_id}/retry", "/api/v1/notify/stats"]:
        assert path in paths


def test_the_document_is_the_models_the_views_validate_with(client, make_user, bearer):
    """The parameters, bodies and answers in /api/v1/openapi.json are the ones the views
    accept and send: what the document allows passes, what it refuses is 422."""
    from portal.notify.models import OPTIONAL_CHANNELS, STATUSES

    doc = client.get("/api/v1/openapi.json").get_json()
    listing = doc["paths"]["/api/v1/notify/messages"]["get"]
    params = {p["name"]: p["schema"] for p in listing["parameters"]}
    assert params["status"]["enum"] == ["", *STATUSES]
    assert (params["limit"]["minimum"], params["limit"]["maximum"]) == (1, 100)
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/notify.MessagePageOut"}
    headers = bearer(make_user(roles=("welfare_officer",)))
    for query, status in [("limit=100", 200), ("limit=101", 422), ("limit=0", 422), ("status=", 200),
                          ("status=permanent_failure&channel=sms", 200), ("status=lost", 422),
                          ("channel=fax", 422)]:
        assert client.get(f"/api/v1/notify/messages?{query}", headers=headers).status_code == status, query
    assert client.get("/api/v1/notify/inbox?limit=101", headers=headers).status_code == 422

    retry = doc["paths"]["/api/v1/notify/messages/{message_id}/retry"]["post"]["responses"]
    assert "not_retryable" in retry["409"]["description"] and "sealed_gone" in retry["409"]["description"]
    assert all(op.get("security") != [] for path, ops in doc["paths"].items()
               if path.startswith("/api/v1/notify/") for op in ops.values())  # none is public

    body = doc["components"]["schemas"]["notify.PreferencesIn"]
    assert body["properties"]["opted_out"]["items"]["enum"] == list(OPTIONAL_CHANNELS)
    assert body["additionalProperties"] is False
    resident = bearer(make_user())
    assert client.put("/api/v1/notify/preferences", headers=resident, json={"opted_out": ["app"]}).status_code == 422
    assert client.put("/api/v1/notify/preferences", headers=resident, json={"opted_out": ["email"]}).status_code == 200
