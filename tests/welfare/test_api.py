"""The welfare API: programmes CRUD, eligibility, profiles, role boundaries, audited officer views."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from portal.audit import AuditEntry
from portal.extensions import db
from welfare import service
from welfare.models import Programme, WelfareProfile

from .conftest import ELDERLY_RULE, TODAY

NEW = {"code": "winter-heating", "name": {"ko": "겨울 난방비 지원", "en": "Winter heating support"},
       "how_to_apply": {"ko": "주민센터 방문"}, "channels": ["sms", "app"], "callback_phone": "02-2286-5000",
       "rules": {"all": [{"age": {"min": 65}}, {"income_percentile": {"max": 30}}]}}


def audits(action):
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)).all()


# -- programmes ---------------------------------------------------------------------------

def test_officer_creates_reads_updates_and_deletes_a_programme(app, officer, bearer):
    client, h = app.test_client(), bearer(officer)
    r = client.post("/api/v1/welfare/programmes?lang=en", json=NEW, headers=h)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["code"] == "winter-heating" and body["name"] == "Winter heating support"
    assert body["lang"] == "en"
    # Chinese is missing: falls back to English, and says so
    got = client.get("/api/v1/welfare/programmes/winter-heating?lang=zh").get_json()
    assert got["name"] == "Winter heating support" and got["lang"] == "en"
    assert got["how_to_apply"] == "주민센터 방문"
    r = client.patch("/api/v1/welfare/programmes/winter-heating", json={"channels": ["voice"]}, headers=h)
    assert r.status_code == 200 and r.get_json()["channels"] == ["voice"]
    assert client.delete("/api/v1/welfare/programmes/winter-heating", headers=h).status_code == 204
    assert client.get("/api/v1/welfare/programmes/winter-heating").status_code == 404
    assert [a.action for a in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))] == [
        "welfare.programme.create", "welfare.programme.update", "welfare.programme.delete"]


def test_duplicate_code_is_a_conflict(app, officer, bearer):
    client, h = app.test_client(), bearer(officer)
    assert client.post("/api/v1/welfare/programmes", json=NEW, headers=h).status_code == 201
    r = client.post("/api/v1/welfare/programmes", json=NEW, headers=h)
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "programme_code_taken"


def test_malformed_rule_is_rejected_with_its_path(app, officer, bearer):
    client, h = app.test_client(), bearer(officer)
    bad = {**NEW, "rules": {"all": [{"age": {"min": 70, "max": 65}}, {"lives_alone": "yes"}, {"iq": 1}]}}
    r = client.post("/api/v1/welfare/programmes", json=bad, headers=h)
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"rules.all[0].age", "rules.all[1].lives_alone", "rules.all[2].iq"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 0
    # other fields are checked too, and a patch is checked the same way
    r = client.post("/api/v1/welfare/programmes", json={**NEW, "code": "Bad Code!", "channels": ["fax"],
                                                        "active_from": "2026-12-01",
                                                        "active_until": "2026-01-01"}, headers=h)
    assert set(r.get_json()["error"]["fields"]) == {"code", "channels", "active_until"}
    client.post("/api/v1/welfare/programmes", json=NEW, headers=h)
    r = client.patch("/api/v1/welfare/programmes/winter-heating", json={"rules": {"not": []}}, headers=h)
    assert r.status_code == 422 and "rules.not" in r.get_json()["error"]["fields"]


def test_programme_with_notices_cannot_be_deleted(app, officer, bearer, make_programme, make_user,
                                                  make_profile):
    make_programme("elderly")
    make_profile(make_user())
    service.scan(db.session, today=TODAY)
    r = app.test_client().delete("/api/v1/welfare/programmes/elderly", headers=bearer(officer))
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "programme_has_notices"


def test_public_list_shows_active_programmes_only(app, make_programme, officer, bearer):
    make_programme("elderly")
    make_programme("ended", active_until=date(2020, 1, 1))
    client = app.test_client()
    body = client.get("/api/v1/welfare/programmes").get_json()
    assert [p["code"] for p in body["items"]] == ["elderly"]
    assert body["next_cursor"] is None
    assert client.get("/api/v1/welfare/programmes/ended").status_code == 404
    assert client.get("/api/v1/welfare/programmes?all=1").status_code == 401
    body = client.get("/api/v1/welfare/programmes?all=1", headers=bearer(officer)).get_json()
    assert [p["code"] for p in body["items"]] == ["elderly", "ended"]


def test_residents_cannot_write_programmes(app, make_user, bearer, make_programme):
    make_programme("elderly")
    client, h = app.test_client(), bearer(make_user())
    assert client.post("/api/v1/welfare/programmes", json=NEW, headers=h).status_code == 403
    assert client.patch("/api/v1/welfare/programmes/elderly", json={}, headers=h).status_code == 403
    assert client.delete("/api/v1/welfare/programmes/elderly", headers=h).status_code == 403
    assert client.get("/api/v1/welfare/reach", headers=h).status_code == 403


# -- eligibility and profiles -------------------------------------------------------------

def test_eligibility_me_explains_in_the_asked_language(app, make_user, make_profile, make_programme, bearer):
    make_programme("elderly")
    make_programme("children", rules={"has_children_under": 7})
    grandma = make_user()
    make_profile(grandma, birth_date=date(1950, 1, 1), income_percentile=38)
    client = app.test_client()
    body = client.get("/api/v1/welfare/eligibility/me?lang=en", headers=bearer(grandma)).get_json()
    assert body["has_profile"] is True
    assert [i["programme"]["code"] for i in body["items"]] == ["elderly"]
    item = body["items"][0]
    assert item["programme"]["name"] == "Care for seniors living alone"
    assert item["explanation"].startswith("eligible because: age ")
    assert "lives alone" in item["explanation"] and "income at 38th percentile ≤ 50" in item["explanation"]
    zh = client.get("/api/v1/welfare/eligibility/me?lang=zh", headers=bearer(grandma)).get_json()
    assert zh["items"][0]["programme"]["name"] == "独居老人关怀"
    assert zh["items"][0]["explanation"].startswith("符合条件的原因：")


def test_eligibility_me_needs_sign_in(app):
    r = app.test_client().get("/api/v1/welfare/eligibility/me")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"


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


def test_screener_api_stores_nothing(app, make_programme):
    make_programme("elderly", rules=ELDERLY_RULE)
    before = _row_counts()
    client = app.test_client()
    r = client.post("/api/v1/welfare/screener?lang=en",
                    json={"age": 70, "income_percentile": 20, "lives_alone": True, "district": "성동구"},
                    headers={"X-CSRFToken": client.csrf_token()})
    assert r.status_code == 200, r.get_json()
    assert [i["programme"]["code"] for i in r.get_json()["items"]] == ["elderly"]
    r = client.post("/api/v1/welfare/screener", json={"age": "old"}, headers={"X-CSRFToken": client.csrf_token()})
    assert r.status_code == 422
    assert _row_counts() == before


def _row_counts() -> dict:
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in db.metadata.sorted_tables}


def test_reach_counts_notices_per_programme(app, make_programme, make_user, make_profile, officer, bearer):
    make_programme("elderly")
    make_programme("nobody", rules={"age": {"max": 1}})
    make_profile(make_user())
    make_profile(make_user())
    service.scan(db.session, today=TODAY)
    items = app.test_client().get("/api/v1/welfare/reach", headers=bearer(officer)).get_json()["items"]
    counts = {i["programme"]: (i["notices"], i["delivered"]) for i in items}
    # tests deliver eagerly: both inbox notices are delivered by the time the scan returns
    assert counts == {"elderly": (2, 2), "nobody": (0, 0)}


def test_openapi_lists_every_welfare_route(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/welfare"):
            path = rule.rule.replace("<int:user_id>", "{user_id}").replace("<code>", "{code}")
            assert path in spec["paths"], path
