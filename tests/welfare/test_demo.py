"""Demo data: programmes and profiles for the demo residents, seeded twice without duplicates,
and the scan run by the seed, so each demo resident finds their notice in the inbox."""

from __future__ import annotations

import sqlalchemy as sa

from portal.accounts import demo as accounts_demo
from portal.accounts.models import User
from portal.extensions import db
from welfare import demo, rules, service
from welfare.models import Notice, Programme, WelfareProfile

from .conftest import TODAY


def test_demo_seed_is_idempotent_and_valid(app):
    accounts_demo.seed(db.session)
    demo.seed(db.session)
    demo.seed(db.session)
    programmes = db.session.scalars(sa.select(Programme)).all()
    assert len(programmes) == len(demo.PROGRAMMES)
    with app.test_request_context():
        for prog in programmes:
            assert rules.validate(prog.rules) == prog.rules  # districts as the places table's codes
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WelfareProfile)) == len(demo.PROFILES)
    # the seed ran the scan once: grandma heard of the seniors' care calls, the young parent of
    # the child allowance, each once however often the demo is seeded
    told = db.session.execute(sa.select(User.email, Programme.code).select_from(Notice)
                              .join(User, User.id == Notice.user_id)
                              .join(Programme, Programme.id == Notice.programme_id)).all()
    assert sorted(told) == [("grandma@demo.kr", "elderly-alone-care"),
                            ("resident@demo.kr", "child-care-allowance")]
    assert service.scan(db.session, today=TODAY).new_notices == 0


def test_the_demo_resident_finds_a_delivered_welfare_notice_in_her_inbox(app, client, login):
    accounts_demo.seed(db.session)
    demo.seed(db.session)
    resident = db.session.scalar(sa.select(User).where(User.email == "resident@demo.kr"))
    login(client, resident)
    html = client.get("/notify/?lang=en").get_data(as_text=True)
    # in her language (ko), delivered to the portal inbox
    assert "아동 양육 수당" in html and "Portal inbox: Sent" in html


def test_the_demo_grandmother_gets_her_notice_by_voice_call(app):
    """She prefers voice calls (notify's demo): her account has a phone number to call."""
    from portal.notify import demo as notify_demo
    from portal.notify.models import Message

    accounts_demo.seed(db.session)
    notify_demo.seed(db.session)
    demo.seed(db.session)
    grandma = db.session.scalar(sa.select(User).where(User.email == "grandma@demo.kr"))
    notice = db.session.scalar(sa.select(Message).where(Message.user_id == grandma.id,
                                                        Message.template == "welfare.eligible"))
    assert (notice.channel, notice.status) == ("voice", "delivered")


def test_demo_programmes_say_their_ages_as_the_rules_count_them(app, client, login):
    """The child allowance is for a child under 7 (has_children_under 7): in Chinese "未满7周岁",
    not "7岁以下" (which includes 7); the seniors' calls from a 65th birthday: "年满65周岁"."""
    accounts_demo.seed(db.session)
    demo.seed(db.session)
    shown = {}
    for email, programme in (("resident@demo.kr", "child-care-allowance"), ("grandma@demo.kr", "elderly-alone-care")):
        login(client, db.session.scalar(sa.select(User).where(User.email == email)))
        for lang in ("ko", "zh"):
            r = client.get(f"/welfare/?lang={lang}")
            assert r.status_code == 200
            shown[programme, lang] = r.get_data(as_text=True)
    assert "未满7周岁" in shown["child-care-allowance", "zh"] and "7岁以下" not in shown["child-care-allowance", "zh"]
    assert "만 7세 미만" in shown["child-care-allowance", "ko"]
    assert "年满65周岁" in shown["elderly-alone-care", "zh"]
    assert "만 65세 이상 홀로 사시는" in shown["elderly-alone-care", "ko"]
