"""Text the database cannot store (NUL bytes, lone surrogates) in a profile, a screener answer,
an import or a programme is a 422 naming the field, at validation: never a 500 whose error log
would carry the statement's other values (income, disability, birth date)."""

from __future__ import annotations

import io
import json
import logging

import pytest
import sqlalchemy as sa

from portal.errors import Invalid
from portal.extensions import db
from welfare import service
from welfare.errors import ImportRejected
from welfare.models import Programme, WelfareProfile

BAD = ["x\x00", "성동구\ud800", "\udfff"]


@pytest.mark.parametrize("district", BAD)
def test_the_profile_refuses_it_for_every_way_in(app, make_user, bearer, login, client, caplog, district):
    me = make_user()
    with pytest.raises(Invalid) as err:  # the one parser of profile values
        service.update_my_profile(db.session, me, {"district": district, "median_income_pct": 7,
                                                   "disability_grade": 3, "birth_date": "1941-02-03"},
                                  consent=True)
    assert set(err.value.fields) == {"district"}
    body = json.dumps({"consent": True, "district": district, "median_income_pct": 7,
                       "disability_grade": 3, "birth_date": "1941-02-03"})
    resp = client.put("/api/v1/welfare/profile/me", data=body, content_type="application/json",
                      headers=bearer(me))
    assert resp.status_code == 422 and "district" in resp.get_json()["error"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WelfareProfile)) == 0
    logs = caplog.text
    assert "1941-02-03" not in logs and "1941, 2, 3" not in logs


@pytest.mark.parametrize("district", BAD)
def test_the_screener_refuses_it(app, client, district):
    with pytest.raises(Invalid) as err:
        service.screen(db.session, {"age": 70, "district": district})
    assert set(err.value.fields) == {"district"}
    resp = client.post("/api/v1/welfare/screener", data=json.dumps({"age": 70, "district": district}),
                       content_type="application/json")
    assert resp.status_code == 422 and "district" in resp.get_json()["error"]["fields"]


def test_an_import_refuses_it(app, officer, make_user):
    make_user(email="kim@test.kr")
    rows = "email,district,median_income_pct\nkim@test.kr,성동\x00구,20\nlee\x00@test.kr,성동구,30\n"
    with pytest.raises(ImportRejected) as err:
        service.import_profiles(db.session, officer, io.StringIO(rows))
    assert {(e.line, e.column) for e in err.value.rows} == {(2, "district"), (3, "email")}


def test_a_programme_refuses_it_and_a_code_that_cannot_exist_is_404(app, officer, bearer, client):
    with pytest.raises(Invalid) as err:
        service.create_programme(db.session, officer, {
            "code": "heat", "name": {"ko": "난방\x00"}, "rules": {"district": {"in": ["성동구", "\ud800"]}}})
    assert set(err.value.fields) in ({"name.ko"}, {"rules.district.in.1"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 0
    for code in ("x%00", "%ED%A0%80", "heat%00"):
        assert client.get(f"/api/v1/welfare/programmes/{code}").status_code == 404
        assert client.patch(f"/api/v1/welfare/programmes/{code}", json={"channels": []},
                            headers=bearer(officer)).status_code == 404


def test_no_error_log_carries_a_profile_value(app, make_user, bearer, client, caplog):
    """Every profile field, bad in turn: 422 each time, and none of the values in the logs."""
    caplog.set_level(logging.INFO)
    me = make_user()
    good = {"consent": True, "birth_date": "1941-02-03", "median_income_pct": 7, "household_size": 1,
            "lives_alone": True, "disability_grade": 3, "youngest_child_birth_date": None,
            "district": "비밀구"}
    bad = {"birth_date": "1941-02-03\x00", "median_income_pct": 1007, "household_size": 9999,
           "lives_alone": "maybe", "disability_grade": 77, "youngest_child_birth_date": "2099-01-01",
           "district": "비밀구\x00"}
    for field, value in bad.items():
        body = json.dumps({**good, field: value})
        resp = client.put("/api/v1/welfare/profile/me", data=body, content_type="application/json",
                          headers=bearer(me))
        assert resp.status_code == 422, (field, resp.get_json())
        assert field in resp.get_json()["error"]["fields"], field
    logs = caplog.text
    assert not [v for v in ("1941", "비밀구", "1007", "9999", "2099") if v in logs], logs
