"""The staff desk suspends and resumes cards, with a reason, audited
(``portal/eid/service/staff_cards.py``)."""

from __future__ import annotations

import pytest

from portal.audit import entries_for
from portal.eid import service
from portal.extensions import db


def test_staff_suspend_and_resume_with_reason_in_audit(client, login, resident, staff, card_for,
                                                      csrf_headers):
    card = card_for(resident)
    with pytest.raises(Exception) as refused:
        service.suspend_card(db.session, resident, card["card_id"], "self")
    assert getattr(refused.value, "status", None) == 403

    service.suspend_card(db.session, staff, card["card_id"], "card misuse reported")
    assert client.get("/api/v1/eid/cards/me").get_json()["status"] == "suspended"
    response = client.post("/api/v1/eid/cards/me/token", headers=csrf_headers(client))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "card_suspended"
    # A suspended card blocks a new one and cannot be revoked by its holder.
    assert client.post("/api/v1/eid/cards", headers=csrf_headers(client)).status_code == 409
    assert client.post("/api/v1/eid/cards/me/revoke", headers=csrf_headers(client)).status_code == 409

    service.resume_card(db.session, staff, card["card_id"], "checked, all fine")
    assert client.get("/api/v1/eid/cards/me").get_json()["status"] == "active"
    audit = entries_for(db.session, "eid_card", card["card_id"])
    assert [(e.action, e.details.get("reason"), e.actor_id) for e in audit[1:]] == [
        ("eid.card_suspended", "card misuse reported", staff.id),
        ("eid.card_resumed", "checked, all fine", staff.id)]


def test_suspend_needs_a_reason(resident, staff, card_for):
    card = card_for(resident)
    with pytest.raises(Exception) as invalid:
        service.suspend_card(db.session, staff, card["card_id"], "  ")
    assert invalid.value.status == 422
