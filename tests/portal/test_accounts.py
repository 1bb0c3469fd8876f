"""Accounts: register, sign in, language, profile, residency verification, tokens."""

from __future__ import annotations

from portal.accounts import service
from portal.accounts.models import User
from portal.audit import AuditEntry
from portal.extensions import db


def test_register_confirm_then_sign_in_and_out(client):
    resp = client.form("/account/register", {"name": "김하늘", "email": "Sky@Example.kr",
                                             "password": "long-enough-pw"})
    assert resp.status_code == 200 and "sky@example.kr".lower() in resp.get_data(as_text=True).lower()
    user = db.session.scalar(db.select(User).where(User.email == "sky@example.kr"))
    assert user is not None and user.roles == {"resident"} and not user.is_verified
    assert not user.email_confirmed
    assert user.password_hash.startswith("$argon2id$")
    assert client.get("/api/v1/accounts/me").status_code == 401  # registering signs nobody in
    resp = client.form("/account/login", {"email": "sky@example.kr", "password": "long-enough-pw"})
    assert resp.status_code == 302
    assert client.get("/api/v1/accounts/me").get_json()["email"] == "sky@example.kr"
    client.form("/account/logout")
    assert client.get("/api/v1/accounts/me").status_code == 401


def test_wrong_password_is_refused_with_a_translated_message(client, make_user):
    make_user(email="a@example.kr")
    resp = client.form("/account/login?lang=en", {"email": "a@example.kr", "password": "nope-nope"})
    assert resp.status_code == 401
    assert "Wrong email or password." in resp.get_data(as_text=True)
    resp = client.form("/account/login?lang=zh", {"email": "a@example.kr", "password": "nope-nope"})
    assert "Wrong email or password." not in resp.get_data(as_text=True)


def test_a_known_address_gets_the_same_answer_and_creates_nothing(client, make_user):
    make_user(email="dup@example.kr")
    known = client.form("/account/register?lang=en", {"name": "x", "email": "DUP@example.kr",
                                                      "password": "long-enough-pw"})
    new = client.form("/account/register?lang=en", {"name": "x", "email": "new@example.kr",
                                                    "password": "long-enough-pw"})
    assert known.status_code == new.status_code == 200
    strip = lambda r, e: r.get_data(as_text=True).lower().replace(e, "EMAIL")  # noqa: E731
    assert strip(known, "dup@example.kr").split("<main")[1].split('name="csrf-token"')[0] == \
        strip(new, "new@example.kr").split("<main")[1].split('name="csrf-token"')[0]
    assert "already registered" not in known.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 2


def test_form_without_csrf_token_is_rejected(client, make_user):
    make_user(email="c@example.kr")
    resp = client.post("/account/login", data={"email": "c@example.kr", "password": "pw-12345678"})
    assert resp.status_code == 400
    assert client.get("/api/v1/accounts/me").status_code == 401


def test_login_is_rate_limited(app, client, make_user):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    make_user(email="r@example.kr")
    codes = [client.form("/account/login", {"email": "r@example.kr", "password": "wrong-pw-1"}).status_code
             for _ in range(4)]
    assert codes[:3] == [401, 401, 401] and codes[3] == 429


def test_verification_against_register_and_hash_only(app, client, make_user, login):
    service.import_register(db.session, [{"name": "홍길동", "birth_date": "1950-03-01",
                                          "district": "성동구", "document_number": "500301-1234567"}])
    rows = db.session.execute(db.text("SELECT * FROM resident_register")).mappings().all()
    assert "5003011234567" not in str(rows) and len(rows[0]["document_hash"]) == 64
    user = make_user(verified=False, name="홍길동")
    login(client, user)
    bad = client.post("/api/v1/accounts/me/verification", json={
        "name": "홍길동", "birth_date": "1950-03-01", "district": "성동구", "document_number": "000000-0000000"},
        headers={"X-CSRFToken": client.csrf_token()})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "no_register_match"
    ok = client.post("/api/v1/accounts/me/verification", json={
        "name": "홍길동", "birth_date": "1950-03-01", "district": "성동구", "document_number": "500301-1234567"},
        headers={"X-CSRFToken": client.csrf_token()})
    assert ok.status_code == 200 and ok.get_json()["verified"] is True


