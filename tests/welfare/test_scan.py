"""The scan: one notice (and one message) per (resident, programme), never twice, even concurrently."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import requests
import sqlalchemy as sa

from portal.extensions import db
from portal.notify.models import Message
from tests.conftest import requires_postgres
from welfare import service
from welfare.models import Notice, WelfareProfile

from .conftest import TODAY

CHILD_RULE = {"all": [{"has_children_under": 7}, {"median_income_pct": {"max": 80}}]}


def notices():
    return sorted(db.session.execute(sa.select(Notice.programme_id, Notice.user_id)).all())


def welfare_messages():
    return db.session.scalars(sa.select(Message).where(Message.idempotency_key.like("welfare:%"))).all()


@pytest.fixture
def town(make_user, make_profile, make_programme):
    """Two programmes; residents who qualify, and residents who must not hear from us."""
    elderly = make_programme("elderly", channels=["voice", "app"])
    child = make_programme("child-care", rules=CHILD_RULE, channels=[])
    grandma = make_user(email="grandma@test.kr", phone="010-1234-5678")  # a call needs a number
    make_profile(grandma, birth_date=date(1951, 2, 3), median_income_pct=38)
    parent = make_user(email="parent@test.kr")
    make_profile(parent, birth_date=date(1990, 1, 1), lives_alone=False, household_size=3,
                 youngest_child_birth_date=date(2023, 3, 1), median_income_pct=60)
    # qualifies for both
    both = make_user(email="both@test.kr")
    make_profile(both, birth_date=date(1950, 6, 1), median_income_pct=20,
                 youngest_child_birth_date=date(2021, 1, 1))
    # would qualify, but: not verified / opted out / too young / other district
    make_profile(make_user(email="unverified@test.kr", verified=False), birth_date=date(1950, 1, 1))
    make_profile(make_user(email="optout@test.kr"), notices_opt_out=True)
    make_profile(make_user(email="young@test.kr"), birth_date=date(1962, 11, 24))  # 63 on TODAY
    make_profile(make_user(email="gangnam@test.kr"), district="강남구")
    # a programme that has ended sends nothing
    make_programme("ended", rules={"age": {"min": 0}}, active_until=date(2026, 1, 1))
    return {"elderly": elderly, "child": child, "grandma": grandma, "parent": parent, "both": both}


def test_scan_queues_one_notice_per_resident_and_programme(app, town):
    result = service.scan(db.session, today=TODAY)
    e, c = town["elderly"].id, town["child"].id
    expected = sorted([(e, town["grandma"].id), (e, town["both"].id),
                       (c, town["parent"].id), (c, town["both"].id)])
    assert notices() == expected
    assert result.new_notices == 4
    assert result.by_programme == {"elderly": 2, "child-care": 2}
    msgs = welfare_messages()
    assert sorted(m.idempotency_key for m in msgs) == sorted([
        f"welfare:elderly:{town['grandma'].id}", f"welfare:elderly:{town['both'].id}",
        f"welfare:child-care:{town['parent'].id}", f"welfare:child-care:{town['both'].id}"])
    by_key = {m.idempotency_key: m for m in msgs}
    # the programme's first channel is used; the notice carries no personal facts
    voice = by_key[f"welfare:elderly:{town['grandma'].id}"]
    assert voice.channel == "voice" and voice.template == "welfare.eligible"
    assert voice.user_id == town["grandma"].id
    assert set(voice.context) == {"programme_code", "name", "summary", "how_to_apply", "callback_phone",
                                  "fallback"}


def test_scan_twice_queues_nothing_new(app, town):
    first = service.scan(db.session, today=TODAY)
    second = service.scan(db.session, today=TODAY, batch_size=1)
    assert first.new_notices == 4
    assert second.new_notices == 0 and second.queued_messages == 0
    assert len(notices()) == 4
    assert len(welfare_messages()) == 4


def test_newly_eligible_resident_is_told_on_the_next_scan(app, town, make_user, make_profile):
    service.scan(db.session, today=TODAY)
    newcomer = make_user(email="newcomer@test.kr")
    make_profile(newcomer, birth_date=date(1940, 1, 1))
    result = service.scan(db.session, today=TODAY)
    assert result.new_notices == 1
    assert (town["elderly"].id, newcomer.id) in notices()


def test_small_batches_find_the_same_residents(app, town):
    result = service.scan(db.session, today=TODAY, batch_size=2)
    assert result.new_notices == 4
    assert result.batches > 2


def test_birthday_makes_a_resident_eligible(app, town):
    young = db.session.scalar(sa.select(WelfareProfile).join(WelfareProfile.user)
                              .where(sa.text("\"user\".email = 'young@test.kr'")))
    service.scan(db.session, today=TODAY)
    assert all(uid != young.user_id for _p, uid in notices())
    service.scan(db.session, today=date(2027, 11, 24))  # 65th birthday
    assert (town["elderly"].id, young.user_id) in notices()


def test_scan_cli_reports_counts(app, town):
    from flask_babel import force_locale

    with force_locale("en"):
        result = app.test_cli_runner().invoke(args=["welfare", "scan", "--date", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "4 new notices" in result.output
    assert len(notices()) == 4


def test_scan_api_for_officers_only(app, town, client, login, make_user, officer):
    anonymous = client.post("/api/v1/welfare/scans", json={}, headers={"X-CSRFToken": client.csrf_token()})
    assert anonymous.status_code == 401
    resident = make_user(email="someone@test.kr")
    login(client, resident)
    response = client.post("/api/v1/welfare/scans", json={}, headers={"X-CSRFToken": client.csrf_token()})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert notices() == []
    login(client, officer)
    response = client.post("/api/v1/welfare/scans", json={"date": TODAY.isoformat()},
                           headers={"X-CSRFToken": client.csrf_token()})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["new_notices"] == 4 and body["by_programme"] == {"elderly": 2, "child-care": 2}


def test_async_scan_is_accepted(app, town, officer, bearer):
    client = app.test_client()
    response = client.post("/api/v1/welfare/scans", json={"async": True}, headers=bearer(officer))
    assert response.status_code == 202
    assert response.get_json()["status"] == "queued"


@requires_postgres
def test_concurrent_scans_queue_no_duplicate(app, town, make_app, bulk_residents):
    """Four scans at once, each in its own thread and session: each notice exactly once."""
    ids = bulk_residents(120, prefix="crowd")
    db.session.add_all([WelfareProfile(user_id=uid, birth_date=date(1945, 1, 1), median_income_pct=10,
                                       lives_alone=True, household_size=1, district="성동구",
                                       source="import") for uid in ids])
    db.session.commit()
    barrier = threading.Barrier(4)
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                barrier.wait()
                results.append(service.scan(db.session, today=TODAY, batch_size=25).new_notices)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    expected = 4 + len(ids)  # the town's four, plus every one of the crowd for "elderly"
    assert sum(results) == expected
    assert len(notices()) == expected
    assert len(set(notices())) == expected
    keys = [m.idempotency_key for m in welfare_messages()]
    assert len(keys) == len(set(keys)) == expected


@requires_postgres
def test_concurrent_scans_over_http(app, town, live_server, officer, bearer):
    """Officers pressing the scan button at the same time through the real HTTP server."""
    headers = bearer(officer)
    barrier = threading.Barrier(3)
    statuses, counts = [], []

    def run():
        barrier.wait()
        r = requests.post(live_server.url + "/api/v1/welfare/scans", json={"date": TODAY.isoformat()},
                          headers=headers, timeout=60)
        statuses.append(r.status_code)
        counts.append(r.json().get("new_notices"))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [201, 201, 201]
    assert sum(counts) == 4
    db.session.expire_all()
    assert len(notices()) == 4
    assert len(welfare_messages()) == 4


def test_reach_counts_notices_per_programme(app, make_programme, make_user, make_profile, officer, bearer):
    make_programme("elderly")
    make_programme("nobody", rules={"age": {"max": 1}})
    make_profile(make_user())
    make_profile(make_user())
    service.scan(db.session, today=TODAY)
    items = app.test_client().get("/api/v1/welfare/reach", headers=bearer(officer)).get_json()["items"]
    counts = {i["programme"]: (i["notices"], i["delivered"]) for i in items}
    # tests deliver eagerly: both inbox notices are delivered by the time the scan returns
    assert counts == {"elderly": (2, 2), "nobody": (0, 0)}
