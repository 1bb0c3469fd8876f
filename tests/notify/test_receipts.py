"""Provider events (issue 16, part 2): a notice an HTTP provider accepted is ``sent``, and only
a signed receipt makes it ``delivered``.

Real HTTP all the way: the notice goes to a recording provider over HTTP (its 2xx leaves it
``sent``), and the provider's events come back through the Flask test client to
``POST /api/v1/notify/providers/<channel>/events``, signed as Stripe signs its webhooks.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.notify import service
from portal.notify.models import Message, ProviderEvent
from portal.notify.service import receipts

SECRETS = {"voice": "voice-provider-secret", "sms": "sms-provider-secret"}


@pytest.fixture
def providers(app, http_provider):
    """SMS and voice over the recording HTTP provider, each with its events' secret, at any hour
    (quiet hours are another test's subject)."""
    app.config.update(VOICE_PROVIDER_SECRET=SECRETS["voice"], SMS_PROVIDER_SECRET=SECRETS["sms"],
                      NOTIFY_QUIET_START="off", NOTIFY_QUIET_END="off")
    return http_provider


@pytest.fixture
def notice(providers, send, make_user):
    """notice(channel="voice") -> a notice the provider accepted (2xx), reloaded."""
    made = []

    def make(channel: str = "voice") -> Message:
        user = make_user(phone="010-1234-5678")
        message = send(user=user, channel=channel, idempotency_key=f"welfare:test:{channel}:{len(made)}")
        made.append(message)
        return reload(message)

    return make


def reload(message: Message) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message.id)