def test_register_import_is_all_or_nothing(app):
    from portal.errors import Invalid
    rows = [{"name": "갑", "birth_date": "1960-01-01", "district": "성동구", "document_number": "1"},
            {"name": "을", "birth_date": "1960-13-01", "district": "성동구", "document_number": "2"}]
    try:
        service.import_register(db.session, rows)
        raise AssertionError("a bad row must reject the file")
    except Invalid as exc:
        assert "line 3" in exc.fields
    assert db.session.execute(db.text("SELECT count(*) FROM resident_register")).scalar() == 0


def test_staff_verifies_by_hand_and_it_is_audited(client, make_user, login):
    staff = make_user(roles=("staff",))
    target = make_user(verified=False)
    login(client, staff)
    resp = client.form(f"/staff/users/{target.id}/verify", {
        "reason": "ID card checked at counter", "name": "김민수", "birth_date": "1960-05-05",
        "district": "성동구", "document_number": "600505-1234567"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).is_verified
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "user.verify"))
    assert entry.actor_id == staff.id and entry.target_id == str(target.id)


def test_resident_cannot_use_staff_pages_or_api(client, make_user, login, bearer):
    resident = make_user()
    other = make_user(verified=False)
    login(client, resident)
    assert client.get("/staff/users").status_code == 403
    assert client.form(f"/staff/users/{other.id}/verify", {"reason": "x"}).status_code == 403
    resp = client.post(f"/api/v1/accounts/users/{other.id}/verification", json={
        "reason": "x", "name": "x", "birth_date": "1960-01-01", "district": "성동구",
        "document_number": "600101-1111111"}, headers=bearer(resident))
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"


def test_tokens_are_hashed_revocable_and_csrf_exempt(client, make_user, bearer):
    user = make_user()
    headers = bearer(user)
    token = headers["Authorization"].split()[1]
    assert db.session.execute(db.text("SELECT count(*) FROM api_token WHERE token_hash = :t"),
                              {"t": token}).scalar() == 0
    resp = client.patch("/api/v1/accounts/me", json={"name": "새이름"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["name"] == "새이름"
    token_id = client.get("/api/v1/accounts/tokens", headers=headers).get_json()["items"][0]["id"]
    assert client.delete(f"/api/v1/accounts/tokens/{token_id}", headers=headers).status_code == 204
    assert client.get("/api/v1/accounts/me", headers=headers).status_code == 401


def test_bearer_request_ignores_the_session_cookie(client, make_user, login):
    user = make_user()
    login(client, user)
    resp = client.get("/api/v1/accounts/me", headers={"Authorization": "Bearer pt_not-a-real-token"})
    assert resp.status_code == 401


def test_cookie_api_request_needs_csrf(client, make_user, login):
    login(client, make_user())
    assert client.patch("/api/v1/accounts/me", json={"name": "x"}).status_code == 400
    ok = client.patch("/api/v1/accounts/me", json={"name": "x"}, headers={"X-CSRFToken": client.csrf_token()})
    assert ok.status_code == 200


def test_two_browsers_in_one_test_do_not_share_sign_in_or_csrf(app, make_user, login):
    alice = make_user(email="alice@example.kr")
    first, second = app.test_client(), app.test_client()
    login(first, alice)
    assert first.get("/api/v1/accounts/me").status_code == 200
    assert second.get("/api/v1/accounts/me").status_code == 401
    first.csrf_token()
    resp = second.form("/account/login", {"email": "alice@example.kr", "password": "pw-12345678"})
    assert resp.status_code == 302


def test_anonymous_api_calls_need_no_csrf_but_html_forms_do(client):
    # Nobody is signed in: a JSON call borrows no credentials, so no CSRF token is needed...
    resp = client.post("/api/v1/accounts/tokens", json={"name": "x"})
    assert resp.status_code == 401  # ...and it is refused for being anonymous, not for CSRF.
    assert client.post("/account/register", data={"name": "x", "email": "x@example.kr",
                                                  "password": "long-enough-pw"}).status_code == 400
