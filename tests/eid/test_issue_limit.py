"""At most EID_CARD_ISSUES_PER_DAY cards in any 24 hours per account, counted in the database."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from portal.eid import service
from portal.eid.errors import CardIssueLimit
from portal.eid.models import Card
from portal.eid.service import cards as cards_module
from portal.extensions import db
from portal.types import utcnow
from tests.concurrency import race
from tests.conftest import requires_postgres
from tests.portal.helpers import retry_after

DAY = 24 * 3600


def cards() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Card.id)))


def issue_and_revoke(client, headers, times: int) -> None:
    for _ in range(times):
        assert client.post("/api/v1/eid/cards", headers=headers).status_code == 201
        assert client.post("/api/v1/eid/cards/me/revoke", headers=headers).status_code == 200


def test_the_fourth_card_of_a_day_is_429_with_retry_after(client, resident, bearer):
    headers = bearer(resident)
    issue_and_revoke(client, headers, 3)
    refused = client.post("/api/v1/eid/cards?lang=en", headers=headers)
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "card_issue_limit"
    assert error["message"].startswith("Too many cards were issued to your account")
    assert error["message"].endswith("You can have a new card issued in 1 day.")
    assert DAY - 60 < retry_after(refused) <= DAY
    assert cards() == 3
    ko = client.post("/api/v1/eid/cards?lang=ko", headers=headers).get_json()["error"]["message"]
    zh = client.post("/api/v1/eid/cards?lang=zh", headers=headers).get_json()["error"]["message"]
    assert "1일 후" in ko and "1天后" in zh


def test_the_window_frees_a_place_when_the_oldest_card_leaves_it(app, resident):
    start = utcnow() - timedelta(hours=30)
    for hours in (0, 10, 20):  # cards at -30 h, -20 h, -10 h: one already outside the window
        service.issue_card(db.session, resident, start + timedelta(hours=hours))
        service.revoke_my_card(db.session, resident, start + timedelta(hours=hours, minutes=1))
    now = start + timedelta(hours=30)
    service.issue_card(db.session, resident, now)  # 3 in the last 24 hours
    service.revoke_my_card(db.session, resident, now)
    with pytest.raises(CardIssueLimit) as refused:
        service.issue_card(db.session, resident, now)
    # the card of -20 h leaves the window in 4 hours
    assert refused.value.retry_after == 4 * 3600
    assert service.issue_card(db.session, resident, now + timedelta(hours=4, seconds=1))


def test_the_limit_is_a_setting(app, client, resident, bearer):
    app.config["EID_CARD_ISSUES_PER_DAY"] = "1"
    headers = bearer(resident)
    issue_and_revoke(client, headers, 1)
    assert client.post("/api/v1/eid/cards", headers=headers).status_code == 429


def test_the_count_is_the_database_s_and_survives_a_restart(app, client, resident, bearer,
                                                           make_app):
    headers = bearer(resident)
    issue_and_revoke(client, headers, 3)
    restarted = make_app(RATELIMIT_STORAGE_URI="memory://").test_client()  # nothing counted in memory
    refused = restarted.post("/api/v1/eid/cards", headers=headers)
    assert refused.status_code == 429 and retry_after(refused) > 0


def test_a_card_already_held_is_a_conflict_before_the_limit(client, resident, bearer):
    headers = bearer(resident)
    issue_and_revoke(client, headers, 2)
    assert client.post("/api/v1/eid/cards", headers=headers).status_code == 201
    assert client.post("/api/v1/eid/cards", headers=headers).status_code == 409


def test_pages_answer_429_and_a_lost_card_is_still_revoked(client, login, resident, card_for,
                                                         staff):
    card_for(resident)
    login(client, resident)
    for _ in range(2):
        assert client.form("/eid/report-lost").status_code == 303
    assert cards() == 3
    # Past the day's cards, reporting a loss still revokes the card; the new card waits.
    answer = client.form("/eid/report-lost?lang=en")
    assert answer.status_code == 429 and DAY - 60 < retry_after(answer) <= DAY
    page = answer.get_data(as_text=True)
    assert "Your card is revoked. You can have a new card issued in 1 day." in page
    assert "Issue my e-ID card" in page
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Card.id)).where(Card.status == "revoked")) == 3
    assert service.live_card(db.session, resident) is None
    answer = client.form("/eid/issue?lang=en")
    assert answer.status_code == 429 and retry_after(answer) > 0
    assert "Too many cards were issued to your account" in answer.get_data(as_text=True)
    assert cards() == 3


def test_staff_actions_are_not_limited(client, resident, bearer, staff):
    headers = bearer(resident)
    issue_and_revoke(client, headers, 2)
    card = client.post("/api/v1/eid/cards", headers=headers).get_json()
    for _ in range(5):
        service.suspend_card(db.session, staff, card["card_id"], "check")
        service.resume_card(db.session, staff, card["card_id"], "checked")
    assert service.live_card(db.session, resident).status == "active"


# -- real concurrent clients (PostgreSQL) ----------------------------------------------------


def _post(url: str, headers: dict) -> int:
    return requests.post(url, headers=headers, timeout=60).status_code


@requires_postgres
def test_parallel_reissues_from_one_account_issue_at_most_the_limit(app, live_server, resident,
                                                                    bearer):
    """10 clients of one account each revoke the card and ask for a new one, 5 times over: of
    the 50 reissues at most the day's 3 cards are issued, the rest are refused (429 past the
    limit, 409 while another client's new card is live)."""
    headers = bearer(resident)
    url = live_server.url + "/api/v1/eid/cards"

    def reissue(_i):
        return [(_post(url + "/me/revoke", headers), _post(url, headers)) for _ in range(5)]

    issued = [issue for run in race(10, reissue) for _revoke, issue in run]
    assert issued.count(201) == 3 and set(issued) <= {201, 409, 429}, issued
    assert 429 in issued
    assert cards() == 3


