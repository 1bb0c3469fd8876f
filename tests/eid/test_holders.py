"""A card attests verified facts only, and a released register entry revokes its holder's cards."""

from __future__ import annotations

import threading
import time
from datetime import date

import jwt
import pytest
import requests
from sqlalchemy import func, select, update

from portal.accounts import service as accounts
from portal.accounts.errors import NotVerified
from portal.accounts.models import ResidentRecord, User
from portal.audit import entries_for
from portal.eid import service
from portal.eid.models import Card
from portal.eid.service import cards as cards_module
from portal.extensions import db
from tests.concurrency import race
from tests.conftest import requires_postgres

REAL = {"name": "김민지", "birth_date": "1990-05-17", "district": "성동구",
        "document_number": "900517-2345678"}


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def register_verified(make_user, **fields):
    """A resident verified against the imported register (what the resident typed matches)."""
    accounts.import_register(db.session, [REAL])
    user = make_user(verified=False, **fields)
    accounts.verify_against_register(db.session, user, name=REAL["name"],
                                     birth_date=date.fromisoformat(REAL["birth_date"]),
                                     district=REAL["district"],
                                     document_number=REAL["document_number"])
    return user


def test_the_1940_attack_end_to_end(client, login, make_user, bearer, csrf_headers, make_gate,
                                    verify):
    """A resident types a 1940 birth date into their profile; staff verify them at the counter
    from their ID (born 1990); the card attests the age on the ID, and a seniors' centre
    refuses it."""
    user = make_user(verified=False, name="Minji", district=None)
    login(client, user)
    saved = client.form("/account/", {"name": "Minji", "birth_date": "1940-01-01",
                                      "district": "성동구"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).birth_date == date(1940, 1, 1)

    # Not verified yet: no card, whatever the profile says.
    refused = client.post("/api/v1/eid/cards", headers=csrf_headers(client))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "not_verified"
    assert "Verify your residency first" in client.get("/eid/?lang=en").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Card.id))) == 0

    staff = make_user(roles=("staff",))
    checked = client.post(f"/api/v1/accounts/users/{user.id}/verification", headers=bearer(staff),
                          json={"reason": "ID card shown at the counter", **REAL})
    assert checked.status_code == 200, checked.get_json()

    login(client, db.session.get(User, user.id))
    assert client.post("/api/v1/eid/cards", headers=csrf_headers(client)).status_code == 201
    token = client.post("/api/v1/eid/cards/me/token", headers=csrf_headers(client)).get_json()["token"]
    assert claims_of(token)["age_over"] == [14, 19]  # born 1990: never 65
    assert claims_of(token)["district"] == "seongdong"
    seniors, _ = make_gate(min_age=65)
    answer = verify(seniors, token).get_json()
    assert (answer["decision"], answer["reason"]) == ("denied", "policy")
    # The card page shows the holder as staff checked them.
    page = client.get("/eid/?lang=en").get_data(as_text=True)
    assert "김민지" in page and "Minji" not in page.split('id="eid-holder"')[1][:80]


def test_the_card_reads_the_register_entry_not_the_account_columns(client, login, make_user,
                                                                   card_for, token_for):
    user = register_verified(make_user, name="Minji")
    card_for(user)
    # Whatever writes the account's own columns later, the card attests the register entry.
    db.session.execute(update(User).where(User.id == user.id)
                       .values(birth_date=date(1940, 1, 1), district="강남구", name="Someone"))
    db.session.commit()
    claims = claims_of(token_for(user))
    assert (claims["age_over"], claims["district"]) == ([14, 19], "seongdong")
    # A correction of the register itself is what the card follows.
    accounts.import_register(db.session, [{**REAL, "birth_date": "1950-05-17"}])
    assert claims_of(token_for(user))["age_over"] == [14, 19, 65]
    holder = service.holder_facts(db.session, db.session.get(User, user.id))
    assert (holder.name, holder.district) == ("김민지", "seongdong")


def test_a_profile_edit_after_verification_changes_nothing(client, login, make_user, card_for,
                                                          token_for):
    user = register_verified(make_user)
    card_for(user)
    client.form("/account/", {"name": "Minji", "birth_date": "1940-01-01", "district": "강남구"})
    claims = claims_of(token_for(user))
    assert (claims["age_over"], claims["district"]) == ([14, 19], "seongdong")


