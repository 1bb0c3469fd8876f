"""Demo data: programmes and profiles for the demo residents, seeded twice without duplicates."""

from __future__ import annotations

import sqlalchemy as sa

from portal.accounts import demo as accounts_demo
from portal.extensions import db
from welfare import demo, rules, service
from welfare.models import Programme, WelfareProfile

from .conftest import TODAY


def test_demo_seed_is_idempotent_and_valid(app):
    accounts_demo.seed(db.session)
    demo.seed(db.session)
    demo.seed(db.session)
    programmes = db.session.scalars(sa.select(Programme)).all()
    assert len(programmes) == len(demo.PROGRAMMES)
    with app.test_request_context():
        for prog in programmes:
            assert rules.validate(prog.rules) == prog.rules
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WelfareProfile)) == len(demo.PROFILES)
    result = service.scan(db.session, today=TODAY)
    # grandma: seniors' care calls; the young parent: child allowance
    assert result.by_programme["elderly-alone-care"] == 1
    assert result.by_programme["child-care-allowance"] == 1
