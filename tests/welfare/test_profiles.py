"""Profiles through the API: the resident's own (only with consent), officers' audited views."""

from __future__ import annotations

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
    data = {"birth_date": "1950-03-01", "income_percentile": 40, "lives_alone": True, "district": "성동구"}
    r = client.put("/api/v1/welfare/profile/me", json={**data, "consent": False}, headers=h)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "consent_required"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WelfareProfile)) == 0
    r = client.put("/api/v1/welfare/profile/me", json={**data, "consent": True}, headers=h)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["source"] == "resident" and body["consent_at"] and body["income_percentile"] == 40
    r = client.put("/api/v1/welfare/profile/me", json={**data, "consent": True, "income_percentile": 101,
                                                       "household_size": 3}, headers=h)
    assert r.status_code == 422
    assert set(r.get_json()["error"]["fields"]) == {"income_percentile", "household_size"}
    assert client.get("/api/v1/welfare/profile/me", headers=h).get_json()["income_percentile"] == 40
    assert client.delete("/api/v1/welfare/profile/me", headers=h).status_code == 204
    assert client.get("/api/v1/welfare/profile/me", headers=h).status_code == 404


def test_resident_cannot_see_another_profile(app, make_user, make_profile, bearer):
    other = make_user()
    make_profile(other)
    client = app.test_client()
    r = client.get(f"/api/v1/welfare/profiles/{other.id}", headers=bearer(make_user()))
    assert r.status_code == 403
    assert "income_percentile" not in r.get_data(as_text=True)
    assert client.get(f"/api/v1/welfare/profiles/{other.id}").status_code == 401
    # city staff outside welfare are not welfare officers
    staff = make_user(roles=("staff",))
    assert client.get(f"/api/v1/welfare/profiles/{other.id}", headers=bearer(staff)).status_code == 403
    assert audits("welfare.profile.view") == []


def test_officer_view_is_audited(app, make_user, make_profile, officer, bearer):
    resident = make_user()
    make_profile(resident, income_percentile=12)
    r = app.test_client().get(f"/api/v1/welfare/profiles/{resident.id}", headers=bearer(officer))
    assert r.status_code == 200 and r.get_json()["income_percentile"] == 12
    [entry] = audits("welfare.profile.view")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (officer.id, "welfare_profile",
                                                                     str(resident.id))
    assert entry.details == {"found": True}
    # looking for someone without a profile is recorded too
    nobody = make_user()
    assert app.test_client().get(f"/api/v1/welfare/profiles/{nobody.id}",
                                 headers=bearer(officer)).status_code == 404
    assert len(audits("welfare.profile.view")) == 2


def test_own_profile_view_is_not_an_officer_view(app, make_user, make_profile, bearer):
    me = make_user()
    make_profile(me)
    assert app.test_client().get("/api/v1/welfare/profile/me", headers=bearer(me)).status_code == 200
    assert audits("welfare.profile.view") == []
