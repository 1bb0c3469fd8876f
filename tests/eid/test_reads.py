"""A GET never writes: every e-ID page and API read, for every kind of visitor, in the states
that used to tempt a read to write (no signing key yet, a card past its validity)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, event, func, select, update

from portal.eid import keys, service
from portal.eid.models import Card, SigningKey
from portal.extensions import db
from portal.types import utcnow

# Every GET route of the e-ID blueprints, with the URL it is read at (a new GET route fails
# ``test_every_read_is_listed`` until it is added here).
READS = {
    "eid.card": "/eid/",
    "eid.access_log": "/eid/access-log",
    "eid.staff_cards": "/eid/staff/cards?q={card_id}",
    "eid.staff_facilities": "/eid/staff/facilities",
    "eid.staff_facility": "/eid/staff/facilities/{code}",
    "eid_api.my_card": "/api/v1/eid/cards/me",
    "eid_api.access_log": "/api/v1/eid/access-log",
    "eid_api.facilities": "/api/v1/eid/facilities",
    "eid_api.keys": "/api/v1/eid/keys",
    "eid_api.status": "/api/v1/eid/status",
    "eid_api.status_list": "/api/v1/eid/status-list",
}


@pytest.fixture
def writes(app):
    """The INSERT, UPDATE and DELETE statements sent while the test runs."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_every_read_is_listed(app):
    gets = {rule.endpoint for rule in app.url_map.iter_rules()
            if rule.endpoint.split(".")[0] in ("eid", "eid_api") and "GET" in rule.methods
            and not rule.endpoint.endswith("static")}
    assert gets == set(READS)


def read_everything(app, login, people, card_id, code) -> dict:
    answers = {}
    for who, person in people.items():
        client = app.test_client()
        if person is not None:
            login(client, person)
        for endpoint, url in READS.items():
            answers[who, endpoint] = client.get(url.format(card_id=card_id, code=code)).status_code
    return answers


def test_no_read_writes_before_the_first_key_or_after_a_card_expired(app, login, make_user, staff,
                                                                     make_gate, card_for, writes):
    _gate, facility = make_gate()
    holder, lapsed = make_user(), make_user()
    card_id = card_for(holder)["card_id"]
    card_for(lapsed)
    # A card past its validity that no task marked expired yet; no signing key at all (as
    # before the first card of a portal that existed before keys were made on writes).
    db.session.execute(update(Card).where(Card.user_id == lapsed.id)
                       .values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.execute(delete(SigningKey))
    db.session.commit()
    keys.clear_cache()
    people = {"anonymous": None, "holder": holder, "lapsed": lapsed, "staff": staff,
              "unverified": make_user(verified=False)}
    writes.clear()

    answers = read_everything(app, login, people, card_id, facility.code)
    assert writes == []
    assert db.session.scalar(select(func.count(SigningKey.id))) == 0
    assert answers["holder", "eid.card"] == 503  # the card page says why there is no code
    assert answers["lapsed", "eid.card"] == answers["staff", "eid.card"] == 200
    assert answers["lapsed", "eid_api.my_card"] == 200
    assert db.session.scalar(select(Card.status).where(Card.user_id == lapsed.id)) == "active"

    # Once a key exists the holder's page shows the code, and still writes nothing.
    assert app.test_cli_runner().invoke(args=["eid", "ensure-key"]).exit_code == 0
    writes.clear()
    answers = read_everything(app, login, people, card_id, facility.code)
    assert writes == []
    assert answers["holder", "eid.card"] == 200
    assert {a for (who, _e), a in answers.items() if who != "anonymous"} <= {200, 403, 404}


def test_the_card_page_explains_a_missing_key(app, client, login, resident, card_for, csrf_headers):
    card_for(resident)
    db.session.execute(delete(SigningKey))
    db.session.commit()
    keys.clear_cache()
    page = client.get("/eid/?lang=en")
    assert page.status_code == 503
    assert "the city has not set up its signing key" in page.get_data(as_text=True)
    token = client.post("/api/v1/eid/cards/me/token", headers=csrf_headers(client))
    assert token.status_code == 503
    assert token.get_json()["error"]["code"] == "signing_key_missing"


def test_the_first_card_issued_makes_the_key(app, resident, card_for, token_for):
    assert db.session.scalar(select(func.count(SigningKey.id))) == 0
    card_for(resident)
    assert db.session.scalar(select(func.count(SigningKey.id))) == 1
    assert token_for(resident)


def test_ensure_key_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["eid", "ensure-key"])
    second = runner.invoke(args=["eid", "ensure-key"])
    assert first.output.startswith("New signing key")
    assert second.output == first.output.replace("New", "Existing")
    assert db.session.scalar(select(func.count(SigningKey.id))) == 1


def test_demo_seeding_makes_the_key(app):
    from portal.eid import demo

    demo.seed(db.session)
    demo.seed(db.session)
    assert db.session.scalar(select(func.count(SigningKey.id))) == 1
    assert service.jwks(db.session)["keys"]
