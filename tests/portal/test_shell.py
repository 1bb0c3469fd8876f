"""The shell: languages, errors, health, OpenAPI, configuration."""

from __future__ import annotations

import pytest

from portal import create_app
from portal.config import ConfigError


def test_home_is_korean_by_default_with_html_lang(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="ko">' in html


@pytest.mark.parametrize("lang", ["ko", "en", "zh"])
def test_lang_parameter_picks_the_language(client, lang):
    html = client.get(f"/?lang={lang}").get_data(as_text=True)
    assert f'<html lang="{lang}">' in html


def test_accept_language_is_honoured_and_unknown_falls_back(client):
    assert '<html lang="zh">' in client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert '<html lang="ko">' in client.get("/?lang=fr", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_saved_language_beats_session_and_header(client, make_user, login):
    user = make_user(locale="en")
    login(client, user)
    html = client.get("/", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert '<html lang="en">' in html


def test_language_switcher_saves_choice_and_rejects_unknown(client, make_user, login):
    from portal.accounts.models import User
    from portal.extensions import db
    user = make_user(locale="ko")
    login(client, user)
    resp = client.form("/account/language?next=/", {"lang": "zh"})
    assert resp.status_code == 303
    assert db.session.get(User, user.id).locale == "zh"
    assert '<html lang="zh">' in client.get("/").get_data(as_text=True)
    client.form("/account/language", {"lang": "xx"})
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "zh"


def test_api_errors_are_json_with_codes(client):
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    resp = client.get("/api/v1/accounts/me")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"


def test_bad_json_and_oversize_bodies_are_clear_errors(client, make_user, bearer):
    headers = bearer(make_user())
    resp = client.patch("/api/v1/accounts/me", data="{not json", headers={**headers, "Content-Type": "application/json"})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "invalid_json"
    resp = client.patch("/api/v1/accounts/me", json={"name": 5}, headers=headers)
    assert resp.status_code == 422 and "name" in resp.get_json()["error"]["fields"]
    big = "x" * (2 * 1024 * 1024)
    resp = client.patch("/api/v1/accounts/me", json={"name": big}, headers=headers)
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "payload_too_large"


def test_error_messages_follow_the_language(client):
    en = client.get("/api/v1/accounts/me?lang=en").get_json()["error"]["message"]
    ko = client.get("/api/v1/accounts/me?lang=ko").get_json()["error"]["message"]
    zh = client.get("/api/v1/accounts/me?lang=zh").get_json()["error"]["message"]
    assert en == "Please sign in first." and len({en, ko, zh}) == 3


def test_html_404_is_a_translated_page(client):
    resp = client.get("/no-such-page?lang=en")
    assert resp.status_code == 404 and "This page does not exist." in resp.get_data(as_text=True)


def test_healthz_reports_database(client, redis_url):
    resp = client.get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 200 and body["checks"]["database"] == "ok"
    if redis_url:
        assert body["checks"]["redis"] == "ok"


def test_healthz_is_503_when_redis_is_unreachable(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503 and resp.get_json()["checks"]["redis"].startswith("error")


def test_openapi_lists_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    documented = set(doc["paths"])
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<int:{arg}>", "{" + arg + "}").replace(f"<{arg}>", "{" + arg + "}")
                path = path.replace(f"<string:{arg}>", "{" + arg + "}")
            if path not in documented:
                missing.append(path)
    assert not missing, f"undocumented API paths: {sorted(set(missing))}"


def test_production_refuses_to_start_without_a_secret(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app()


def test_production_cookies_are_secure(monkeypatch, database_url):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-from-the-environment")
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.example.kr")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_unknown_locale_through_the_api_is_422_and_changes_nothing(client, make_user, bearer):
    user = make_user(locale="ko")
    resp = client.patch("/api/v1/accounts/me", json={"locale": "fr"}, headers=bearer(user))
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "unsupported_locale"
    from portal.accounts.models import User
    from portal.extensions import db
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "ko"


def test_redis_backs_rate_limits_and_the_queue_when_configured(monkeypatch, database_url):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/6")
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/6"
    celery = app.extensions["celery"]
    assert celery.conf.broker_url == "redis://127.0.0.1:6379/6" and not celery.conf.task_always_eager
    app.extensions["celery"].set_default()


def test_without_redis_tasks_run_in_process(monkeypatch, database_url):
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    assert app.extensions["celery"].conf.task_always_eager
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