def post_event(client, channel: str, body, *, secret: str | None = None, timestamp: int | None = None,
               signed_body: bytes | None = None, headers: dict | None = None):
    """POST a provider event as the provider would: the raw body signed with ``secret`` (the
    channel's by default) at ``timestamp`` (now); ``signed_body``: sign this instead (tampering);
    ``headers``: these instead of the signature headers."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    signature = receipts.sign(secret or SECRETS.get(channel, "x"), ts,
                              raw if signed_body is None else signed_body)
    if headers is None:
        headers = {"X-Provider-Timestamp": str(ts), "X-Provider-Signature": signature}
    return client.post(f"/api/v1/notify/providers/{channel}/events", data=raw,
                       content_type="application/json", headers=headers)


def event(message: Message, name: str, *, at: datetime | None = None, digits: str | None = None) -> dict:
    body = {"reference": message.reference, "event": name,
            "at": (at or datetime.now(UTC)).isoformat()}
    if digits is not None:
        body["digits"] = digits
    return body


def events_of(message: Message) -> list[tuple[str, str]]:
    return [(e.event, e.digits) for e in db.session.scalars(
        select(ProviderEvent).where(ProviderEvent.message_id == message.id).order_by(ProviderEvent.id))]


# -- the hand-over ---------------------------------------------------------------------------

def test_a_providers_2xx_leaves_the_notice_sent_not_delivered(notice, providers):
    message = notice("voice")
    assert message.status == "sent"
    assert message.delivered_at is None
    # the reference its events name is the one the provider was handed
    assert [r.key for r in providers.received] == [message.reference]
    assert service.delivery_state(db.session, message.idempotency_key) == "sent"
    assert service.queue_stats(db.session)["totals"]["sent"] == 1


def test_channels_that_report_nothing_are_delivered_on_hand_over(app, send, make_user, notify_log):
    # the inbox and the development providers: what they accepted is delivered, as before
    app.config.update(NOTIFY_QUIET_START="off", NOTIFY_QUIET_END="off")
    user = make_user(phone="010-2222-3333")
    for channel in ("app", "sms"):
        message = send(user=user, channel=channel, idempotency_key=f"k:{channel}")
        assert reload(message).status == "delivered", channel
        assert reload(message).reference is None


# -- receipts --------------------------------------------------------------------------------

def test_a_signed_answer_delivers_the_call(client, notice):
    message = notice("voice")
    resp = post_event(client, "voice", event(message, "answered"))
    assert resp.status_code == 204
    assert resp.data == b""
    message = reload(message)
    assert message.status == "delivered"
    assert message.delivered_at is not None
    assert events_of(message) == [("answered", "")]
    assert service.delivery_state(db.session, message.idempotency_key) == "sent"


def test_a_signed_delivery_receipt_delivers_the_text(client, notice):
    message = notice("sms")
    assert post_event(client, "sms", event(message, "delivered")).status_code == 204
    assert reload(message).status == "delivered"


def test_a_receipt_of_another_channel_is_stored_but_proves_nothing(client, notice):
    # a call is delivered when answered; "delivered" of a call is not its receipt
    message = notice("voice")
    assert post_event(client, "voice", event(message, "delivered")).status_code == 204
    assert reload(message).status == "sent"


def test_undeliverable_fails_for_good_and_a_later_receipt_changes_nothing(client, notice):
    message = notice("sms")
    assert post_event(client, "sms", event(message, "undeliverable")).status_code == 204
    message = reload(message)
    assert (message.status, message.last_error) == ("permanent_failure", "undeliverable")
    assert post_event(client, "sms", event(message, "delivered")).status_code == 204
    message = reload(message)
    assert (message.status, message.last_error, message.delivered_at) == \
        ("permanent_failure", "undeliverable", None)


def test_an_answer_after_delivery_changes_nothing(client, notice):
    message = notice("voice")
    assert post_event(client, "voice", event(message, "answered")).status_code == 204
    delivered = reload(message)
    stamped = delivered.delivered_at
    assert post_event(client, "voice", event(message, "no_answer")).status_code == 204
    message = reload(message)
    assert (message.status, message.delivered_at, message.last_error) == ("delivered", stamped, None)


def test_no_answer_is_retried_like_a_temporary_failure(app, client, notice, providers):
    message = notice("voice")
    assert message.attempts == 1
    before = datetime.now(UTC)
    assert post_event(client, "voice", event(message, "no_answer")).status_code == 204
    message = reload(message)
    assert (message.status, message.last_error) == ("temporary_failure", "no_answer")
    assert message.next_attempt_at > before  # the backoff, as for a provider's 5xx
    # its retry goes out when due, to the same provider under the same reference
    with service.fresh_session() as session:
        service.deliver_batch(session, "voice", [message.id], now=message.next_attempt_at)
    message = reload(message)
    assert (message.status, message.attempts) == ("sent", 2)
    assert [r.key for r in providers.received] == [message.reference] * 2
    assert post_event(client, "voice", event(message, "answered")).status_code == 204
    assert reload(message).status == "delivered"


@pytest.mark.parametrize("name", ["busy", "failed"])
def test_busy_and_failed_are_retried_until_the_attempts_are_spent(app, client, notice, name):
    app.config["NOTIFY_MAX_ATTEMPTS"] = 1
    message = notice("voice")
    assert post_event(client, "voice", event(message, name)).status_code == 204
    message = reload(message)
    assert (message.status, message.last_error) == ("permanent_failure", name)


def test_a_keypress_is_stored_with_its_digits_and_nothing_else(client, notice):
    message = notice("voice")
    assert post_event(client, "voice", event(message, "keypress", digits="3")).status_code == 204
    message = reload(message)
    assert message.status == "sent"
    assert events_of(message) == [("keypress", "3")]


def test_the_same_event_twice_has_one_effect(client, notice):
    message = notice("voice")
    body = event(message, "no_answer")
    assert post_event(client, "voice", body).status_code == 204
    first = reload(message)
    after_first = (first.status, first.attempts, first.next_attempt_at, first.updated_at)
    assert post_event(client, "voice", body).status_code == 204
    again = reload(message)
    assert (again.status, again.attempts, again.next_attempt_at, again.updated_at) == after_first
    assert events_of(message) == [("no_answer", "")]
    # the same moment written another way is the same event
    same = {**body, "at": datetime.fromisoformat(body["at"]).astimezone(timezone(timedelta(hours=9))).isoformat()}
    assert post_event(client, "voice", same).status_code == 204
    assert events_of(message) == [("no_answer", "")]


# -- refusals ----------------------------------------------------------------------------------

def _refusals():
    now = int(time.time())
    return {
        "wrong secret": {"secret": "not-the-providers-secret"},
        "tampered body": {"signed_body": b'{"reference": "x", "event": "answered"}'},
        "six minutes old": {"timestamp": now - 360},
        "six minutes ahead": {"timestamp": now + 360},
        "no headers": {"headers": {}},
        "no signature": {"headers": {"X-Provider-Timestamp": str(now)}},
        "no timestamp": {"headers": {"X-Provider-Signature": "sha256=" + "0" * 64}},
        "timestamp not a number": {"timestamp": "soon"},
    }


@pytest.mark.parametrize("case", list(_refusals()))
def test_an_event_not_signed_right_is_401_and_changes_nothing(client, notice, case):
    message = notice("voice")
    kwargs = _refusals()[case]
    if kwargs.get("timestamp") == "soon":
        raw = json.dumps(event(message, "answered")).encode()
        resp = post_event(client, "voice", raw, headers={
            "X-Provider-Timestamp": "soon", "X-Provider-Signature": receipts.sign(SECRETS["voice"], "soon", raw)})
    else:
        resp = post_event(client, "voice", event(message, "answered"), **kwargs)
    assert resp.status_code == 401, resp.get_json()
    assert resp.get_json()["error"]["code"] == "bad_signature"
    message = reload(message)
    assert message.status == "sent"
    assert events_of(message) == []


def test_a_timestamp_within_five_minutes_is_accepted(client, notice):
    message = notice("voice")
    resp = post_event(client, "voice", event(message, "answered"), timestamp=int(time.time()) - 290)
    assert resp.status_code == 204


def test_without_a_secret_every_event_of_the_channel_is_refused(app, client, notice):
    message = notice("voice")
    app.config["VOICE_PROVIDER_SECRET"] = ""
    resp = post_event(client, "voice", event(message, "answered"), secret="")
    assert resp.status_code == 401
    assert reload(message).status == "sent"


def test_an_unknown_reference_or_channel_is_404(client, notice):
    message = notice("voice")
    resp = post_event(client, "voice", {**event(message, "answered"), "reference": "0" * 32})
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (404, "unknown_reference")
    # a reference of another channel's notice is not this channel's
    text = notice("sms")
    resp = post_event(client, "voice", event(text, "answered"))
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (404, "unknown_reference")
    for channel in ("fax", "app"):
        resp = post_event(client, channel, event(message, "answered"))
        assert (resp.status_code, resp.get_json()["error"]["code"]) == (404, "unknown_channel")
    assert reload(message).status == "sent"
    assert reload(text).status == "sent"


@pytest.mark.parametrize("change", [
    {"event": "picked_up"},
    {"at": "2026-12-02T10:00:00"},         # no time zone
    {"at": "yesterday"},
    {"reference": ""},
    {"digits": "12a"},
    {"extra": 1},
    {"event": None},
])
def test_a_body_that_is_not_the_contract_is_422(client, notice, change):
    message = notice("voice")
    body = {k: v for k, v in {**event(message, "answered"), **change}.items() if v is not None}
    resp = post_event(client, "voice", body)
    assert resp.status_code == 422, resp.get_json()
    assert reload(message).status == "sent"


def test_no_session_and_no_csrf_token_are_needed(app, notice, make_user, login):
    # a provider has neither; and a browser's session cookie beside a signed event asks for no
    # CSRF token either: the signature is the credential, and a forged request cannot make one
    app.config["WTF_CSRF_ENABLED"] = True
    message, other = notice("voice"), notice("voice")
    with app.test_client() as provider:
        assert post_event(provider, "voice", event(message, "answered")).status_code == 204
    with app.test_client() as browser:
        login(browser, make_user())
        assert post_event(browser, "voice", event(other, "answered")).status_code == 204


# -- the sweep and the document ----------------------------------------------------------------

def test_the_sweep_never_sends_a_sent_notice_again(notice, providers):
    message = notice("voice")
    with service.fresh_session() as session:
        found = service.sweep(session, now=datetime.now(UTC) + timedelta(days=2))
        session.commit()
    assert message.id not in [i for i, _ in found]
    assert reload(message).status == "sent"
    assert len(providers.received) == 1


def test_the_api_document_describes_the_signed_endpoint(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/notify/providers/{channel}/events"]["post"]
    assert operation["security"] == [{"providerSignature": []}]
    assert document["components"]["securitySchemes"]["providerSignature"]["name"] == "X-Provider-Signature"
    assert {"204", "401", "404", "422"} <= set(operation["responses"])
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert "X-Provider-Timestamp" in headers


def test_stored_events_count_once_per_notice_event_moment_and_digits(client, notice):
    message = notice("voice")
    at = datetime.now(UTC)
    for digits in ("1", "3", "1"):
        assert post_event(client, "voice", event(message, "keypress", at=at, digits=digits)).status_code == 204
    later = at + timedelta(seconds=5)
    assert post_event(client, "voice", event(message, "keypress", at=later, digits="1")).status_code == 204
    assert db.session.scalar(select(func.count()).select_from(ProviderEvent)) == 3


def test_a_call_not_answered_in_the_evening_is_retried_next_morning(app, notice, monkeypatch):
    message = notice("voice")
    app.config.update(NOTIFY_QUIET_START="20:00", NOTIFY_QUIET_END="09:00")
    seoul = timezone(timedelta(hours=9))
    evening = datetime(2026, 12, 2, 19, 59, 50, tzinfo=seoul)  # the backoff ends after 20:00
    retries = receipts.record_event(db.session, "voice", message.reference, "no_answer", evening, now=evening)
    db.session.commit()
    message = reload(message)
    assert message.status == "temporary_failure"
    assert message.next_attempt_at == datetime(2026, 12, 3, 9, 0, tzinfo=seoul)
    assert retries == [(message.id, (message.next_attempt_at - evening).total_seconds())]
    # no task counting down the night: the sweep queues it at the opening; a daytime one is queued
    from portal.notify import tasks

    scheduled: list[tuple] = []
    monkeypatch.setattr(tasks.deliver_batch, "apply_async",
                        lambda args, countdown=None, **kw: scheduled.append((args, countdown)))
    receipts.queue_retries("voice", retries + [(message.id, 30.0)])
    assert scheduled == [(("voice", [message.id]), 30.0)]


def test_an_event_while_the_notice_is_handed_over_again_is_409_and_stored_nowhere(client, notice):
    # a retry in flight (its outcome not recorded): its receipt would be lost on a notice not
    # "sent" yet, so the provider is told to post it again
    message = notice("voice")
    db.session.execute(Message.__table__.update().where(Message.id == message.id)
                       .values(status="sending", claim="0" * 16))
    db.session.commit()
    resp = post_event(client, "voice", event(message, "answered"))
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (409, "not_sent_yet")
    assert events_of(message) == []
    db.session.execute(Message.__table__.update().where(Message.id == message.id)
                       .values(status="sent", claim=None))
    db.session.commit()
    assert post_event(client, "voice", event(message, "answered")).status_code == 204
    assert reload(message).status == "delivered"
