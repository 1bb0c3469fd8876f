"""Demo programmes and welfare profiles for the demo residents of Seongdong-gu (the demo city's
district: portal/places.py), and the scan that tells them: grandma@demo.kr hears of the care calls
for seniors living alone, resident@demo.kr of the child care allowance, in their inboxes.
Idempotent: the scan tells each resident once per programme."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.accounts.models import User
from welfare import service
from welfare.models import Programme, WelfareProfile

PROGRAMMES = [
    {
        "code": "elderly-alone-care",
        "name": {"ko": "홀몸 어르신 돌봄 안부콜", "en": "Care calls for seniors living alone",
                 "zh": "独居老人关怀电话"},
        "description": {"ko": "만 65세 이상 홀로 사시는 어르신께 매주 안부 전화와 방문 돌봄을 드립니다.",
                        "en": "A weekly check-in call and home visits for residents aged 65 or over who live alone.",
                        "zh": "为年满65周岁的独居居民提供每周问候电话和上门照护。"},
        "how_to_apply": {"ko": "동 주민센터를 방문하거나 전화로 신청하세요.",
                         "en": "Visit your neighbourhood community centre or apply by phone.",
                         "zh": "请前往所在洞居民中心或通过电话申请。"},
        "channels": ["voice", "app"],
        "callback_phone": "02-2286-5000",
        "rules": {"all": [{"age": {"min": 65}}, {"lives_alone": True}, {"median_income_pct": {"max": 50}},
                          {"district": {"in": ["seongdong"]}}]},
    },
    {
        "code": "child-care-allowance",
        "name": {"ko": "아동 양육 수당", "en": "Child care allowance", "zh": "儿童养育津贴"},
        "description": {"ko": "만 7세 미만 자녀를 키우는 가구에 매달 양육 수당을 지급합니다.",
                        "en": "A monthly allowance for households raising a child under 7.",
                        "zh": "为抚养未满7周岁儿童的家庭每月发放养育津贴。"},
        "how_to_apply": {"ko": "포털 또는 동 주민센터에서 신청하세요.",
                         "en": "Apply on the portal or at your community centre.",
                         "zh": "请在门户网站或居民中心申请。"},
        "channels": ["app", "sms"],
        "callback_phone": "02-2286-5100",
        "rules": {"all": [{"has_children_under": 7}, {"median_income_pct": {"max": 80}}]},
    },
    {
        "code": "disability-mobility",
        "name": {"ko": "장애인 이동 지원", "en": "Mobility support for people with disabilities",
                 "zh": "残疾人出行支援"},
        "description": {"ko": "중증 장애인에게 이동 지원 차량과 활동 보조를 제공합니다.",
                        "en": "Transport and personal assistance for people with a severe disability.",
                        "zh": "为重度残疾人提供出行车辆和活动辅助。"},
        "how_to_apply": {"ko": "장애인 복지과에 전화로 신청하세요.",
                         "en": "Call the disability welfare team to apply.",
                         "zh": "请致电残疾人福利科申请。"},
        "channels": [],
        "callback_phone": "02-2286-5200",
        "rules": {"any": [{"disability_grade": {"max": 3}},
                          {"all": [{"disability_grade": True}, {"age": {"min": 75}}]}]},
    },
]

PROFILES = {
    "grandma@demo.kr": {"birth_date": date(1951, 2, 3), "median_income_pct": 38, "household_size": 1,
                        "lives_alone": True, "district": "seongdong"},
    "resident@demo.kr": {"birth_date": date(1988, 4, 12), "median_income_pct": 62, "household_size": 3,
                         "lives_alone": False, "youngest_child_birth_date": date(2022, 5, 1),
                         "district": "seongdong"},
}


def seed(session: Session) -> None:
    for data in PROGRAMMES:
        if session.scalar(sa.select(Programme.id).where(Programme.code == data["code"])) is None:
            session.add(Programme(**data))
    for email, facts in PROFILES.items():
        user_id = session.scalar(sa.select(User.id).where(User.email == email))
        if user_id is None:
            continue
        if session.scalar(sa.select(WelfareProfile.id).where(WelfareProfile.user_id == user_id)) is None:
            session.add(WelfareProfile(user_id=user_id, source="import", **facts))
    session.commit()
    service.scan(session)  # the daily scan, run once now: the notices are in the inboxes at once
