"""Officers read a programme's call on its page (issue 16, part 1): each step's words in ko, en
and zh, without SSML tags, and the menu, for a resident under 60 and one of 70; a welfare
notice carries the description's first sentence, which the call says."""

from __future__ import annotations

import html
import re

from portal.extensions import db
from welfare.service.scan import _notice_context, first_sentence

HOSTILE = '<break time="10s"/> & "x"'


def call_section(page: str) -> str:
    match = re.search(r'<section class="stack" id="call">(.*?)</section>', page, re.S)
    assert match, "no call section on the programme page"
    return match.group(1)


def test_the_programme_page_shows_the_call(app, client, login, officer, make_programme):
    make_programme("elderly", description={"ko": "혼자 사시는 어르신을 돌봐 드립니다. 주 2회 방문합니다.",
                                           "en": "Visits for seniors who live alone. Twice a week.",
                                           "zh": "为独居老人提供探访。每周两次。"})
    login(client, officer)
    section = call_section(client.get("/welfare/officer/programmes/elderly?lang=en").get_data(as_text=True))
    text = html.unescape(section)
    # each language's words, tags stripped: greeting with the city, the programme, its one sentence
    for words in ("Hello. This is a welfare call from Seongdong-gu Office.", "안녕하세요. 성동구청 복지 안내 전화입니다.",
                  "您好。这里是城东区政府的福利通知电话。", "It is called Care for seniors living alone.",
                  "Visits for seniors who live alone.", "혼자 사시는 어르신을 돌봐 드립니다.", "为独居老人提供探访。"):
        assert words in text, words
    assert "Twice a week" not in text and "每周两次" not in text  # one sentence only
    assert "<s>" not in section and "&lt;s&gt;" not in section and "<speak" not in text and "prosody" not in text
    # two sample residents, three languages each; the health check only for the one of 70
    assert "A resident aged 45" in text and "A resident aged 70" in text
    assert text.count("press three") == 1 and text.count("3번을") == 1 and text.count("请按三") == 1
    assert text.count("press nine") == 2
    assert text.count("3: Book a cognitive health check at the public health centre") == 3
    assert text.count("(spoken slowly)") == 3 * 4  # the 70-year-old's four steps, in each language


def test_a_hostile_programme_name_is_shown_as_words(app, client, login, officer, make_programme):
    make_programme("elderly", name=dict.fromkeys(("ko", "en", "zh"), HOSTILE))
    login(client, officer)
    page = client.get("/welfare/officer/programmes/elderly?lang=ko").get_data(as_text=True)
    section = call_section(page)
    assert "<break" not in section
    assert html.unescape(section).count(HOSTILE) == 2 * 3  # both residents, each language


def test_a_notice_carries_the_first_sentence_of_the_description(app, make_programme):
    prog = make_programme("elderly", description={"ko": "첫 문장입니다. 둘째 문장.", "en": "  First one!  Second.",
                                                  "zh": "第一句。第二句。", "xx": ""})
    assert _notice_context(prog)["summary"] == {"ko": "첫 문장입니다.", "en": "First one!", "zh": "第一句。"}
    assert first_sentence("No end") == "No end" and first_sentence(None) == ""
    db.session.rollback()
