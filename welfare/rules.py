"""Eligibility rules as data: one definition, validated once, compiled to SQL and explained in Python.

A rule is a JSON object with exactly one key:

    {"all": [rule, ...]}            every sub-rule holds (non-empty list)
    {"any": [rule, ...]}            at least one holds (non-empty list)
    {"not": rule}                   the sub-rule does not hold
    {"age": {"min": 65, "max": 80}}               years, from the birth date, on the scan date
    {"median_income_pct": {"max": 50}}            household income as a % of the standard
                                                  median income (기준 중위소득 50% 이하); 0-1000
    {"household_size": {"min": 3}}
    {"disability_grade": {"max": 3}}  or  {"disability_grade": true}   1 (most severe) .. 6
    {"lives_alone": true}
    {"has_children_under": 7}                     the youngest child is younger than N years
    {"district": {"in": ["성동구", "중구"]}}

Bounds are inclusive. A fact that is unknown (no birth date, no income figure...) never
satisfies a condition, in SQL and in Python alike, and `not` of it does. The old name
"income_percentile" is still accepted and stored as "median_income_pct" (see DEPRECATED).

`explain` says why in plain sentences of the current language, one per condition that decided
("만 75세로, 만 65세 이상 조건을 충족합니다."), after a hedged verdict: eligibility is decided when
the resident applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from portal import places
from portal.errors import Invalid
from portal.inputs import visible
from welfare import limits

RANGES = {  # field -> (lowest, highest) allowed bound: the values a profile may hold
    "age": limits.AGE,
    "median_income_pct": limits.MEDIAN_INCOME_PCT,
    "household_size": limits.HOUSEHOLD_SIZE,
    "disability_grade": limits.DISABILITY_GRADE,
}
DEPRECATED = {"income_percentile": "median_income_pct"}  # old condition name -> its name now
MAX_DEPTH = 8
MAX_NODES = 200


class RuleError(Invalid):
    code = "invalid_rule"
    default_message = _l("The eligibility rule is not valid.")


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(rule, field: str = "rules") -> dict:
    """Return the rule if it is well-formed, else raise RuleError with one message per path.

    Accepts a dict or a JSON string. Paths look like `rules.all[2].age.min`.
    """
    if isinstance(rule, str):
        try:
            rule = json.loads(rule)
        except ValueError:
            raise RuleError(fields={field: _("This is not valid JSON.")}) from None
    errors: dict[str, str] = {}
    count = [0]
    _check(rule, field, errors, 0, count)
    if errors:
        raise RuleError(fields=errors)
    return _renamed(rule)


def _renamed(node):
    """The rule with deprecated condition names replaced (a valid rule: one key per object)."""
    (key, value), = node.items()
    if key in ("all", "any"):
        return {key: [_renamed(child) for child in value]}
    if key == "not":
        return {key: _renamed(value)}
    return {DEPRECATED.get(key, key): value}


def _check(node, path: str, errors: dict, depth: int, count: list) -> None:
    count[0] += 1
    if count[0] > MAX_NODES:
        errors.setdefault(path, _("The rule has too many conditions (at most %(n)d).", n=MAX_NODES))
        return
    if depth > MAX_DEPTH:
        errors[path] = _("The rule is nested too deeply (at most %(n)d levels).", n=MAX_DEPTH)
        return
    if not isinstance(node, dict):
        errors[path] = _("Each condition must be an object with exactly one key.")
        return
    if len(node) != 1:
        errors[path] = _("Each condition must have exactly one key, not %(n)d.", n=len(node))
        return
    (key, value), = node.items()
    here = f"{path}.{key}"
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            errors[here] = _("Must be a non-empty list of conditions.")
            return
        for i, child in enumerate(value):
            _check(child, f"{here}[{i}]", errors, depth + 1, count)
    elif key == "not":
        _check(value, here, errors, depth + 1, count)
    elif key in RANGES or key in DEPRECATED:
        key = DEPRECATED.get(key, key)
        if key == "disability_grade" and isinstance(value, bool):
            return
        _check_range(key, value, here, errors)
    elif key == "lives_alone":
        if not isinstance(value, bool):
            errors[here] = _("Must be true or false.")
    elif key == "has_children_under":
        if not _is_int(value) or not 1 <= value <= 30:
            errors[here] = _("Must be a whole number of years from %(low)d to %(high)d.", low=1, high=30)
    elif key == "district":
        if not isinstance(value, dict) or set(value) != {"in"}:
            errors[here] = _('Must be an object {"in": [district, ...]}.')
            return
        names = value["in"]
        if (not isinstance(names, list) or not names
                or not all(isinstance(n, str) and visible(n) and len(n.strip()) <= limits.DISTRICT_MAX
                           for n in names)):
            errors[f"{here}.in"] = _("Must be a non-empty list of district names.")
        elif unknown := [n for n in names if places.match(n, "district") is None]:
            errors[f"{here}.in"] = _("Not a district: %(names)s. Use the districts' codes or names.",
                                      names=", ".join(unknown))
    else:
        errors[here] = _("Unknown condition %(key)s.", key=repr(key))


def district_codes(rule: dict) -> dict:
    """A valid rule with its districts given by their codes (a rule may name them in any
    language: "성동구", "Seongdong-gu"), which is what profiles hold and the rule is stored with."""
    (key, value), = rule.items()
    if key in ("all", "any"):
        return {key: [district_codes(child) for child in value]}
    if key == "not":
        return {key: district_codes(value)}
    if key == "district":
        return {key: {"in": list(dict.fromkeys(places.match(n, "district") for n in value["in"]))}}
    return rule


def district_code(text: str | None) -> str | None:
    """The code of the district `text` names; text that names none (stored before districts
    had codes) as it is; None when empty."""
    text = (text or "").strip()
    return (places.match(text, "district") or text) if text else None


def _district_values(names: list[str]) -> list[str]:
    """What a profile's district column may hold for a place of `names`: its code, and its names
    in every language (a row written before districts had codes)."""
    out = []
    for n in names:
        code = district_code(n)
        place = places.get(code)
        out += [code, *(place.names().values() if place else ())]
    return list(dict.fromkeys(out))


def _check_range(key: str, value, path: str, errors: dict) -> None:
    low, high = RANGES[key]
    if not isinstance(value, dict) or not value:
        errors[path] = _('Must be an object with "min" and/or "max".')
        return
    unknown = sorted(set(value) - {"min", "max"})
    if unknown:
        errors[path] = _("Unknown bound %(key)s: use min or max.", key=repr(unknown[0]))
        return
    for bound in ("min", "max"):
        if bound in value:
            v = value[bound]
            if not _is_int(v):
                errors[f"{path}.{bound}"] = _("Must be a whole number.")
            elif not low <= v <= high:
                errors[f"{path}.{bound}"] = _("Must be between %(low)d and %(high)d.", low=low, high=high)
    if (_is_int(value.get("min")) and _is_int(value.get("max"))
            and value["min"] > value["max"] and path + ".min" not in errors):
        errors[path] = _("min (%(min)d) is greater than max (%(max)d).", min=value["min"], max=value["max"])


# ---------------------------------------------------------------------------------------------
# Dates: ages are whole years on `today`
# ---------------------------------------------------------------------------------------------

def years_before(today: date, years: int) -> date:
    """The date `years` before `today` (29 February becomes 28 February)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def age_on(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


# ---------------------------------------------------------------------------------------------
# SQL: compile to a WHERE clause over WelfareProfile's columns
# ---------------------------------------------------------------------------------------------

def to_sql(rule: dict, profile, today: date):
    """A boolean SQL expression over `profile` (the WelfareProfile class or an alias).

    Ages are compared as birth-date bounds computed for `today`, so they run in the database on
    SQLite and PostgreSQL alike and can use an index. Never NULL: unknown facts give FALSE.
    """
    (key, value), = rule.items()
    key = DEPRECATED.get(key, key)
    if key == "all":
        return sa.and_(*(to_sql(r, profile, today) for r in value))
    if key == "any":
        return sa.or_(*(to_sql(r, profile, today) for r in value))
    if key == "not":
        return sa.not_(to_sql(value, profile, today))
    if key == "age":
        col = profile.birth_date
        parts = [col.is_not(None)]
        if "min" in value:  # age >= min  <=>  born on or before today - min years
            parts.append(col <= years_before(today, value["min"]))
        if "max" in value:  # age <= max  <=>  age < max + 1  <=>  born after today - (max+1) years
            parts.append(col > years_before(today, value["max"] + 1))
        return sa.and_(*parts)
    if key in ("median_income_pct", "household_size", "disability_grade"):
        col = getattr(profile, key)
        if value is True:
            return col.is_not(None)
        if value is False:
            return col.is_(None)
        parts = [col.is_not(None)]
        if "min" in value:
            parts.append(col >= value["min"])
        if "max" in value:
            parts.append(col <= value["max"])
        return sa.and_(*parts)
    if key == "lives_alone":
        return profile.lives_alone.is_(True) if value else profile.lives_alone.is_not(True)
    if key == "has_children_under":
        col = profile.youngest_child_birth_date
        return sa.and_(col.is_not(None), col > years_before(today, value))
    if key == "district":
        col = profile.district
        return sa.and_(col.is_not(None), col.in_(_district_values(value["in"])))
    raise RuleError(fields={"rules": _("Unknown condition %(key)s.", key=repr(key))})


# ---------------------------------------------------------------------------------------------
# Python: evaluate one case and explain why
# ---------------------------------------------------------------------------------------------

@dataclass
class Facts:
    """One person's situation as the rules see it (ages already computed for the day)."""

    age: int | None = None
    median_income_pct: int | None = None
    household_size: int | None = None
    lives_alone: bool = False
    disability_grade: int | None = None
    youngest_child_age: int | None = None
    district: str | None = None

    @classmethod
    def from_profile(cls, profile, today: date) -> Facts:
        return cls(
            age=age_on(profile.birth_date, today),
            median_income_pct=profile.median_income_pct,
            household_size=profile.household_size,
            lives_alone=bool(profile.lives_alone),
            disability_grade=profile.disability_grade,
            youngest_child_age=age_on(profile.youngest_child_birth_date, today),
            district=district_code(profile.district),
        )


@dataclass
class Reason:
    """One condition, said of one person: what is known of them (`fact`, a clause the sentence
    begins with), the condition (`condition`), and whether it holds for them (`met`)."""

    met: bool
    fact: str
    condition: str

    def negated(self) -> Reason:
        return Reason(not self.met, self.fact, _("not: %(condition)s", condition=self.condition))

    def sentence(self) -> str:
        if self.met:
            return _("%(fact)s, which meets the condition: %(condition)s.", fact=self.fact,
                     condition=self.condition)
        return _("%(fact)s, which does not meet the condition: %(condition)s.", fact=self.fact,
                 condition=self.condition)


def evaluate(rule: dict, facts: Facts) -> tuple[bool, list[Reason]]:
    """(holds, reasons): the reasons say why the rule holds, or why it does not."""
    (key, value), = rule.items()
    key = DEPRECATED.get(key, key)
    if key in ("all", "any"):
        results = [evaluate(r, facts) for r in value]
        ok = all(r[0] for r in results) if key == "all" else any(r[0] for r in results)
        # Explain with the children whose outcome decided the result.
        deciding = [r for r in results if r[0] == ok]
        return ok, [reason for _ok, reasons in deciding for reason in reasons]
    if key == "not":
        ok, reasons = evaluate(value, facts)
        return not ok, [r.negated() for r in reasons]
    if key == "age":
        return _bounds(facts.age, value, _age_fact, _age_condition)
    if key == "median_income_pct":
        return _bounds(facts.median_income_pct, value, _income_fact, _income_condition)
    if key == "household_size":
        return _bounds(facts.household_size, value, _household_fact, _household_condition)
    if key == "disability_grade":
        grade = facts.disability_grade
        if isinstance(value, bool):
            condition = _("a registered disability") if value else _("no registered disability")
            return (grade is not None) is value, [Reason((grade is not None) is value,
                                                         _disability_fact(grade), condition)]
        return _bounds(grade, value, _disability_fact, _disability_condition)
    if key == "lives_alone":
        ok = facts.lives_alone is value
        fact = _("You live alone") if facts.lives_alone else _("You do not live alone")
        return ok, [Reason(ok, fact, _("living alone") if value else _("not living alone"))]
    if key == "has_children_under":
        age = facts.youngest_child_age
        condition = _("a child under %(n)d", n=value)
        if age is None:
            return False, [Reason(False, _("No young child is on record"), condition)]
        ok = age < value
        return ok, [Reason(ok, _("Your youngest child is %(age)d", age=age), condition)]
    if key == "district":
        codes = [district_code(n) for n in value["in"]]
        condition = _("living in %(districts)s", districts=list_separator().join(map(places.name, codes)))
        if facts.district is None:
            return False, [Reason(False, _("Your district is not on record"), condition)]
        ok = district_code(facts.district) in codes
        return ok, [Reason(ok, _("You live in %(district)s", district=places.name(district_code(facts.district))),
                           condition)]
    raise RuleError(fields={"rules": _("Unknown condition %(key)s.", key=repr(key))})


def _bounds(actual, value: dict, fact, condition) -> tuple[bool, list[Reason]]:
    low, high = value.get("min"), value.get("max")
    ok = actual is not None and (low is None or actual >= low) and (high is None or actual <= high)
    return ok, [Reason(ok, fact(actual), condition(low, high))]


def _age_fact(age) -> str:
    if age is None:
        return _("Your age is not on record")
    return _("You are %(age)d", age=age)


def _age_condition(low, high) -> str:
    if high is None:
        return _("aged %(n)d or over", n=low)
    if low is None:
        return _("aged %(n)d or under", n=high)
    return _("aged %(min)d to %(max)d", min=low, max=high)


def _income_fact(pct) -> str:
    if pct is None:
        return _("Your household income is not on record")
    return _("Your household income is %(pct)d%% of the standard median income", pct=pct)


def _income_condition(low, high) -> str:
    if high is None:
        return _("at least %(n)d%% of the standard median income", n=low)
    if low is None:
        return _("at most %(n)d%% of the standard median income", n=high)
    return _("%(min)d%% to %(max)d%% of the standard median income", min=low, max=high)


def _household_fact(size) -> str:
    if size is None:
        return _("The size of your household is not on record")
    return ngettext("Your household has %(num)d person", "Your household has %(num)d people", size)


def _household_condition(low, high) -> str:
    if high is None:
        return _("a household of %(n)d or more", n=low)
    if low is None:
        return _("a household of %(n)d or fewer", n=high)
    return _("a household of %(min)d to %(max)d", min=low, max=high)


def _disability_fact(grade) -> str:
    if grade is None:
        return _("No registered disability is on record")
    return _("Your registered disability is grade %(grade)d", grade=grade)


def _disability_condition(low, high) -> str:
    low = limits.DISABILITY_GRADE[0] if low is None else low
    high = limits.DISABILITY_GRADE[1] if high is None else high
    return _("a registered disability of grade %(min)d to %(max)d", min=low, max=high)


def list_separator() -> str:
    from portal.i18n import current_locale

    return "、" if current_locale() == "zh" else ", "


def sentence_separator() -> str:
    from portal.i18n import current_locale

    return "" if current_locale() == "zh" else " "


def explain(rule: dict, facts: Facts) -> tuple[bool, str]:
    """(eligible, "You may be eligible. You are 71, which meets the condition: aged 65 or over.
    ...") in the current locale: a hedged verdict, then one sentence per deciding condition."""
    ok, reasons = evaluate(rule, facts)
    sentences = sentence_separator().join(dict.fromkeys(r.sentence() for r in reasons))  # no repeats
    if ok:
        return True, _("You may be eligible. %(reasons)s The final decision is made when you apply.",
                       reasons=sentences)
    return False, _("From what is known, you do not seem to be eligible. %(reasons)s", reasons=sentences)
