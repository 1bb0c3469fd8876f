"""Trust I: one register entry, one account; verification attempts limited; staff record
what they checked; staff see a claim and can release it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.accounts import service
from portal.accounts.models import User
from portal.audit import AuditEntry
from portal.extensions import db
from tests.conftest import requires_postgres
from tests.portal.helpers import retry_after

FACTS = {"name": "홍길동", "birth_date": "1950-03-01", "district": "성동구", "document_number": "500301-1234567"}


@pytest.fixture
def entry(app):
    service.import_register(db.session, [dict(FACTS)])
    return FACTS


def _verify(client, headers, facts=FACTS):
    return client.post("/api/v1/accounts/me/verification", json=facts, headers=headers)


def test_one_register_entry_verifies_one_account(client, make_user, bearer, entry):
    first, second = make_user(verified=False), make_user(verified=False)
    assert _verify(client, bearer(first)).status_code == 200
    resp = _verify(client, bearer(second))
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "already_claimed"
    assert "staff" in client.post("/api/v1/accounts/me/verification?lang=en", json=FACTS,
                                  headers=bearer(second)).get_json()["error"]["message"]
    db.session.expire_all()
    assert not db.session.get(User, second.id).is_verified
    refused = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "register.claim_refused"))
    assert refused is not None and refused.actor_id == second.id


@requires_postgres
def test_accounts_racing_for_one_entry_one_wins(app, make_user, bearer, entry, live_server):
    import requests

    from tests.concurrency import race

    users = [make_user(verified=False) for _ in range(12)]
    headers = [bearer(u) for u in users]
    db.session.commit()
    codes = race(len(headers), lambda i: requests.post(f"{live_server.url}/api/v1/accounts/me/verification",
                                                       json=FACTS, headers=headers[i], timeout=30).status_code)
    assert sorted(codes) == [200] + [409] * 11
    assert db.session.scalar(select(func.count()).select_from(User).where(User.register_id.is_not(None))) == 1


def test_verification_attempts_are_limited_per_account_and_per_address(app, client, make_user, bearer, entry):
    app.config["VERIFY_RATE_LIMIT_ACCOUNT"] = "3 per hour"
    app.config["VERIFY_RATE_LIMIT_CLIENT"] = "5 per hour"
    wrong = dict(FACTS, document_number="000000-0000000")

    def attempt(headers, address):
        return client.post("/api/v1/accounts/me/verification", json=wrong, headers=headers,
                           environ_base={"REMOTE_ADDR": address})

    # One account guessing from ever new addresses: three tries.
    guesser = bearer(make_user(verified=False))
    codes = [attempt(guesser, f"198.51.100.{n}").status_code for n in range(4)]
    assert codes == [422, 422, 422, 429]
    resp = attempt(guesser, "198.51.100.99")
    assert resp.get_json()["error"]["code"] == "rate_limited" and retry_after(resp) > 0
    # One address trying ever new accounts: five tries.
    codes = [attempt(bearer(make_user(verified=False)), "203.0.113.7").status_code for _ in range(6)]
    assert codes == [422] * 5 + [429]


def test_staff_verification_records_what_staff_checked_not_the_profile(client, make_user, login, bearer):
    staff = make_user(roles=("staff",))
    liar = make_user(verified=False)
    login(client, liar)
    client.form("/account/", {"name": "Liar", "birth_date": "1940-01-01", "district": "성동구"})
    db.session.expire_all()
    assert db.session.get(User, liar.id).birth_date.year == 1940
    resp = client.post(f"/api/v1/accounts/users/{liar.id}/verification", headers=bearer(staff), json={
        "reason": "ID checked", "name": "Liar", "birth_date": "1990-07-07", "district": "광진구",
        "document_number": "900707-1234567"})
    assert resp.status_code == 200
    db.session.expire_all()
    user = db.session.get(User, liar.id)
    assert user.birth_date.isoformat() == "1990-07-07" and user.district == "gwangjin"
    # Without what staff checked, nothing is verified.
    other = make_user(verified=False)
    bad = client.post(f"/api/v1/accounts/users/{other.id}/verification", headers=bearer(staff),
                      json={"reason": "trust me"})
    assert bad.status_code == 422 and {"birth_date", "district", "document_number"} <= set(bad.get_json()["error"]["fields"])


def test_staff_verification_cannot_make_a_second_account_for_a_claimed_entry(client, make_user, bearer, entry):
    staff = make_user(roles=("staff",))
    first, second = make_user(verified=False), make_user(verified=False)
    assert _verify(client, bearer(first)).status_code == 200
    resp = client.post(f"/api/v1/accounts/users/{second.id}/verification", headers=bearer(staff),
                       json={"reason": "counter", "name": "홍길동", "birth_date": "1950-03-01",
                             "district": "성동구", "document_number": "500301-1234567"})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "already_claimed"


def test_staff_see_a_claim_and_release_it(client, make_user, bearer, entry):
    staff = make_user(roles=("staff",))
    squatter, owner = make_user(verified=False, email="squat@example.kr"), make_user(verified=False)
    _verify(client, bearer(squatter))
    looked = client.post("/api/v1/accounts/register/lookup", headers=bearer(staff),
                         json={"document_number": FACTS["document_number"]})
    assert looked.status_code == 200
    claim = looked.get_json()
    assert claim["claimed_by"]["email"] == "squat@example.kr"
    released = client.post(f"/api/v1/accounts/register/{claim['id']}/release", headers=bearer(staff),
                           json={"reason": "owner showed ID at the counter"})
    assert released.status_code == 200 and released.get_json()["claimed_by"] is None
    db.session.expire_all()
    assert not db.session.get(User, squatter.id).is_verified
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "register.release"))
    assert audit.actor_id == staff.id
    assert _verify(client, bearer(owner)).status_code == 200


def test_residents_cannot_look_up_or_release_entries(client, make_user, bearer, entry):
    resident = bearer(make_user())
    assert client.post("/api/v1/accounts/register/lookup", headers=resident,
                       json={"document_number": FACTS["document_number"]}).status_code == 403
    assert client.post("/api/v1/accounts/register/1/release", headers=resident,
                       json={"reason": "x"}).status_code == 403
