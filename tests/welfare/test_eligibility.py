"""Eligibility through the API: a resident's own, explained in their language; the screener."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from portal.extensions import db

from .conftest import ELDERLY_RULE


def test_eligibility_me_explains_in_the_asked_language(app, make_user, make_profile, make_programme, bearer):
    make_programme("elderly")
    make_programme("children", rules={"has_children_under": 7})
    grandma = make_user()
    make_profile(grandma, birth_date=date(1950, 1, 1), median_income_pct=38)
    client = app.test_client()
    body = client.get("/api/v1/welfare/eligibility/me?lang=en", headers=bearer(grandma)).get_json()
    assert body["has_profile"] is True
    assert [i["programme"]["code"] for i in body["items"]] == ["elderly"]
    item = body["items"][0]
    assert item["programme"]["name"] == "Care for seniors living alone"
    assert item["explanation"].startswith("You may be eligible. You are ")
    assert "You live alone, which meets the condition: living alone." in item["explanation"]
    assert ("Your household income is 38% of the standard median income, which meets the condition: "
            "at most 50% of the standard median income.") in item["explanation"]
    zh = client.get("/api/v1/welfare/eligibility/me?lang=zh", headers=bearer(grandma)).get_json()
    assert zh["items"][0]["programme"]["name"] == "独居老人关怀"
    assert zh["items"][0]["explanation"].startswith("您可能符合申请条件。")


def test_eligibility_me_needs_sign_in(app):
    r = app.test_client().get("/api/v1/welfare/eligibility/me")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"


def test_screener_api_stores_nothing(app, make_programme):
    make_programme("elderly", rules=ELDERLY_RULE)
    before = _row_counts()
    client = app.test_client()
    r = client.post("/api/v1/welfare/screener?lang=en",
                    json={"age": 70, "median_income_pct": 20, "lives_alone": True, "district": "성동구"},
                    headers={"X-CSRFToken": client.csrf_token()})
    assert r.status_code == 200, r.get_json()
    assert [i["programme"]["code"] for i in r.get_json()["items"]] == ["elderly"]
    r = client.post("/api/v1/welfare/screener", json={"age": "old"}, headers={"X-CSRFToken": client.csrf_token()})
    assert r.status_code == 422
    assert _row_counts() == before


def _row_counts() -> dict:
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in db.metadata.sorted_tables}
