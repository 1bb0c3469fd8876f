"""Fixtures of the welfare tests: programmes, profiles, residents in bulk."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.extensions import db
from portal.types import utcnow
from welfare.models import Programme, WelfareProfile

TODAY = date(2026, 11, 23)

ELDERLY_RULE = {"all": [{"age": {"min": 65}}, {"lives_alone": True}, {"median_income_pct": {"max": 50}},
                        {"district": {"in": ["성동구"]}}]}


@pytest.fixture
def officer(make_user):
    return make_user(email="officer@test.kr", roles=("welfare_officer",))


@pytest.fixture
def make_programme(app):
    def make(code="elderly", rules=None, **fields):
        values = {"code": code, "name": {"ko": "홀몸 어르신 돌봄", "en": "Care for seniors living alone",
                                         "zh": "独居老人关怀"},
                  "how_to_apply": {"ko": "주민센터 방문", "en": "Visit the community centre", "zh": "前往居民中心"},
                  "channels": ["app"], "callback_phone": "02-120", "rules": rules or ELDERLY_RULE}
        values.update(fields)
        prog = Programme(**values)
        db.session.add(prog)
        db.session.commit()
        return prog

    return make


@pytest.fixture
def make_profile(app):
    def make(user, **facts):
        values = {"birth_date": date(1950, 1, 1), "median_income_pct": 30, "household_size": 1,
                  "lives_alone": True, "district": "성동구"}
        values.update(facts)
        profile = WelfareProfile(user_id=user.id if hasattr(user, "id") else user, source="import", **values)
        db.session.add(profile)
        db.session.commit()
        return profile

    return make


@pytest.fixture
def bulk_residents(app):
    """Insert `n` users directly (no password hashing: they never sign in) and return their ids."""

    def make(n, prefix="bulk", verified=True):
        now = utcnow()
        rows = [{"email": f"{prefix}{i}@test.kr", "name": f"R{i}", "locale": "ko", "active": True,
                 "verified_at": now if verified else None, "created_at": now} for i in range(n)]
        db.session.execute(sa.insert(User), rows)
        db.session.commit()
        return list(db.session.scalars(
            sa.select(User.id).where(User.email.like(f"{prefix}%@test.kr")).order_by(User.id)))

    return make
