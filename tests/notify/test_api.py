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
