"""Fixtures for the e-ID tests: staff, facilities, gates, cards and tokens."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest

from portal.eid import keys, service
from portal.eid.verify import gates
from portal.extensions import db


@pytest.fixture(autouse=True)
def _fresh_eid_caches(app):
    """Per-process caches (public keys, gate keys) must not outlive the rows of one test."""
    keys.clear_cache()
    gates.forget_gates()
    yield
    keys.clear_cache()
    gates.forget_gates()


@pytest.fixture
def staff(make_user):
    return make_user(roles=("staff",))


@pytest.fixture
def make_facility(staff):
    def factory(code=None, **fields):
        fields.setdefault("names", {"ko": "성동구립도서관", "en": "Seongdong Library", "zh": "城东图书馆"})
        fields.setdefault("kind", "library")
        return service.create_facility(db.session, staff, service.FacilityInput(
            code=code or "fac-" + uuid.uuid4().hex[:8], **fields))
    return factory


@pytest.fixture
def make_gate(make_facility):
    """make_gate(**facility_fields) -> (gate_key, facility)"""
    def factory(facility=None, **fields):
        facility = facility or make_facility(**fields)
        _gate, key = service.create_gate(db.session, None, facility.code, "test gate")
        return key, facility
    return factory


@pytest.fixture
def resident(make_user):
    return make_user(name="홍길동", birth_date=date(1990, 5, 17), district="성동구")


@pytest.fixture
def card_for(client, login):
    """card_for(user) -> the issued card's JSON (via the API, signed in as the user)."""
    def factory(user):
        login(client, user)
        response = client.post("/api/v1/eid/cards", headers=_csrf(client))
        assert response.status_code == 201, response.get_json()
        return response.get_json()
    return factory


@pytest.fixture
def token_for(client, login):
    """token_for(user) -> a fresh token for the user's active card."""
    def factory(user):
        login(client, user)
        response = client.post("/api/v1/eid/cards/me/token", headers=_csrf(client))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["token"]
    return factory


def _csrf(client) -> dict:
    html = client.get("/").get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token on the home page"
    return {"X-CSRFToken": match.group(1)}


@pytest.fixture
def csrf_headers():
    """csrf_headers(client) -> {"X-CSRFToken": ...} for the client's session."""
    return _csrf


@pytest.fixture
def verify_by(app):
    """verify_by(mode, gate_key, token) -> (response, answered by the fast path): through
    Flask's view ("flask") or the fast path with its caches warm ("fast")."""
    def call(mode, gate_key, token):
        app.config["EID_VERIFY_FAST_PATH"] = mode == "fast"
        if mode == "fast":
            service.authenticate_gate(db.session, gate_key)
            keys.public_keys(db.session)
        db.session.commit()
        before = app.extensions["eid_fast_path"].served
        response = app.test_client().post("/api/v1/eid/verify", json={"token": token},
                                          headers={"Authorization": f"Bearer {gate_key}"})
        return response, app.extensions["eid_fast_path"].served - before == 1
    return call


@pytest.fixture
def verify(app):
    """verify(gate_key, token, client=None) -> the response of POST /api/v1/eid/verify."""
    def call(gate_key, token, client=None):
        client = client or app.test_client()
        return client.post("/api/v1/eid/verify", json={"token": token},
                           headers={"Authorization": f"Bearer {gate_key}"})
    return call
