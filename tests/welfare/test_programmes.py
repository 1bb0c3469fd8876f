"""Programmes through the API: create, read, update, delete; validation; who may write."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from portal.audit import AuditEntry
from portal.extensions import db
from welfare import service
from welfare.models import Programme

from .conftest import TODAY

NEW = {"code": "winter-heating", "name": {"ko": "겨울 난방비 지원", "en": "Winter heating support"},
       "how_to_apply": {"ko": "주민센터 방문"}, "channels": ["sms", "app"], "callback_phone": "02-2286-5000",
       "rules": {"all": [{"age": {"min": 65}}, {"median_income_pct": {"max": 30}}]}}


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
