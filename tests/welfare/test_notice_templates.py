"""The notice a resident receives: subject, body and a call script, in the resident's language."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.notify import service as notify
from portal.notify.models import Message
from welfare import service

from .conftest import TODAY

CONTEXT = {"programme_code": "elderly",
           "name": {"ko": "홀몸 어르신 돌봄", "en": "Care for seniors living alone", "zh": "独居老人关怀"},
           "how_to_apply": {"ko": "주민센터 방문", "en": "Visit the community centre", "zh": "前往居民中心"},
           "callback_phone": "02-2286-5000"}


def test_notice_renders_in_each_language(app):
    expected = {"ko": ("홀몸 어르신 돌봄", "주민센터 방문", "지원 대상이 되실 수 있는"),
                "en": ("Care for seniors living alone", "Visit the community centre", "You may receive"),
                "zh": ("独居老人关怀", "前往居民中心", "您可能符合申请条件")}
    for locale, (name, how, subject_start) in expected.items():
        subject, body, voice = notify.render("welfare.eligible", CONTEXT, locale)
        assert subject.startswith(subject_start) and name in subject, (locale, subject)
        assert name in body and how in body and "02-2286-5000" in body
        # the call script: the programme, how to apply and the number (twice), in short sentences
        assert voice is not None and name in voice and how in voice
        assert voice.count("02-2286-5000") == 2
    # Korean says "may" (reviewer item 4): no entitlement, the decision comes with the application.
    _subject, body, voice = notify.render("welfare.eligible", CONTEXT, "ko")
    for text in (body, voice):
        assert "지원 대상이 되실 수 있" in text and "최종 여부는 신청 후 결정됩니다" in text
        assert "받으실 수 있습니다" not in text
        sentences = [s for s in voice.replace("。", ".").split(".") if s.strip()]
        assert max(len(s) for s in sentences) < 90, voice


def test_name_falls_back_when_a_language_is_missing(app):
    context = {**CONTEXT, "name": {"ko": "홀몸 어르신 돌봄"}, "how_to_apply": {}, "callback_phone": ""}
    subject, body, voice = notify.render("welfare.eligible", context, "zh")
    assert "홀몸 어르신 돌봄" in subject
    assert "02-" not in voice


def test_scanned_notice_reaches_the_inbox(app, make_user, make_profile, make_programme):
    make_programme("elderly", channels=["app"])
    resident = make_user(locale="en")
    make_profile(resident)
    service.scan(db.session, today=TODAY)
    db.session.expire_all()
    message = db.session.scalar(sa.select(Message).where(Message.user_id == resident.id))
    assert message.status == "delivered" and message.channel == "app" and message.locale == "en"
    assert notify.rendered(message)["subject"] == "You may receive: Care for seniors living alone"
