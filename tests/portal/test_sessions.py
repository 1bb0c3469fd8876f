"""Trust I: sessions end on the server; sign-in is throttled per account and per client
address; behind a trusted proxy the limits see the real client."""

from __future__ import annotations

from tests.portal.helpers import retry_after


def _cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_cookie_captured_before_logout_reads_nothing_after(app, client, make_user):
    make_user(email="out@example.kr")
    assert client.form("/account/login", {"email": "out@example.kr", "password": "pw-12345678"}).status_code == 302
    captured = _cookie(client)
    assert client.get("/api/v1/accounts/me").status_code == 200
    client.form("/account/logout")
    replay = app.test_client()
    replay.set_cookie("session", captured)
    assert replay.get("/api/v1/accounts/me").status_code == 401


def test_a_password_change_ends_the_other_sessions_not_this_one(app, client, make_user, login):
    user = make_user(email="change@example.kr")
    other = app.test_client()
    login(other, user)
    login(client, user)
    resp = client.put("/api/v1/accounts/me/password", json={"current_password": "pw-12345678",
                                                            "new_password": "a-better-password"},
                      headers={"X-CSRFToken": client.csrf_token()})
    assert resp.status_code == 204
    assert client.get("/api/v1/accounts/me").status_code == 200
    assert other.get("/api/v1/accounts/me").status_code == 401
    wrong = client.put("/api/v1/accounts/me/password", json={"current_password": "nope-nope-nope",
                                                             "new_password": "another-password"},
                       headers={"X-CSRFToken": client.csrf_token()})
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "wrong_password"


def test_sign_in_is_throttled_per_account_whatever_the_address(app, client, make_user):
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "3 per hour"
    make_user(email="target@example.kr")
    codes = []
    for n in range(5):
        codes.append(client.form("/account/login", {"email": "target@example.kr", "password": "wrong-pw-1"},
                                 environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}).status_code)
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
    # Another account from the same addresses is not locked out.
    make_user(email="other@example.kr")
    ok = client.form("/account/login", {"email": "other@example.kr", "password": "pw-12345678"},
                     environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert ok.status_code == 302


def test_behind_a_trusted_proxy_limits_see_the_real_client(make_app):
    proxied = make_app(PROXY_FIX_X_FOR=1, LOGIN_RATE_LIMIT="2 per minute")
    client = proxied.test_client()
    behind = {"REMOTE_ADDR": "10.0.0.1"}  # every request arrives from the proxy

    def attempt(real):
        return client.form("/account/login", {"email": "x@example.kr", "password": "wrong-pw-1"},
                           environ_base=behind, headers={"X-Forwarded-For": real}).status_code

    assert [attempt("203.0.113.1") for _ in range(3)] == [401, 401, 429]
    assert attempt("203.0.113.2") == 401  # another resident behind the same proxy


def test_without_a_trusted_proxy_a_forwarded_for_header_changes_nothing(app, client):
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    codes = [client.form("/account/login", {"email": "x@example.kr", "password": "wrong-pw-1"},
                         headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(3)]
    assert codes == [401, 401, 429]
    resp = client.form("/account/login", {"email": "x@example.kr", "password": "wrong-pw-1"})
    assert resp.status_code == 429 and retry_after(resp) > 0


def test_a_wrong_current_password_is_a_refused_proof_not_invalid_input(client, make_user, login):
    # The body is well formed; the caller failed to prove who they are: 403 wrong_password
    # (before Trust II's contract test it was a 422, as if the request were malformed).
    user = make_user(email="proof@example.kr")
    login(client, user)
    resp = client.put("/api/v1/accounts/me/password", json={"current_password": "not-my-password",
                                                            "new_password": "a-better-password"},
                      headers={"X-CSRFToken": client.csrf_token()})
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "wrong_password"
    assert "current_password" in resp.get_json()["error"]["fields"]
