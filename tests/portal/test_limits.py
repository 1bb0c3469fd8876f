"""Rate limits apply where they are declared, and only there: the limiter skips views with
no limit (portal.extensions), so every declared limit must still refuse, and no default or
application limit may exist that the skip would silently drop."""

from __future__ import annotations

from portal.extensions import limiter


def test_declared_limits_still_refuse(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    app.config["WELFARE_SCREENER_RATE_LIMIT"] = "2 per minute"
    resets = [client.post("/api/v1/accounts/password-reset", json={"email": f"x{i}@example.kr"}).status_code
              for i in range(3)]
    screens = [client.post("/api/v1/welfare/screener", json={}).status_code for _ in range(3)]
    assert resets[:2] == [202, 202] and resets[2] == 429
    assert screens[2] == 429 and 429 not in screens[:2]


def test_views_without_a_declared_limit_are_never_refused(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "1 per minute"
    codes = {client.get("/api/v1/proposals").status_code for _ in range(5)}
    assert codes == {200}


def test_no_default_or_application_limits(app):
    """A default limit would be skipped on views without their own: declare limits per view."""
    with app.test_request_context("/"):
        assert limiter.limit_manager.default_limits == []
        assert limiter.limit_manager.application_limits == []
