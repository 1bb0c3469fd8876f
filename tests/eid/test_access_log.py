"""A resident's own access log: where and when their card was used
(``portal/eid/service/access_log.py``)."""

from __future__ import annotations


def test_holder_sees_own_access_log(client, login, make_user, resident, card_for, token_for,
                                    make_gate, verify):
    card_for(resident)
    key, facility = make_gate()
    token = token_for(resident)
    verify(key, token)
    verify(key, token)
    log = client.get("/api/v1/eid/access-log?lang=en").get_json()
    assert [(i["facility"], i["decision"], i["reason"]) for i in log["items"]] == [
        (facility.code, "denied", "replayed"), (facility.code, "granted", "ok")]
    assert log["items"][0]["facility_name"] == "Seongdong Library"
    page = client.get("/eid/access-log").get_data(as_text=True)
    assert "성동구립도서관" in page

    other = make_user()
    login(client, other)
    assert client.get("/api/v1/eid/access-log").get_json()["items"] == []


def test_access_log_says_when_in_the_visitors_language_without_seconds(
        client, login, resident, card_for, token_for, make_gate, verify):
    """The time of an entry reads as CLDR has it in each language, in the city's time zone and
    saying so, to the minute (it was Flask-Babel's medium format: "PM 3:07:09" on a Korean page)."""
    from datetime import UTC, datetime

    from portal.eid.models import AccessEntry
    from portal.extensions import db

    card_for(resident)
    key, _ = make_gate()
    verify(key, token_for(resident))
    entry = db.session.query(AccessEntry).one()
    entry.at = datetime(2026, 3, 5, 6, 7, 9, tzinfo=UTC)  # 15:07:09 in Seoul
    db.session.commit()
    login(client, resident)
    shown = {lang: client.get(f"/eid/access-log?lang={lang}").get_data(as_text=True) for lang in ("ko", "en", "zh")}
    assert "2026년 3월 5일 오후 3:07 대한민국 시간" in shown["ko"]
    assert "Mar 5, 2026, 3:07\u202fPM Korean Time" in shown["en"]  # CLDR's narrow space
    assert "2026年3月5日 韩国时间 15:07" in shown["zh"]
    for page in shown.values():
        assert "3:07:09" not in page and "15:07:09" not in page


def test_access_log_reason_is_punctuated_in_the_page_language(client, login, resident, card_for, token_for,
                                                              make_gate, verify):
    """A refusal and its reason: "Denied: ..." in English, a full-width colon in Chinese (the colon was
    outside the msgid, so zh read "拒绝: ...")."""
    import re

    card_for(resident)
    key, _ = make_gate()
    token = token_for(resident)
    verify(key, token)
    verify(key, token)  # the same code twice: refused as replayed
    login(client, resident)
    cells = {}
    for lang in ("en", "zh"):
        html = client.get(f"/eid/access-log?lang={lang}").get_data(as_text=True)
        cells[lang] = [" ".join(re.sub(r"<[^>]+>", " ", c).split())
                       for c in re.findall(r"<td>(.*?)</td>", html, flags=re.S)]
    assert any(re.fullmatch(r"Denied: \S.*", c) for c in cells["en"]), cells["en"]
    assert any(re.fullmatch(r"\S+：\S.*", c) for c in cells["zh"]), cells["zh"]
    assert not any(re.search(r":\s", c) for c in cells["zh"]), cells["zh"]
