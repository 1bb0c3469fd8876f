"""Issue 13, finding 5: welfare in words an older resident can follow. Income as a percentage of
the standard median income (기준 중위소득 대비 %), reasons as plain hedged sentences in ko, en and zh,
one consent control with its label beside the checkbox."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa

from portal.extensions import db
from tests.welfare.conftest import ELDERLY_RULE
from welfare import service
from welfare.models import WelfareProfile

DAY = date(2026, 6, 1)


def test_the_2026_table_is_the_published_one_and_kept_as_data():
    from welfare.service import income

    text = income.TABLE.read_text(encoding="utf-8")
    assert "보건복지부" in text and "year,household_size,monthly_krw,source" in text
    # 보건복지부 고시, 2026년 기준 중위소득 (won per month, household sizes 1-6).
    published = {1: 2_564_238, 2: 4_199_292, 3: 5_359_036, 4: 6_494_738, 5: 7_556_719, 6: 8_555_952}
    assert {n: income.median_income(n, DAY) for n in published} == published


def test_percentage_of_the_standard_median_income_is_rounded_up():
    from welfare.service import income

    median = income.median_income(1, DAY)
    assert income.median_income_pct(median, 1, DAY) == 100
    assert income.median_income_pct(median // 2, 1, DAY) == 50  # 1,282,119 won: exactly half
    assert income.median_income_pct(median // 2 + 1, 1, DAY) == 51  # a won more is not "50% 이하"
    assert income.median_income_pct(0, 3, DAY) == 0
    assert income.median_income_pct(median * 2, 1, DAY) == 200
    # Beyond the table, each member adds the last step of it.
    step = income.median_income(6, DAY) - income.median_income(5, DAY)
    assert income.median_income(8, DAY) == income.median_income(6, DAY) + 2 * step


def test_profile_form_asks_income_as_monthly_won_or_percentage(app, client, login, make_user):
    login(client, make_user())
    for lang, words in (("ko", ("기준 중위소득", "월 가구 소득")), ("en", ("standard median income", "per month")),
                        ("zh", ("基准中位收入", "家庭月收入"))):
        html = client.get(f"/welfare/profile?lang={lang}").get_data(as_text=True)
        assert all(w in html for w in words), lang
        assert not any(w in html for w in ("백분위", "percentile", "百分位")), lang


def test_monthly_income_fills_the_percentage_for_the_household(app, client, login, make_user):
    me = make_user()
    login(client, me)
    form = {"household_size": "2", "monthly_income": "2,100,000", "median_income_pct": "", "consent": "y",
            "disability_grade": ""}
    r = client.form("/welfare/profile?lang=ko", form)
    assert r.status_code == 302
    saved = db.session.scalar(sa.select(WelfareProfile).where(WelfareProfile.user_id == me.id))
    assert saved.median_income_pct == 51  # 2,100,000 of 4,199,292 won (2 people): 50.008%, rounded up
    page = client.get("/welfare/?lang=ko").get_data(as_text=True)
    assert "가구 소득은 같은 가구원 수의 기준 중위소득의 51%입니다." in page
    # The percentage given directly, above 100 too.
    r = client.form("/welfare/profile", {**form, "monthly_income": "", "median_income_pct": "135"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(WelfareProfile, saved.id).median_income_pct == 135


def test_screener_takes_monthly_income(app, client, make_programme):
    make_programme("elderly", rules=ELDERLY_RULE)
    answers = {"age": "72", "household_size": "1", "lives_alone": "y", "district": "seongdong",
               "disability_grade": ""}
    html = client.form("/welfare/screener?lang=ko", {**answers, "monthly_income": "1,282,119"}).get_data(as_text=True)
    assert "홀몸 어르신 돌봄" in html and "기준 중위소득의 50%로, 기준 중위소득 50% 이하 조건을 충족합니다." in html
    html = client.form("/welfare/screener?lang=ko", {**answers, "monthly_income": "1282120원"}).get_data(as_text=True)
    assert "홀몸 어르신 돌봄" not in html


def test_the_api_still_takes_and_gives_the_old_name(app, make_user, bearer):
    client, h = app.test_client(), bearer(make_user())
    r = client.put("/api/v1/welfare/profile/me", json={"consent": True, "income_percentile": 40}, headers=h)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["median_income_pct"] == 40 and r.get_json()["income_percentile"] == 40
    r = client.put("/api/v1/welfare/profile/me", json={"consent": True, "monthly_income": 6_494_738,
                                                       "household_size": 4}, headers=h)
    assert r.get_json()["median_income_pct"] == 100


def test_rules_written_with_the_old_name_are_stored_with_the_new(app, officer, bearer):
    rule = {"all": [{"age": {"min": 65}}, {"not": {"income_percentile": {"min": 51}}}]}
    r = app.test_client().post("/api/v1/welfare/programmes", headers=bearer(officer), json={
        "code": "old-name", "name": {"ko": "옛 이름"}, "rules": rule})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["rules"] == {"all": [{"age": {"min": 65}}, {"not": {"median_income_pct": {"min": 51}}}]}


SENTENCES = {
    "ko": ("지원 대상이 되실 수 있습니다.", "만 76세로, 만 65세 이상 조건을 충족합니다.",
           "혼자 사시므로, 1인 가구(혼자 사는) 조건을 충족합니다.",
           "가구 소득이 기준 중위소득의 38%로, 기준 중위소득 50% 이하 조건을 충족합니다.",
           "최종 여부는 신청 후 결정됩니다."),
    "en": ("You may be eligible.", "You are 76, which meets the condition: aged 65 or over.",
           "You live alone, which meets the condition: living alone.",
           "Your household income is 38% of the standard median income, which meets the condition: "
           "at most 50% of the standard median income.", "The final decision is made when you apply."),
    "zh": ("您可能符合申请条件。", "您现年76周岁，符合“65周岁以上”的条件。", "您独居，符合“独居”的条件。",
           "您的家庭收入为基准中位收入的38%，符合“基准中位收入50%以下”的条件。", "最终结果在申请后确定。"),
}


def test_reasons_are_plain_sentences_in_each_language(app, client, login, make_user, make_profile,
                                                      make_programme):
    make_programme("elderly")
    grandma = make_user()
    make_profile(grandma, birth_date=date(1950, 1, 1), median_income_pct=38)
    login(client, grandma)
    today = service.seoul_today()
    age = today.year - 1950 - ((today.month, today.day) < (1, 1))
    for lang, sentences in SENTENCES.items():
        html = client.get(f"/welfare/?lang={lang}").get_data(as_text=True)
        for sentence in sentences:
            assert sentence.replace("76", str(age)) in html, (lang, sentence)
        reasons = re.search(r'<p class="hint">(.*?)</p>', html, re.S).group(1)
        assert not any(sign in reasons for sign in ("≥", "≤", "&lt;", "&gt;", "백분위", "percentile", "百分位"))


def test_reasons_say_what_is_missing_and_what_fails(app, client):
    from flask_babel import force_locale

    from welfare import rules

    with app.test_request_context():
        with force_locale("ko"):
            ok, ko = rules.explain({"all": [{"age": {"min": 65}}, {"median_income_pct": {"max": 50}}]},
                                   rules.Facts(age=60, median_income_pct=None))
        with force_locale("zh"):
            _ok, zh = rules.explain({"not": {"lives_alone": True}}, rules.Facts(lives_alone=True))
    assert ok is False
    assert ko.startswith("현재 정보로는 지원 대상이 아닌 것으로 보입니다.")
    assert "만 60세로, 만 65세 이상 조건을 충족하지 않습니다." in ko
    assert "가구 소득 정보가 없어, 기준 중위소득 50% 이하 조건을 충족하지 않습니다." in ko
    assert "您独居，不符合“不属于独居”的条件。" in zh


def _checkboxes(html):
    return re.findall(r'<input[^>]*type="checkbox"[^>]*>', html)


def test_one_consent_control_with_its_label_beside_it(app, client, login, make_user):
    login(client, make_user())
    for lang, words in (("ko", "개인정보"), ("en", "collects and uses"), ("zh", "收集和使用")):
        html = client.get(f"/welfare/profile?lang={lang}").get_data(as_text=True)
        assert 'name="notices_opt_out"' not in html
        names = [re.search(r'name="([^"]+)"', box).group(1) for box in _checkboxes(html)]
        assert names == ["lives_alone", "consent"], names
        for name in names:  # the checkbox sits inside its own label, before the label's words
            label = re.search(rf'<label for="{name}">\s*<input[^>]*id="{name}"[^>]*>\s*([^<]+)</label>', html)
            assert label and label.group(1).strip(), (lang, name)
        assert words in re.search(r'<label for="consent">.*?</label>', html, re.S).group(0)


def test_withdrawing_consent_on_the_citys_record_stops_notices(app, client, login, make_user, make_profile,
                                                               make_programme, officer):
    make_programme("elderly")
    grandma = make_user()
    make_profile(grandma)  # from the city's records
    login(client, grandma)
    html = client.get("/welfare/profile?lang=en").get_data(as_text=True)
    assert "Withdraw my consent: send me no notices about benefits" in html
    r = client.post("/welfare/profile/withdraw?lang=en", data={"csrf_token": _csrf(html)})
    assert r.status_code == 302
    assert "the city will not send you notices" in client.get("/welfare/profile?lang=en").get_data(as_text=True)
    profile = db.session.scalar(sa.select(WelfareProfile).where(WelfareProfile.user_id == grandma.id))
    assert profile is not None and profile.notices_opt_out is True and profile.consent_at is None
    assert service.scan(db.session, officer).new_notices == 0


def test_officer_sees_consent_and_notices_not_welcome(app, client, login, make_user, make_profile, officer):
    resident = make_user(email="kim@test.kr")
    make_profile(resident, median_income_pct=120)
    login(client, officer)
    html = client.get("/welfare/officer/profiles?lang=en").get_data(as_text=True)
    html = client.post("/welfare/officer/profiles?lang=en",
                       data={"csrf_token": _csrf(html), "email": "kim@test.kr"}).get_data(as_text=True)
    assert "Welcome" not in html and "Not given" in html and "120%" in html
    assert "Household income, as a percentage of the standard median income" in html


def _csrf(html):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
