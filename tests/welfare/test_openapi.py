"""The OpenAPI document describes every welfare API route."""

from __future__ import annotations


def test_openapi_lists_every_welfare_route(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/welfare"):
            path = rule.rule.replace("<int:user_id>", "{user_id}").replace("<code>", "{code}")
            assert path in spec["paths"], path