def test_no_token_is_signed_for_a_holder_who_is_not_verified(make_user, card_for):
    user = make_user()
    card_for(user)
    card = db.session.scalar(select(Card))
    db.session.execute(update(User).where(User.id == user.id).values(verified_at=None))
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(NotVerified):
        service.sign_token(db.session, card)


def test_release_revokes_the_cards_and_a_gate_denies_their_next_token(
        client, login, make_user, bearer, csrf_headers, card_for, make_gate, verify):
    user = register_verified(make_user)
    card = card_for(user)
    token = client.post("/api/v1/eid/cards/me/token", headers=csrf_headers(client)).get_json()["token"]
    gate, _ = make_gate()

    staff = make_user(roles=("staff",))
    entry_id = db.session.scalar(select(ResidentRecord.id))
    released = client.post(f"/api/v1/accounts/register/{entry_id}/release", headers=bearer(staff),
                           json={"reason": "claimed with a stolen ID"})
    assert released.status_code == 200, released.get_json()

    db.session.expire_all()
    row = db.session.scalar(select(Card).where(Card.public_id == card["card_id"]))
    assert (row.status, row.status_reason) == ("revoked", "verification_released")
    audit = entries_for(db.session, "eid_card", card["card_id"])
    assert [(e.action, e.actor_id) for e in audit] == [("eid.card_issued", user.id),
                                                       ("eid.card_revoked", staff.id)]
    assert audit[-1].details == {"reason": "verification_released"}
    # The token signed before the release is refused at the gate, online and offline ...
    answer = verify(gate, token).get_json()
    assert (answer["decision"], answer["reason"], answer["card_status"]) == (
        "denied", "revoked", "revoked")
    assert card["card_id"] in client.get("/api/v1/eid/status").get_json()["revoked"]
    # ... and no new token, nor a new card, for the account that is not verified any more.
    login(client, db.session.get(User, user.id))
    for url in ("/api/v1/eid/cards/me/token", "/api/v1/eid/cards"):
        refused = client.post(url, headers=csrf_headers(client))
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "not_verified"


def test_release_revokes_a_suspended_card_too(make_user, staff, card_for):
    user = register_verified(make_user)
    card = card_for(user)
    service.suspend_card(db.session, staff, card["card_id"], "check")
    entry_id = db.session.scalar(select(ResidentRecord.id))
    accounts.release_entry(db.session, staff, entry_id, "wrong person")
    db.session.expire_all()
    assert db.session.scalar(select(Card.status)) == "revoked"


def test_the_release_hook_is_registered_once(app, make_app):
    make_app()
    assert accounts.ON_RELEASE.count(service.revoke_on_release) == 1


@requires_postgres
def test_a_release_racing_a_card_issue_leaves_no_live_card(app, live_server, make_user, bearer,
                                                            monkeypatch):
    """Staff release the entry while the holder's card request is half done (its count is
    slow): either the request waits for the release and is refused, or the release waits for
    the card and revokes it. Never a live card on an account that is not verified."""
    user = register_verified(make_user)
    staff = make_user(roles=("staff",))
    entry_id = db.session.scalar(select(ResidentRecord.id))
    real, counting = cards_module.issue_wait, threading.Event()

    def slow_count(*args):
        counting.set()
        time.sleep(1.0)
        return real(*args)

    monkeypatch.setattr(cards_module, "issue_wait", slow_count)
    holder, desk = bearer(user), bearer(staff)

    def client(i):
        if i == 0:
            return requests.post(f"{live_server.url}/api/v1/eid/cards", headers=holder,
                                 timeout=30).status_code
        counting.wait(10)
        return requests.post(f"{live_server.url}/api/v1/accounts/register/{entry_id}/release",
                             headers=desk, json={"reason": "stolen ID"}, timeout=30).status_code

    issued, released = race(2, client)
    assert released == 200 and issued in (201, 403)
    db.session.expire_all()
    assert service.live_card(db.session, user) is None
    assert db.session.scalar(select(Card.status)) in (None, "revoked")
