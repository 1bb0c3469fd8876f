"""Welfare pages: benefits page, profile with consent, screener, officer pages."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from portal.audit import AuditEntry
from portal.extensions import db
from welfare.models import Programme, WelfareProfile

from .conftest import ELDERLY_RULE


def row_counts() -> dict:
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in db.metadata.sorted_tables}


def test_benefits_page_lists_what_fits_with_reasons(app, client, login, make_user, make_profile,
                                                    make_programme):
    make_programme("elderly")
    make_programme("children", rules={"has_children_under": 7}, name={"en": "Child allowance"})
    grandma = make_user(locale="en")
    make_profile(grandma, birth_date=date(1950, 1, 1), median_income_pct=38)
    login(client, grandma)
    html = client.get("/welfare/?lang=en").get_data(as_text=True)
    assert "Care for seniors living alone" in html
    assert "Your household income is 38% of the standard median income, which meets the condition" in html
    assert "Child allowance" not in html
    html = client.get("/welfare/?lang=ko").get_data(as_text=True)
    assert "홀몸 어르신 돌봄" in html


def test_benefits_page_for_visitors_points_to_the_screener(app, client):
    r = client.get("/welfare/")
    assert r.status_code == 200
    assert "/welfare/screener" in r.get_data(as_text=True)


def test_profile_page_saves_only_with_consent(app, client, login, make_user):
    me = make_user()
    login(client, me)
    form = {"birth_date": "1950-03-01", "median_income_pct": "40", "household_size": "1",
            "lives_alone": "y", "district": "성동구", "disability_grade": ""}
    r = client.form("/welfare/profile?lang=en", form)
    assert r.status_code == 200
    assert "Consent is required to save your profile." in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WelfareProfile)) == 0
    r = client.form("/welfare/profile", {**form, "consent": "y"})
    assert r.status_code == 302
    profile = db.session.scalar(sa.select(WelfareProfile))
    assert profile.user_id == me.id and profile.source == "resident" and profile.consent_at is not None


def test_profile_form_needs_csrf(app, client, login, make_user):
    login(client, make_user())
    r = client.post("/welfare/profile", data={"consent": "y", "household_size": "1"})
    assert r.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WelfareProfile)) == 0


def test_screener_evaluates_the_rules_and_stores_nothing(app, client, make_programme):
    make_programme("elderly", rules=ELDERLY_RULE)
    assert client.get("/welfare/screener").status_code == 200
    before = row_counts()
    r = client.form("/welfare/screener?lang=en", {"age": "72", "median_income_pct": "30", "household_size": "1",
                                                  "lives_alone": "y", "district": "성동구",
                                                  "disability_grade": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Care for seniors living alone" in html
    assert "You are 72, which meets the condition: aged 65 or over." in html
    r = client.form("/welfare/screener?lang=en", {"age": "40", "household_size": "1", "disability_grade": ""})
    assert "Care for seniors living alone" not in r.get_data(as_text=True)
    assert row_counts() == before


def test_officer_pages_are_for_officers(app, client, login, make_user, make_programme):
    make_programme("elderly")
    login(client, make_user())
    for url in ("/welfare/officer/", "/welfare/officer/programmes/new", "/welfare/officer/programmes/elderly",
                "/welfare/officer/reach", "/welfare/officer/profiles"):
        assert client.get(url).status_code == 403, url
    assert client.form("/welfare/officer/scan").status_code == 403
    assert client.form("/welfare/officer/profiles", {"email": "x@test.kr"}).status_code == 403


def test_officer_sees_rule_errors_on_the_form(app, client, login, officer):
    login(client, officer)
    assert client.get("/welfare/officer/programmes/new").status_code == 200
    form = {"code": "heating", "name_ko": "난방비", "rules": '{"all": [{"age": {"min": 80, "max": 65}}]}'}
    r = client.form("/welfare/officer/programmes/new?lang=en", form)
    html = r.get_data(as_text=True)
    assert r.status_code == 422  # the form again, with the rule's error beside it
    assert "rules.all[0].age: min (80) is greater than max (65)." in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 0
    r = client.form("/welfare/officer/programmes/new", {**form, "rules": '{"age": {"min": 65}}',
                                                        "channels": ["voice", "app"]})
    assert r.status_code == 302
    prog = db.session.scalar(sa.select(Programme))
    assert prog.rules == {"age": {"min": 65}} and prog.name == {"ko": "난방비"}
    assert prog.channels == ["voice", "app"]
    r = client.form("/welfare/officer/programmes/heating", {**form, "rules": '{"age": {"min": 70}}',
                                                            "name_en": "Heating"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(Programme)).rules == {"age": {"min": 70}}


def test_officer_scan_button_and_reach(app, client, login, officer, make_programme, make_user, make_profile):
    make_programme("elderly")
    make_profile(make_user())
    login(client, officer)
    r = client.form("/welfare/officer/scan")
    assert r.status_code == 302
    html = client.get("/welfare/officer/reach").get_data(as_text=True)
    assert "/notify/" in html
    assert "<td>1</td>" in html


def test_officer_profile_lookup_is_a_post_and_is_audited(app, client, login, officer, make_user, make_profile):
    resident = make_user(email="kim@test.kr")
    make_profile(resident, median_income_pct=17)
    login(client, officer)
    # the lookup forms post, with a CSRF token: the email never lands in a URL
    for url in ("/welfare/officer/", "/welfare/officer/profiles"):
        html = client.get(url).get_data(as_text=True)
        assert 'method="post" action="/welfare/officer/profiles"' in html or (
            url.endswith("profiles") and 'method="post"' in html)
        assert 'name="csrf_token"' in html
    # a GET with ?email= shows the form only: it looks at nobody and writes nothing
    r = client.get("/welfare/officer/profiles?email=kim@test.kr")
    assert r.status_code == 200 and ">17<" not in r.get_data(as_text=True)
    assert client.post("/welfare/officer/profiles", data={"email": "kim@test.kr"}).status_code == 400  # no CSRF
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0
    r = client.form("/welfare/officer/profiles", {"email": "kim@test.kr"})
    assert r.status_code == 200
    assert ">17%<" in r.get_data(as_text=True)
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "welfare.profile.view")).all()
    assert [(e.actor_id, e.target_id) for e in entries] == [(officer.id, str(resident.id))]
    r = client.form("/welfare/officer/profiles?lang=en", {"email": "nobody@test.kr"})
    assert r.status_code == 404 and "No account has this email." in r.get_data(as_text=True)


def test_officer_pages_render_in_every_language(app, client, login, officer, make_programme):
    make_programme("elderly")
    login(client, officer)
    for lang, word in (("ko", "복지 사업"), ("en", "Welfare programmes"), ("zh", "福利项目")):
        for url in ("/welfare/officer/", "/welfare/officer/programmes/new", "/welfare/officer/programmes/elderly",
                    "/welfare/officer/reach", "/welfare/officer/profiles"):
            r = client.get(f"{url}?lang={lang}")
            assert r.status_code == 200, (url, lang)
        assert word in client.get(f"/welfare/officer/?lang={lang}").get_data(as_text=True)
    # opening the lookup page without an email looks at nobody
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "welfare.profile.view")) == 0
