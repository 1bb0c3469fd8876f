"""Every welfare API answer has the shape its response model in welfare.schemas says: a key the
builder adds, drops or renames without the model (or the other way round) fails here."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from welfare import schemas

from .conftest import TODAY


def check(response, model, status=200):
    assert response.status_code == status, response.get_json()
    return model.model_validate(response.get_json())


def test_answers_match_their_models(app, make_user, make_profile, make_programme, officer, bearer):
    make_programme("elderly", channels=["voice", "app"])
    make_programme("ended", rules={"age": {"min": 0}}, active_until=date(2020, 1, 1), name={})
    grandma = make_user()
    make_profile(grandma, median_income_pct=38, youngest_child_birth_date=date(2020, 1, 1))
    client, ho, hg = app.test_client(), bearer(officer), bearer(grandma)

    body = check(client.get("/api/v1/welfare/programmes?all=1&limit=1", headers=ho), schemas.ProgrammeListOut)
    assert body.next_cursor is not None
    check(client.get(f"/api/v1/welfare/programmes?all=1&cursor={body.next_cursor}", headers=ho),
          schemas.ProgrammeListOut)
    check(client.get("/api/v1/welfare/programmes/elderly?lang=en"), schemas.ProgrammeOut)
    ended = check(client.get("/api/v1/welfare/programmes/ended", headers=ho), schemas.ProgrammeOut)
    assert ended.lang is None and ended.name == ""
    new = {"code": "heat", "name": {"ko": "난방"}, "rules": {"age": {"min": 65}}}
    check(client.post("/api/v1/welfare/programmes", json=new, headers=ho), schemas.ProgrammeOut, 201)
    check(client.patch("/api/v1/welfare/programmes/heat", json={"channels": ["sms"]}, headers=ho),
          schemas.ProgrammeOut)

    answers = {"age": 70, "median_income_pct": 20, "lives_alone": True, "district": "성동구"}
    screened = check(client.post("/api/v1/welfare/screener", json=answers, headers=ho), schemas.ScreenerOut)
    assert screened.items
    mine = check(client.get("/api/v1/welfare/eligibility/me", headers=hg), schemas.MyEligibilityOut)
    assert mine.has_profile and mine.items

    check(client.post("/api/v1/welfare/profiles/lookup", json={"user_id": grandma.id}, headers=ho),
          schemas.ProfileOut)
    check(client.get("/api/v1/welfare/profile/me", headers=hg), schemas.ProfileOut)
    mine = check(client.put("/api/v1/welfare/profile/me", json={"consent": True, "birth_date": "1950-01-01"},
                            headers=hg), schemas.ProfileOut)
    assert mine.consent_at is not None and mine.source == "resident"

    done = check(client.post("/api/v1/welfare/scans", json={"date": TODAY.isoformat()}, headers=ho),
                 schemas.ScanOut, 201)
    assert done.new_notices == 1
    check(client.post("/api/v1/welfare/scans", json={"async": True}, headers=ho), schemas.ScanQueuedOut, 202)
    reach = check(client.get("/api/v1/welfare/reach", headers=ho), schemas.ReachOut)
    assert {r.programme for r in reach.items} == {"elderly", "ended", "heat"}


def test_a_drifting_answer_fails_its_model(app):
    """The models forbid keys they do not name and need every key they do."""
    item = {"programme": "elderly", "notices": 1, "delivered": 1, "updated_at": None}
    schemas.ReachItemOut.model_validate(item)
    with pytest.raises(ValidationError):
        schemas.ReachItemOut.model_validate({**item, "extra": 1})
    with pytest.raises(ValidationError):
        schemas.ReachItemOut.model_validate({k: v for k, v in item.items() if k != "updated_at"})
