"""Trust I, accounts as people expect: confirmed addresses, password reset by a single-use
link, the same answer for a known address, links from PORTAL_BASE_URL only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from portal.accounts.models import AccountLink, User
from portal.extensions import db
from portal.types import utcnow
from tests.portal.helpers import link_in, mails_to, path_of, token_of


def _register(client, email):
    return client.form("/account/register?lang=en", {"name": "김하늘", "email": email,
                                                     "password": "long-enough-pw"})


def test_a_new_address_is_confirmed_by_a_link_that_works_once(client):
    assert _register(client, "sky@example.kr").status_code == 200
    user = db.session.scalar(db.select(User).where(User.email == "sky@example.kr"))
    assert not user.email_confirmed
    [mail] = mails_to("sky@example.kr", "accounts.confirm_email")
    link = link_in(mail)
    assert link.startswith("https://portal.test/account/confirm?t=")
    # Opening the link moves the token out of the address bar, then a button confirms.
    opened = client.get(path_of(link))
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/account/confirm")
    page = client.get("/account/confirm")
    assert page.status_code == 200
    assert token_of(link) not in page.get_data(as_text=True)
    done = client.form("/account/confirm")
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).email_confirmed
    # The same link again: refused.
    client.get(path_of(link))
    assert client.get("/account/confirm").status_code == 410
    # a used link is gone (410), in the API as on its page
    assert client.post("/api/v1/accounts/email-confirmation", json={"token": token_of(link)}).status_code == 410


def test_links_come_from_the_base_url_never_from_the_host_header(client, make_user):
    import re
    evil = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    page = client.get("/account/register", headers=evil).get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/account/register", headers=evil, data={
        "name": "x", "email": "host@example.kr", "password": "long-enough-pw", "csrf_token": csrf})
    make_user(email="known@example.kr")
    client.post("/api/v1/accounts/password-reset", json={"email": "known@example.kr"},
                headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    links = [link_in(m) for m in mails_to("host@example.kr") + mails_to("known@example.kr")]
    assert len(links) == 2
    assert all(link.startswith("https://portal.test/") for link in links), links


def test_a_known_address_gets_a_you_already_have_an_account_mail(client, make_user):
    make_user(email="dup@example.kr")
    _register(client, "dup@example.kr")
    [mail] = mails_to("dup@example.kr")
    assert mail.template == "accounts.already_registered"
    assert link_in(mail) == "https://portal.test/account/password-reset"
    assert "김하늘" not in str(mail.context)  # nothing the stranger typed reaches the owner


def test_mails_to_an_address_someone_typed_are_limited_per_recipient(app, client):
    app.config["ACCOUNT_MAIL_RATE_LIMIT"] = "2 per hour"
    for _ in range(4):
        client.post("/api/v1/accounts/password-reset", json={"email": "victim@example.kr"})
    assert mails_to("victim@example.kr") == []  # no account: nothing is sent at all
    from portal.accounts import service
    service.create_user(db.session, "victim@example.kr", "long-enough-pw")
    db.session.commit()
    answers = [client.post("/api/v1/accounts/password-reset", json={"email": "victim@example.kr"}).status_code
               for _ in range(4)]
    assert answers == [202, 202, 202, 202]
    assert len(mails_to("victim@example.kr", "accounts.password_reset")) == 2


def test_password_reset_answers_202_whatever_the_address(client, make_user):
    make_user(email="owner@example.kr")
    known = client.post("/api/v1/accounts/password-reset", json={"email": "owner@example.kr"})
    unknown = client.post("/api/v1/accounts/password-reset", json={"email": "nobody@example.kr"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    assert len(mails_to("owner@example.kr", "accounts.password_reset")) == 1
    assert mails_to("nobody@example.kr") == []


def test_a_reset_link_works_once_ends_every_session_and_token(app, client, make_user, login, bearer):
    user = make_user(email="owner@example.kr")
    stolen = app.test_client()
    login(stolen, user)
    stolen_token = bearer(user)
    assert stolen.get("/api/v1/accounts/me").status_code == 200
    client.post("/api/v1/accounts/password-reset", json={"email": "owner@example.kr"})
    token = token_of(link_in(mails_to("owner@example.kr", "accounts.password_reset")[0]))
    ok = client.post("/api/v1/accounts/password-reset/confirm", json={"token": token, "password": "a-new-password"})
    assert ok.status_code == 204
    again = client.post("/api/v1/accounts/password-reset/confirm", json={"token": token, "password": "other-password"})
    assert again.status_code == 410 and again.get_json()["error"]["code"] == "bad_link"
    assert stolen.get("/api/v1/accounts/me").status_code == 401
    assert client.get("/api/v1/accounts/me", headers=stolen_token).status_code == 401
    signed = client.form("/account/login", {"email": "owner@example.kr", "password": "a-new-password"})
    assert signed.status_code == 302


def test_a_reset_link_expires(client, make_user):
    make_user(email="late@example.kr")
    client.post("/api/v1/accounts/password-reset", json={"email": "late@example.kr"})
    token = token_of(link_in(mails_to("late@example.kr")[0]))
    db.session.execute(update(AccountLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    resp = client.post("/api/v1/accounts/password-reset/confirm", json={"token": token, "password": "a-new-password"})
    assert resp.status_code == 410 and resp.get_json()["error"]["code"] == "bad_link"


def test_a_made_up_link_is_gone_not_invalid_input(client):
    # A well-formed token no link ever had: the request is valid, the link is not there (410,
    # as for a used or expired one, so nobody learns which tokens existed), never a 422.
    made_up = "x" * 43
    for path, body in (("/api/v1/accounts/email-confirmation", {"token": made_up}),
                       ("/api/v1/accounts/password-reset/confirm", {"token": made_up, "password": "a-new-password"})):
        resp = client.post(path, json=body)
        assert resp.status_code == 410 and resp.get_json()["error"]["code"] == "bad_link", path


def test_the_reset_page_takes_the_token_out_of_the_url(client, make_user):
    make_user(email="page@example.kr")
    client.form("/account/password-reset", {"email": "page@example.kr"})
    link = link_in(mails_to("page@example.kr")[0])
    assert client.get(path_of(link)).status_code == 302
    page = client.get("/account/password-reset/new")
    assert page.status_code == 200 and token_of(link) not in page.get_data(as_text=True)
    done = client.form("/account/password-reset/new", {"password": "brand-new-pass"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account/login")
    assert client.form("/account/login", {"email": "page@example.kr", "password": "brand-new-pass"}).status_code == 302
