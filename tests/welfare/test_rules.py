"""Eligibility rules: validation, each operator, explanations in three languages, SQL == Python."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal.extensions import db
from welfare import rules
from welfare.models import WelfareProfile

from .conftest import ELDERLY_RULE, TODAY


def errors_of(rule):
    with pytest.raises(rules.RuleError) as info:
        rules.validate(rule)
    return info.value.fields


# -- validation ---------------------------------------------------------------------------

def test_valid_rules_pass(app):
    with app.test_request_context():
        for rule in (ELDERLY_RULE, {"not": {"lives_alone": True}}, {"disability_grade": True},
                     {"any": [{"has_children_under": 7}, {"household_size": {"min": 4, "max": 10}}]}):
            assert rules.validate(rule) == rule
        assert rules.validate('{"age": {"max": 18}}') == {"age": {"max": 18}}


@pytest.mark.parametrize("rule, path", [
    ({"agee": {"min": 65}}, "rules.agee"),
    ({"all": [{"age": {"min": 65}}, {"shoe_size": 3}]}, "rules.all[1].shoe_size"),
    ({"age": {"min": "65"}}, "rules.age.min"),
    ({"age": {"min": 80, "max": 65}}, "rules.age"),
    ({"median_income_pct": {"max": 1500}}, "rules.median_income_pct.max"),
    ({"age": {"least": 3}}, "rules.age"),
    ({"age": 65}, "rules.age"),
    ({"lives_alone": "yes"}, "rules.lives_alone"),
    ({"has_children_under": 0}, "rules.has_children_under"),
    ({"district": ["성동구"]}, "rules.district"),
    ({"district": {"in": []}}, "rules.district.in"),
    ({"all": []}, "rules.all"),
    ({"any": {"age": {"min": 1}}}, "rules.any"),
    ({"age": {"min": 1}, "lives_alone": True}, "rules"),
    ([{"age": {"min": 1}}], "rules"),
    ({"not": {"all": [{"disability_grade": {"min": 7}}]}}, "rules.not.all[0].disability_grade.min"),
    ("{not json", "rules"),
])
def test_malformed_rules_are_rejected_at_the_faulty_path(app, rule, path):
    with app.test_request_context():
        fields = errors_of(rule)
    assert path in fields, fields
    assert fields[path]


def test_every_error_is_reported_not_just_the_first(app):
    with app.test_request_context():
        fields = errors_of({"all": [{"age": {"min": -1}}, {"lives_alone": 1}, {"colour": "red"}]})
    assert set(fields) == {"rules.all[0].age.min", "rules.all[1].lives_alone", "rules.all[2].colour"}


# -- each operator, in Python -------------------------------------------------------------

def facts(**kw):
    base = {"age": 70, "median_income_pct": 40, "household_size": 1, "lives_alone": True,
            "disability_grade": None, "youngest_child_age": None, "district": "성동구"}
    base.update(kw)
    return rules.Facts(**base)


@pytest.mark.parametrize("rule, fact, expected", [
    ({"age": {"min": 65}}, facts(age=65), True),
    ({"age": {"min": 65}}, facts(age=64), False),
    ({"age": {"max": 18}}, facts(age=18), True),
    ({"age": {"max": 18}}, facts(age=19), False),
    ({"age": {"min": 65}}, facts(age=None), False),
    ({"median_income_pct": {"max": 50}}, facts(median_income_pct=50), True),
    ({"median_income_pct": {"max": 50}}, facts(median_income_pct=51), False),
    ({"median_income_pct": {"min": 10, "max": 50}}, facts(median_income_pct=9), False),
    ({"household_size": {"min": 3}}, facts(household_size=3), True),
    ({"household_size": {"min": 3}}, facts(household_size=2), False),
    ({"lives_alone": True}, facts(lives_alone=True), True),
    ({"lives_alone": True}, facts(lives_alone=False), False),
    ({"lives_alone": False}, facts(lives_alone=False), True),
    ({"disability_grade": {"max": 3}}, facts(disability_grade=2), True),
    ({"disability_grade": {"max": 3}}, facts(disability_grade=4), False),
    ({"disability_grade": {"max": 3}}, facts(disability_grade=None), False),
    ({"disability_grade": True}, facts(disability_grade=6), True),
    ({"disability_grade": True}, facts(disability_grade=None), False),
    ({"disability_grade": False}, facts(disability_grade=None), True),
    ({"has_children_under": 7}, facts(youngest_child_age=6), True),
    ({"has_children_under": 7}, facts(youngest_child_age=7), False),
    ({"has_children_under": 7}, facts(youngest_child_age=None), False),
    ({"district": {"in": ["성동구", "중구"]}}, facts(district="중구"), True),
    ({"district": {"in": ["성동구"]}}, facts(district="강남구"), False),
    ({"district": {"in": ["성동구"]}}, facts(district=None), False),
    ({"all": [{"age": {"min": 65}}, {"lives_alone": True}]}, facts(age=70, lives_alone=False), False),
    ({"any": [{"age": {"min": 65}}, {"lives_alone": True}]}, facts(age=30, lives_alone=True), True),
    ({"any": [{"age": {"min": 65}}, {"lives_alone": True}]}, facts(age=30, lives_alone=False), False),
    ({"not": {"age": {"min": 65}}}, facts(age=30), True),
    ({"not": {"age": {"min": 65}}}, facts(age=None), True),
    ({"not": {"district": {"in": ["성동구"]}}}, facts(district="성동구"), False),
])
def test_each_operator(app, rule, fact, expected):
    with app.test_request_context():
        assert rules.evaluate(rule, fact)[0] is expected


def test_age_is_counted_in_whole_years_on_the_scan_date():
    assert rules.age_on(date(1955, 11, 23), TODAY) == 71
    assert rules.age_on(date(1955, 11, 24), TODAY) == 70
    assert rules.age_on(date(2024, 2, 29), date(2025, 2, 28)) == 0
    assert rules.age_on(date(2024, 2, 29), date(2025, 3, 1)) == 1
    assert rules.years_before(date(2028, 2, 29), 1) == date(2027, 2, 28)


# -- explanations in ko, en, zh -----------------------------------------------------------

def test_explanation_in_english(app):
    with app.test_request_context(), force_locale("en"):
        ok, text = rules.explain(ELDERLY_RULE, facts(age=71, median_income_pct=38))
    assert ok is True
    assert text == ("You may be eligible. "
                    "You are 71, which meets the condition: aged 65 or over. "
                    "You live alone, which meets the condition: living alone. "
                    "Your household income is 38% of the standard median income, which meets the "
                    "condition: at most 50% of the standard median income. "
                    "You live in Seongdong-gu, which meets the condition: living in Seongdong-gu. "
                    "The final decision is made when you apply.")


def test_explanation_in_korean_and_chinese(app):
    with app.test_request_context():
        with force_locale("ko"):
            ok, ko = rules.explain(ELDERLY_RULE, facts(age=71, median_income_pct=38))
        with force_locale("zh"):
            _ok, zh = rules.explain(ELDERLY_RULE, facts(age=71, median_income_pct=38))
    assert ok
    assert ko.startswith("지원 대상이 되실 수 있습니다.")
    assert "만 71세로, 만 65세 이상 조건을 충족합니다." in ko
    assert "가구 소득이 기준 중위소득의 38%로, 기준 중위소득 50% 이하 조건을 충족합니다." in ko
    assert ko.endswith("최종 여부는 신청 후 결정됩니다.")
    assert zh.startswith("您可能符合申请条件。")
    assert "您现年71周岁，符合“65周岁以上”的条件。" in zh
    assert "您的家庭收入为基准中位收入的38%，符合“基准中位收入50%以下”的条件。" in zh
    for text in (ko, zh):
        assert not any(sign in text for sign in "≥≤<>") and "백분위" not in text and "百分位" not in text


def test_explanation_says_what_fails(app):
    with app.test_request_context(), force_locale("en"):
        ok, text = rules.explain(ELDERLY_RULE, facts(age=60, median_income_pct=70))
    assert ok is False
    assert text == ("From what is known, you do not seem to be eligible. "
                    "You are 60, which does not meet the condition: aged 65 or over. "
                    "Your household income is 70% of the standard median income, which does not meet "
                    "the condition: at most 50% of the standard median income.")


# -- SQL and Python agree -----------------------------------------------------------------

FIELDS = ("age", "median_income_pct", "household_size", "disability_grade")
DISTRICTS = ["성동구", "중구", "강남구", "마포구"]


def random_leaf(rnd: random.Random) -> dict:
    kind = rnd.choice(["age", "median_income_pct", "household_size", "disability_grade", "lives_alone",
                       "has_children_under", "district", "disability_bool"])
    if kind == "lives_alone":
        return {"lives_alone": rnd.random() < 0.5}
    if kind == "has_children_under":
        return {"has_children_under": rnd.randint(1, 18)}
    if kind == "district":
        return {"district": {"in": rnd.sample(DISTRICTS, rnd.randint(1, 3))}}
    if kind == "disability_bool":
        return {"disability_grade": rnd.random() < 0.5}
    low, high = {"age": (0, 100), "median_income_pct": (0, 100), "household_size": (1, 8),
                 "disability_grade": (1, 6)}[kind]
    a, b = sorted(rnd.randint(low, high) for _ in range(2))
    bounds = rnd.choice([{"min": a}, {"max": b}, {"min": a, "max": b}])
    return {kind: bounds}


def random_rule(rnd: random.Random, depth: int = 0) -> dict:
    if depth >= 3 or rnd.random() < 0.4:
        return random_leaf(rnd)
    op = rnd.choice(["all", "any", "not"])
    if op == "not":
        return {"not": random_rule(rnd, depth + 1)}
    return {op: [random_rule(rnd, depth + 1) for _ in range(rnd.randint(1, 3))]}


def random_birth(rnd: random.Random, max_age: int) -> date | None:
    if rnd.random() < 0.1:
        return None
    # around birthdays too: ages exactly at a bound are where off-by-one hides
    return TODAY - timedelta(days=rnd.randint(0, max_age * 366))


def test_sql_and_python_agree_on_random_profiles(app, bulk_residents):
    rnd = random.Random(20261123)
    ids = bulk_residents(300, prefix="agree")
    profiles = []
    for uid in ids:
        profiles.append(WelfareProfile(
            user_id=uid, birth_date=random_birth(rnd, 100),
            median_income_pct=None if rnd.random() < 0.1 else rnd.randint(0, 100),
            household_size=rnd.randint(1, 8), lives_alone=rnd.random() < 0.4,
            disability_grade=None if rnd.random() < 0.6 else rnd.randint(1, 6),
            youngest_child_birth_date=None if rnd.random() < 0.5 else random_birth(rnd, 20),
            district=None if rnd.random() < 0.1 else rnd.choice(DISTRICTS), source="import"))
    # Birthdays exactly on the scan date, and 29 February, are the edges of age arithmetic.
    profiles[0].birth_date = TODAY.replace(year=TODAY.year - 65)
    profiles[1].birth_date = TODAY.replace(year=TODAY.year - 65) + timedelta(days=1)
    profiles[2].birth_date = date(1960, 2, 29)
    profiles[3].youngest_child_birth_date = TODAY.replace(year=TODAY.year - 7)
    db.session.add_all(profiles)
    db.session.commit()
    loaded = db.session.scalars(sa.select(WelfareProfile)).all()
    checked = matched = 0
    with app.test_request_context():
        for _ in range(150):
            rule = rules.validate(random_rule(rnd))
            in_sql = set(db.session.scalars(
                sa.select(WelfareProfile.user_id).where(rules.to_sql(rule, WelfareProfile, TODAY))))
            in_python = {p.user_id for p in loaded
                         if rules.evaluate(rule, rules.Facts.from_profile(p, TODAY))[0]}
            assert in_sql == in_python, rule
            checked += 1
            matched += len(in_sql)
    assert checked == 150
    assert 0 < matched < 150 * len(ids)  # the rules neither all match nor all miss
