"""Dates and times read as each language writes them (CLDR), without seconds, and a deadline
or start time says whose clock it is (issue 13, finding 10)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.i18n import format_date, format_datetime, format_datetime_tz, format_time, in_time
from proposals import service
from tests.proposals.helpers import BODY

# 2026-11-13 08:12:02 in Seoul
MOMENT = datetime(2026, 11, 12, 23, 12, 2, tzinfo=UTC)

EXPECTED = {
    # (medium, short, with the time zone); CLDR puts a narrow no-break space before "AM"
    "ko": ("2026년 11월 13일 (금) 오전 8:12", "2026년 11월 13일 오전 8:12",
           "2026년 11월 13일 (금) 오전 8:12 대한민국 시간"),
    "en": ("Fri, Nov 13, 2026, 8:12\u202fAM", "Nov 13, 2026, 8:12\u202fAM",
           "Fri, Nov 13, 2026, 8:12\u202fAM Korean Time"),
    "zh": ("2026年11月13日周五 08:12", "2026年11月13日 08:12", "2026年11月13日周五 韩国时间 08:12"),
}


@pytest.mark.parametrize("lang", sorted(EXPECTED))
def test_a_moment_reads_as_the_language_writes_it(app, lang):
    medium, short, with_zone = EXPECTED[lang]
    with app.test_request_context(f"/?lang={lang}"):
        assert format_datetime(MOMENT) == medium
        assert format_datetime(MOMENT, "short") == short
        assert format_datetime_tz(MOMENT) == with_zone
        # the templates' filters are the same functions
        env = app.jinja_env
        assert env.from_string("{{ t|datetimeformat('medium') }}").render(t=MOMENT) == medium
        assert env.from_string("{{ t|datetimeformat('short') }}").render(t=MOMENT) == short
        assert env.from_string("{{ t|datetime_tz }}").render(t=MOMENT) == with_zone
        assert env.from_string("{{ format_datetime(t, 'medium') }}").render(t=MOMENT) == medium


def test_no_seconds_no_latin_day_period_no_two_digit_year_in_korean(app):
    with app.test_request_context("/?lang=ko"):
        for text in (format_datetime(MOMENT, f) for f in ("short", "medium", "long", "full")):
            assert "AM" not in text and "PM" not in text, text
            assert ":02" not in text and "2초" not in text, text
            assert text.startswith("2026년"), text  # never "26. 11. 13."
        assert format_time(MOMENT) == "오전 8:12"
        assert format_date(MOMENT) == "2026년 11월 13일"
        assert format_date(MOMENT, "full") == "2026년 11월 13일 (금)"


@pytest.mark.parametrize(("lang", "words"), [("ko", "5분 후"), ("en", "in 5 minutes"), ("zh", "5分钟后")])
def test_a_wait_in_words(app, lang, words):
    with app.test_request_context(f"/?lang={lang}"):
        assert in_time(300) == words
        assert in_time(250) == in_time(300)  # 4 minutes and 10 seconds: said as 5, never as 4


def test_a_wait_is_rounded_up_to_the_unit_it_is_said_in(app):
    with app.test_request_context("/?lang=en"):
        assert in_time(3599) == "in 1 hour"
        assert in_time(3601) == "in 1 hour"  # a rate limit's reset is a whole second late
        assert in_time(3 * 3600 + 1200) == "in 4 hours"
        assert in_time(45) == "in 45 seconds"


@pytest.mark.parametrize(("lang", "zone", "day_period"), [("ko", "대한민국 시간", "오전|오후"),
                                                         ("en", "Korean Time", "AM|PM"),
                                                         ("zh", "韩国时间", None)])
def test_a_proposal_page_shows_dates_and_its_deadline_with_the_zone(client, make_user, lang, zone, day_period):
    author = make_user(name="김민지")
    proposal = service.create_proposal(db.session, author, {"title": "초등학교 앞 안전한 통학로", "body": BODY,
                                                            "category": "safety"})
    html = client.get(f"/proposals/{proposal.id}?lang={lang}").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", html)
    # the deadline to endorse carries the zone; no time on the page has seconds
    with client.application.test_request_context(f"/?lang={lang}"):
        deadline = format_datetime_tz(proposal.endorse_until)
    assert zone in deadline and deadline in text
    assert not re.search(r"\d:\d{2}:\d{2}", text), "a time with seconds"
    if lang == "ko":
        assert not re.search(r"\bAM\b|\bPM\b", text)
        assert not re.search(r"\b\d{2}\. \d{1,2}\. \d{1,2}\.", text), "a two-digit year in the history"
    if day_period:
        assert re.search(day_period, text)
