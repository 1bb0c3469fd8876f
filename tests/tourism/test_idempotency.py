"""Idempotency keys on tourism's POSTs (portal.idempotency): a key is its caller's and bound to
its request. Before, the same Idempotency-Key with another slot, quantity or caller answered
with the first booking (201): Bob asked for 4 seats on slot 2 and got Alice's 1 seat on slot 1."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from portal import idempotency
from portal.extensions import db
from portal.idempotency import IdempotencyKey
from portal.types import utcnow
from tourism import service
from tourism.models import Booking, WaitlistEntry

from .conftest import booking_body, bookings_count, taken

BOOK = "/api/v1/tourism/bookings"


def _post(client, body, key, headers=None, path=BOOK):
    return client.post(path, json=body, headers={"Idempotency-Key": key, **(headers or {})})


def test_bobs_request_with_alices_key_never_gets_alices_booking(client, make_listing):
    _l1, slot1 = make_listing(capacity=10)
    _l2, slot2 = make_listing(capacity=10)
    alice = _post(client, booking_body(slot1.id, 1, "alice@example.com", name="Alice"), "k-123")
    assert alice.status_code == 201
    bob = _post(client, booking_body(slot2.id, 4, "bob@example.com", name="Bob"), "k-123")
    assert bob.status_code == 422 and bob.get_json()["error"]["code"] == "idempotency_key_reused"
    assert alice.get_json()["reference"] not in bob.get_data(as_text=True)
    # Nothing of Alice's shows, and Bob's seats were not taken either: he sends again with a new key.
    assert (taken(slot1.id), taken(slot2.id)) == (1, 0)
    again = _post(client, booking_body(slot2.id, 4, "bob@example.com", name="Bob"), "k-456")
    assert again.status_code == 201
    assert (again.get_json()["slot"]["id"], again.get_json()["quantity"]) == (slot2.id, 4)


def test_signed_in_callers_each_have_their_own_keys(client, make_listing, make_user, bearer):
    _l1, slot1 = make_listing(capacity=10)
    _l2, slot2 = make_listing(capacity=10)
    alice, bob = make_user(email="alice@example.kr"), make_user(email="bob@example.kr")
    first = _post(client, booking_body(slot1.id, 1, alice.email), "same", bearer(alice))
    second = _post(client, booking_body(slot2.id, 4, bob.email), "same", bearer(bob))
    assert first.status_code == second.status_code == 201
    assert (second.get_json()["slot"]["id"], second.get_json()["quantity"]) == (slot2.id, 4)
    assert first.get_json()["reference"] != second.get_json()["reference"]
    # Even the same body from another caller (a guest) is another request; Bob's own key came
    # with another request.
    third = _post(client, booking_body(slot1.id, 1, alice.email), "same")
    assert third.status_code == 201 and "Idempotent-Replayed" not in third.headers
    assert _post(client, booking_body(slot1.id, 1, alice.email), "same", bearer(bob)).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 3
    # Alice's retry is hers, exactly.
    retry = _post(client, booking_body(slot1.id, 1, alice.email), "same", bearer(alice))
    assert retry.get_data() == first.get_data() and retry.headers["Idempotent-Replayed"] == "true"


def test_a_retry_replays_the_first_answer_exactly(client, make_listing):
    _listing, slot = make_listing(capacity=10)
    first = _post(client, booking_body(slot.id, 2), "retry-1")
    client.post(f"{BOOK}/{first.get_json()['reference']}/payment", json={"provider": "sandbox"})
    retry = _post(client, booking_body(slot.id, 2), "retry-1", {"Accept-Language": "zh"})
    # The first answer as it was (held, in its language), not the booking as it is now.
    assert retry.status_code == 201 and retry.get_data() == first.get_data()
    assert retry.get_json()["status"] == "held"
    assert bookings_count(slot.id) == 1 and taken(slot.id) == 2


def test_a_key_still_in_flight_is_409(client, make_listing):
    _listing, slot = make_listing()
    body = booking_body(slot.id)
    with client.application.test_request_context(BOOK, method="POST", json=body):
        digest = idempotency.request_fingerprint()
    idempotency.begin(db.session, idempotency.GUEST, "busy", digest)
    resp = _post(client, body, "busy")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "idempotency_key_in_use"
    assert resp.headers["Retry-After"] == "1" and bookings_count(slot.id) == 0


def test_a_retry_after_a_dead_request_finds_the_booking_it_made(client, make_listing):
    """The request holding the key made the booking and died before answering (a killed worker):
    after IDEMPOTENCY_IN_FLIGHT_SECONDS a retry runs again and finds that booking by the claim's
    token: one booking, answered 201."""
    _listing, slot = make_listing(capacity=10)
    body = booking_body(slot.id, 3)
    with client.application.test_request_context(BOOK, method="POST", json=body):
        digest = idempotency.request_fingerprint()
    claim = idempotency.begin(db.session, idempotency.GUEST, "dead", digest)
    made, _created = service.create_booking(db.session, user=None, slot_id=slot.id, quantity=3, name="Alex Kim",
                                            email="guest@example.com", idempotency_key=claim.token)
    reference = made.reference
    assert _post(client, body, "dead").status_code == 409
    db.session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(minutes=2)))
    db.session.commit()
    retry = _post(client, body, "dead")
    assert retry.status_code == 201 and retry.get_json()["reference"] == reference
    assert bookings_count(slot.id) == 1 and taken(slot.id) == 3


def test_a_key_older_than_24_hours_is_new_again(client, make_listing):
    _listing, slot = make_listing(capacity=10)
    first = _post(client, booking_body(slot.id, 1), "daily")
    db.session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=24, minutes=1)))
    db.session.commit()
    second = _post(client, booking_body(slot.id, 2), "daily")
    assert second.status_code == 201 and second.get_json()["reference"] != first.get_json()["reference"]
    assert bookings_count(slot.id) == 2 and taken(slot.id) == 3


def test_an_error_answer_keeps_nothing_and_a_retry_runs_again(client, make_listing):
    _listing, slot = make_listing(capacity=1)
    _post(client, booking_body(slot.id, 1, "first@example.com"), "a")
    sold_out = _post(client, booking_body(slot.id, 1, "late@example.com"), "late")
    assert sold_out.status_code == 409 and sold_out.get_json()["error"]["code"] == "sold_out"
    service.set_capacity(db.session, _staff(), slot.id, 2)
    again = _post(client, booking_body(slot.id, 1, "late@example.com"), "late")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers


def _staff():
    from portal.accounts import service as accounts

    user = accounts.create_user(db.session, "staff@example.kr", None, roles=("staff",), verified=True,
                                password_hash="x", district="seongdong")
    db.session.commit()
    return user


def test_paying_cancelling_and_joining_the_waiting_list_take_a_key(client, make_listing):
    _listing, slot = make_listing(capacity=2, price=10000)
    ref = _post(client, booking_body(slot.id, 2), "hold")
    ref = ref.get_json()["reference"]
    pay = f"{BOOK}/{ref}/payment"
    paid = _post(client, {"provider": "sandbox", "email": "guest@example.com"}, "pay-1", path=pay)
    assert paid.status_code == 200 and paid.get_json()["status"] == "confirmed"
    # A retry of the payment gets its answer, not 409 already_paid (what a retry without the key gets).
    again = _post(client, {"provider": "sandbox", "email": "guest@example.com"}, "pay-1", path=pay)
    assert again.get_data() == paid.get_data() and again.headers["Idempotent-Replayed"] == "true"
    assert client.post(pay, json={"provider": "sandbox"}).get_json()["error"]["code"] == "already_paid"

    waitlist = f"/api/v1/tourism/slots/{slot.id}/waitlist"
    wait_body = {"quantity": 1, "guest": {"name": "Min", "email": "min@example.com"}}
    joined = _post(client, wait_body, "line", path=waitlist)
    assert joined.status_code == 201
    assert _post(client, wait_body, "line", path=waitlist).get_data() == joined.get_data()
    assert client.post(waitlist, json=wait_body).get_json()["error"]["code"] == "already_waiting"
    assert db.session.scalar(select(func.count()).select_from(WaitlistEntry)) == 1

    cancel = f"{BOOK}/{ref}/cancel"
    cancelled = _post(client, {"email": "guest@example.com"}, "undo", path=cancel)
    assert cancelled.status_code == 200 and cancelled.get_json()["refund"]["amount"] == 20000
    assert _post(client, {"email": "guest@example.com"}, "undo", path=cancel).get_data() == cancelled.get_data()
    # One key, another operation: refused, whatever it is.
    assert _post(client, {"email": "guest@example.com"}, "pay-1", path=cancel).status_code == 422


def _form(client, slot_id, key, quantity=1, email="mina@example.com", lang="en"):
    return client.form(f"/tourism/slots/{slot_id}/book?lang={lang}",
                       {"name": "Mina Park", "email": email, "quantity": quantity, "idempotency_key": key})


def test_the_booking_form_sent_twice_makes_one_booking(client, new_client, make_listing):
    _listing, slot = make_listing(capacity=10)
    first = _form(client, slot.id, "form-key-1")
    second = _form(client, slot.id, "form-key-1")
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert bookings_count(slot.id) == 1
    # The same rendered form sent back with other details (back, change, send): 422, and the
    # form again with a new key, so that sending it now makes the booking asked for.
    changed = _form(client, slot.id, "form-key-1", quantity=3)
    assert changed.status_code == 422
    page = changed.get_data(as_text=True)
    assert "already used for another request" in page
    new_key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    assert new_key != "form-key-1"
    made = _form(client, slot.id, new_key, quantity=3)
    assert made.status_code == 302 and made.headers["Location"] != first.headers["Location"]
    assert taken(slot.id) == 4
    # Another browser's form with the key and the same details is that booking's form sent
    # again (a guest's key is bound to what the form says).
    assert _form(new_client(), slot.id, "form-key-1").headers["Location"] == first.headers["Location"]


def test_a_form_sent_while_its_first_sending_is_in_flight_waits_then_says_so(client, make_listing, monkeypatch):
    from tourism import views

    monkeypatch.setattr(views, "FORM_WAIT_SECONDS", 0.2)
    _listing, slot = make_listing()
    details = {"name": "Mina Park", "email": "mina@example.com", "phone": None, "quantity": 1}
    idempotency.begin(db.session, idempotency.GUEST, "form:slow",
                      idempotency.fingerprint("POST", f"/tourism/slots/{slot.id}/book", details))
    resp = _form(client, slot.id, "slow")
    assert resp.status_code == 409 and "still being processed" in resp.get_data(as_text=True)
    assert bookings_count(slot.id) == 0
