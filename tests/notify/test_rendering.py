"""Rendering: each recipient's language, and the call script for voice."""

from __future__ import annotations


def test_the_notice_renders_in_the_recipients_language(send, make_user, notify_log):
    texts = {}
    for locale in ("ko", "en", "zh"):
        user = make_user(phone="010-5555-6666", locale=locale)
        send(user=user, channel="sms", idempotency_key=f"lang-{locale}", context={"reference": "R-42"})
    for record in notify_log.records():
        texts[record["locale"]] = (record["subject"], record["text"])
    assert texts["en"][0] == "Test message from the city portal"
    assert texts["ko"][0] == "시민 포털 테스트 메시지"
    assert texts["zh"][0] == "市民门户测试消息"
    assert "참조 번호: R-42" in texts["ko"][1]
    assert "参考编号：R-42" in texts["zh"][1]
    assert "Reference: R-42" in texts["en"][1]


def test_voice_sends_the_call_script_not_the_written_text(send, make_user, notify_log):
    send(user=make_user(phone="010-7777-8888", locale="ko"), channel="voice", idempotency_key="call-1")
    text = notify_log.records()[0]["text"]
    assert text.startswith("안녕하세요. 시민 포털입니다.") and "테스트 전화" in text
    assert "참조 번호" not in text
