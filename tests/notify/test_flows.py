"""A voice notice is a conversation (issue 16, part 1): the HTTP voice provider receives its flow
(portal.notify.flows, the data in welfare/templates/notify/welfare.eligible.flow.json) beside
today's fields, in the resident's language, with the health check offered from 60 and slower
speech from 65; texts and mails carry none; values put into SSML cannot break or add SSML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime

from portal.notify import flows
from portal.notify.flows import SEOUL
from portal.notify.sealing import reference

CONTEXT = {"programme_code": "elderly",
           "name": {"ko": "홀몸 어르신 돌봄", "en": "Care for seniors living alone", "zh": "独居老人关怀"},
           "summary": {"ko": "혼자 사시는 어르신을 돌봐 드립니다.", "en": "Visits for seniors who live alone.",
                       "zh": "为独居老人提供探访。"},
           "how_to_apply": {"ko": "주민센터 방문", "en": "Visit the community centre", "zh": "前往居民中心"},
           "callback_phone": "02-2286-5000"}
CITY = {"ko": "성동구", "en": "Seongdong-gu", "zh": "城东区"}
HOSTILE = '<break time="10s"/> & "x" </speak><audio src="http://evil"/>'


def born(age: int) -> date:
    """A birth date that makes `age` today in Seoul (and not a day more)."""
    return date(datetime.now(SEOUL).date().year - age, 1, 1)


def call(send, make_user, http_provider, *, age=70, locale="ko", context=CONTEXT, key=None, **user):
    resident = make_user(phone="010-2222-3333", locale=locale, birth_date=born(age) if age is not None else None,
                         **user)
    key = key or f"welfare:elderly:{resident.id}"
    send(user=resident, channel="voice", template="welfare.eligible", context=context, idempotency_key=key)
    [request] = [r for r in http_provider.requests if r["json"]["reference"] == reference(key)]
    return request


def parsed(flow: dict) -> list[ET.Element]:
    return [ET.fromstring(step["ssml"]) for step in flow["steps"]]  # noqa: S314 - what we built


def digits(flow: dict) -> list[str]:
    [menu] = [s for s in flow["steps"] if s["id"] == "menu"]
    return [o["digit"] for o in menu["options"]]


def test_the_voice_provider_receives_the_flow_in_each_language(send, make_user, http_provider):
    for locale in ("ko", "en", "zh"):
        key = f"welfare:elderly:flow-{locale}"
        request = call(send, make_user, http_provider, locale=locale, key=key)
        body, headers = request["json"], request["headers"]
        # today's contract stays exactly as it was; "flow" is added
        assert set(body) == {"to", "text", "locale", "channel", "reference", "flow"}
        assert body["channel"] == "voice" and body["locale"] == locale and body["to"] == "010-2222-3333"
        assert headers["Idempotency-Key"] == body["reference"] == reference(key)
        assert CONTEXT["name"][locale] in body["text"]  # the call script as before
        flow = body["flow"]
        assert flow["version"] == 1 and flow["locale"] == locale
        assert [s["id"] for s in flow["steps"]] == ["greeting", "programme", "menu", "goodbye"]
        words = [flows.plain(s["ssml"]) for s in flow["steps"]]
        assert CITY[locale] in words[0]
        assert CONTEXT["name"][locale] in words[1] and CONTEXT["summary"][locale] in words[1]
        for root in parsed(flow):
            assert root.tag == "speak" and root.get("{http://www.w3.org/XML/1998/namespace}lang") == locale
        [menu] = [s for s in flow["steps"] if s["id"] == "menu"]
        assert menu["options"] == [{"digit": "1", "action": "callback"}, {"digit": "2", "action": "repeat"},
                                   {"digit": "3", "action": "health_check"}, {"digit": "9", "action": "opt_out"}]
        assert all("options" not in s for s in flow["steps"] if s["id"] != "menu")
    # English and Chinese say the digits as words
    en = call(send, make_user, http_provider, locale="en", key="welfare:elderly:en-2")["json"]["flow"]
    assert "press three" in flows.plain(en["steps"][2]["ssml"])


def test_the_health_check_is_offered_from_60_only(send, make_user, http_provider):
    assert digits(call(send, make_user, http_provider, age=59)["json"]["flow"]) == ["1", "2", "9"]
    assert digits(call(send, make_user, http_provider, age=60)["json"]["flow"]) == ["1", "2", "3", "9"]
    # an unknown birth date is not taken for 60 and over
    assert digits(call(send, make_user, http_provider, age=None)["json"]["flow"]) == ["1", "2", "9"]


def test_speech_is_slower_from_65(send, make_user, http_provider):
    younger = call(send, make_user, http_provider, age=64)["json"]["flow"]
    older = call(send, make_user, http_provider, age=65)["json"]["flow"]
    for root in parsed(younger):
        assert root.find("prosody") is None
    for root in parsed(older):
        [prosody] = list(root)
        assert prosody.tag == "prosody" and prosody.get("rate") == "slow"


def test_texts_and_mails_carry_no_flow(send, make_user, http_provider, smtp_server):
    resident = make_user(phone="010-2222-3333", birth_date=born(70))
    send(user=resident, channel="sms", template="welfare.eligible", context=CONTEXT, idempotency_key="sms-1")
    [request] = http_provider.requests
    assert request["json"]["channel"] == "sms"
    assert set(request["json"]) == {"to", "text", "locale", "channel", "reference"}
    send(user=resident, channel="email", template="welfare.eligible", context=CONTEXT, idempotency_key="mail-1")
    [mail] = smtp_server.messages
    assert "<speak" not in mail.as_string() and "prosody" not in mail.as_string()


def test_hostile_programme_names_cannot_break_or_add_ssml(send, make_user, http_provider):
    context = {**CONTEXT, "name": dict.fromkeys(("ko", "en", "zh"), HOSTILE),
               "summary": dict.fromkeys(("ko", "en", "zh"), HOSTILE)}
    for locale in ("ko", "en", "zh"):
        for age in (45, 70):
            flow = call(send, make_user, http_provider, age=age, locale=locale, context=context,
                        key=f"welfare:hostile:{locale}:{age}")["json"]["flow"]
            for step, root in zip(flow["steps"], parsed(flow), strict=True):  # each step parses
                assert {e.tag for e in root.iter()} <= {"speak", "prosody", "s"}, step["ssml"]
            assert flows.plain(flow["steps"][1]["ssml"]).count(HOSTILE) == 2  # read out as words


def test_the_log_provider_logs_the_step_ids_only(send, make_user, notify_log, app):
    app.config["NOTIFY_LOG_INCLUDE_TEXT"] = False
    resident = make_user(phone="010-2222-3333", birth_date=born(70))
    send(user=resident, channel="voice", template="welfare.eligible", context=CONTEXT, idempotency_key="log-1")
    [record] = notify_log.records()
    assert record["flow"] == ["greeting", "programme", "menu", "goodbye"]
    assert "홀몸" not in str(record) and "text" not in record


def test_a_template_without_a_flow_file_has_no_flow(send, make_user, http_provider):
    send(user=make_user(phone="010-2222-3333"), channel="voice", idempotency_key="call-plain")
    [request] = http_provider.requests
    assert "flow" not in request["json"]
