"""Profiles through the API: the resident's own (only with consent), officers' audited views."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from portal.audit import AuditEntry
from portal.extensions import db
from welfare.models import WelfareProfile


def audits(action):
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)).all()


def test_resident_writes_own_profile_only_with_consent(app, make_user, bearer):
    me = make_user()
    client, h = app.test_client(), bearer(me)
    assert client.get("/api/v1/welfare/profile/me", headers=h).status_code == 404
    data = {"birth_date": "1950-03-01", "median_income_pct": 40, "lives_alone": True, "district": "성동구"}
    r = client.put("/api/v1/welfare/profile/me", json={**data, "consent": False}, headers=h)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "consent_required"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WelfareProfile)) == 0
    r = client.put("/api/v1/welfare/profile/me", json={**data, "consent": True}, headers=h)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["source"] == "resident" and body["consent_at"] and body["median_income_pct"] == 40
    r = client.put("/api/v1/welfare/profile/me", json={**data, "consent": True, "median_income_pct": 1001,
                                                       "household_size": 3}, headers=h)
    assert r.status_code == 422
    assert set(r.get_json()["error"]["fields"]) == {"median_income_pct", "household_size"}
    assert client.get("/api/v1/welfare/profile/me", headers=h).get_json()["median_income_pct"] == 40
    assert client.delete("/api/v1/welfare/profile/me", headers=h).status_code == 204
    assert client.get("/api/v1/welfare/profile/me", headers=h).status_code == 404


def lookup(client, headers, **body):
    return client.post("/api/v1/welfare/profiles/lookup", json=body, headers=headers)


def test_resident_cannot_see_another_profile(app, make_user, make_profile, bearer):
    other = make_user(email="other@test.kr")
    make_profile(other)
    client = app.test_client()
    for body in ({"user_id": other.id}, {"email": "other@test.kr"}):
        r = lookup(client, bearer(make_user()), **body)
        assert r.status_code == 403
        assert "median_income_pct" not in r.get_data(as_text=True)
        assert lookup(client, {}, **body).status_code == 401
        # city staff outside welfare are not welfare officers
        assert lookup(client, bearer(make_user(roles=("staff",))), **body).status_code == 403
    assert audits("welfare.profile.view") == []


def test_officer_look_is_a_post_and_is_audited(app, make_user, make_profile, officer, bearer):
    resident = make_user(email="kim@test.kr")
    make_profile(resident, median_income_pct=12)
    client, headers = app.test_client(), bearer(officer)
    r = lookup(client, headers, user_id=resident.id)
    assert r.status_code == 200 and r.get_json()["median_income_pct"] == 12
    [entry] = audits("welfare.profile.view")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (officer.id, "welfare_profile",
                                                                     str(resident.id))
    assert entry.details == {"found": True}
    r = lookup(client, headers, email="KIM@test.kr")
    assert r.status_code == 200 and r.get_json()["user_id"] == resident.id
    assert len(audits("welfare.profile.view")) == 2
    # looking for someone without a profile is recorded too
    nobody = make_user()
    r = lookup(client, headers, user_id=nobody.id)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "no_profile"
    assert len(audits("welfare.profile.view")) == 3
    r = lookup(client, headers, email="nobody@test.kr")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "no_user"
    # the old GET by id is gone: a look is never a GET
    assert client.get(f"/api/v1/welfare/profiles/{resident.id}", headers=headers).status_code in (404, 405)
    assert len(audits("welfare.profile.view")) == 3


@pytest.mark.parametrize("body, field", [
    ({}, "user_id"), ({"user_id": 1, "email": "a@test.kr"}, "user_id"), ({"email": ""}, "email"),
    ({"email": "kim\u0000@test.kr"}, "email"), ({"user_id": 0}, "user_id"), ({"id": 1}, "id"),
])
def test_a_look_names_one_resident(app, officer, bearer, body, field):
    r = app.test_client().post("/api/v1/welfare/profiles/lookup", data=json.dumps(body),
                               content_type="application/json", headers=bearer(officer))
    assert r.status_code == 422 and field in r.get_json()["error"]["fields"], r.get_json()
    assert audits("welfare.profile.view") == []


def test_own_profile_view_is_not_an_officer_view(app, make_user, make_profile, bearer):
    me = make_user()
    make_profile(me)
    assert app.test_client().get("/api/v1/welfare/profile/me", headers=bearer(me)).status_code == 200
    assert audits("welfare.profile.view") == []