@requires_postgres
def test_a_slow_count_does_not_let_a_fourth_card_in(app, live_server, resident, bearer,
                                                   monkeypatch):
    """Two cards issued today. Client A asks for a card and its count (2: allowed) is slow;
    meanwhile client B asks for a card, revokes the live one and asks again. Were B not kept
    waiting, it would get the third card and A, waking up, the fourth. The lock on the account
    makes B wait for A: B finds A's card (409), revokes it, and is refused a fourth (429)."""
    service.issue_card(db.session, resident)
    service.report_lost(db.session, resident)
    service.revoke_my_card(db.session, resident)
    real, first = cards_module.issue_wait, threading.Event()

    def slow_first_count(*args):
        wait = real(*args)
        if not first.is_set():
            first.set()
            time.sleep(1.0)
        return wait

    monkeypatch.setattr(cards_module, "issue_wait", slow_first_count)
    headers = bearer(resident)
    url = live_server.url + "/api/v1/eid/cards"

    def client(i):
        if i == 0:
            return [_post(url, headers)]
        first.wait(10)
        return [_post(url, headers), _post(url + "/me/revoke", headers), _post(url, headers)]

    a, b = race(2, client)
    assert (a, b) == ([201], [409, 200, 429])
    assert cards() == 3


@requires_postgres
def test_parallel_lost_card_reports_on_the_page(app, live_server, client, login, resident,
                                               card_for):
    """10 browsers of one account press "Report lost and reissue" at once: the first two each
    revoke and reissue, the third revokes and is told to wait (429), the rest find no card."""
    card_for(resident)
    login(client, resident)
    cookies = {"session": client.get_cookie("session").value}
    page = requests.get(live_server.url + "/eid/", cookies=cookies, timeout=30)
    cookies = {**cookies, **page.cookies.get_dict()}
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)

    def press(_i):
        return requests.post(live_server.url + "/eid/report-lost", data={"csrf_token": token},
                             cookies=cookies, allow_redirects=False, timeout=60).status_code

    answers = race(10, press)
    assert sorted(answers) == [303] * 9 + [429], answers
    assert cards() == 3
    db.session.expire_all()
    assert service.live_card(db.session, resident) is None
