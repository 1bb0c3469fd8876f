"""The hold in three statements (issue 14): what the folded statements still guarantee.

- The first statement (the slot, its expired seats) also takes the holders' advisory locks
  (hold_limits.holders_locked): a hold waits for another transaction holding its email's lock.
- The INSERT counts the hold limits itself, reading at most limit - quantity + 1 holds of the
  email (hold_limits.insert_within): exact at the boundary whatever the number of holds.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from portal.extensions import db
from tests.conftest import requires_postgres
from tourism.service import hold_limits

from .conftest import booking_body, taken

API = "/api/v1/tourism/bookings"


@requires_postgres
def test_a_hold_waits_for_the_lock_of_its_email(app, client, make_listing):
    _listing, slot = make_listing(capacity=10)
    lock_id = hold_limits._lock_id("email", "wait@example.com")
    answers = []

    def hold():
        with app.app_context():
            answers.append(client.post(API, json=booking_body(slot.id, 1, "wait@example.com"),
                                       environ_base={"REMOTE_ADDR": "192.0.2.50"}))

    with db.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
        worker = threading.Thread(target=hold)
        worker.start()
        time.sleep(0.6)
        assert not answers  # waiting for the lock the other transaction holds
        other.commit()  # releases it
    worker.join(10)
    assert answers and answers[0].status_code == 201, answers and answers[0].get_json()
    assert taken(slot.id) == 1


def test_the_email_limit_is_exact_with_more_holds_than_the_rows_it_reads(client, make_listing):
    _listing, slot = make_listing(capacity=50)

    def hold(quantity, address):
        return client.post(API, json=booking_body(slot.id, quantity, "many@example.com"),
                           environ_base={"REMOTE_ADDR": address})

    for i in range(5):  # five holds of one seat, each from its own address
        assert hold(1, f"192.0.2.{i + 1}").status_code == 201
    # 5 + 6 > 10: refused (the INSERT reads 5 of the holds, and they are enough to say so)...
    refused = hold(6, "198.51.100.1")
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "hold_limit"
    assert int(refused.headers["Retry-After"]) > 14 * 60
    # ...5 + 5 = 10 is within the limit, and the seats of the refused hold went back.
    assert hold(5, "198.51.100.2").status_code == 201
    assert taken(slot.id) == 10
    assert hold(1, "198.51.100.3").status_code == 429
