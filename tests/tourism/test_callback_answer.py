"""A payment callback answers with the payment as its transaction left it (issue 14: the answer
is not loaded again after the commit), including a callback that changes nothing."""

from __future__ import annotations

from portal.extensions import db
from tourism import service

from .conftest import signed_callback

CALLBACK = "/api/v1/tourism/payments/sandbox/callback"


def _send(client, payment, status):
    body, signature = signed_callback(payment, status=status)
    resp = client.post(CALLBACK, data=body, content_type="application/json",
                       headers={"X-Sandbox-Signature": signature})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_failed_then_paid_callback_answers_failed_both_times(client, make_listing, book):
    _listing, slot = make_listing()
    ref = book(slot)["reference"]
    payment, _url = service.start_payment(db.session, ref, "sandbox")
    assert _send(client, payment, "failed") == {"payment_id": payment.public_id, "status": "failed"}
    # A late 'paid' for a failed payment moves nothing: the answer says what the row holds.
    assert _send(client, payment, "paid")["status"] == "failed"
    got = client.post(f"/api/v1/tourism/bookings/{ref}/lookup", json={"email": "guest@example.com"})
    assert got.get_json()["status"] == "held"
