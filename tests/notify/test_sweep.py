"""The sweep: rows the broker or a dead worker lost go back on the queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from portal.extensions import db
from portal.notify import service
from portal.notify.models import Message
from portal.types import utcnow


def _reload(message_id: int) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message_id)


def test_the_sweep_requeues_stuck_rows_and_leaves_fresh_ones(app, make_user, http_provider):
    app.config.update(NOTIFY_STUCK_SECONDS=300)
    user = make_user(phone="010-1")
    old, fresh = utcnow() - timedelta(minutes=10), utcnow() - timedelta(seconds=5)
    rows = {}
    for key, values in {
        "lost-in-broker": {"status": "queued", "queued_at": old},
        "worker-died": {"status": "sending", "sending_at": old, "attempts": 1},
        "retry-lost": {"status": "temporary_failure", "next_attempt_at": old, "attempts": 1},
        "just-queued": {"status": "queued", "queued_at": fresh},
        "being-sent": {"status": "sending", "sending_at": fresh, "attempts": 1},
        "out-of-attempts": {"status": "sending", "sending_at": old, "attempts": 5},
    }.items():
        message = service.send(db.session, template="notify.channel_check", context={},
                               idempotency_key=key, user=user, channel="sms")
        db.session.execute(update(Message).where(Message.id == message.id).values(**values))
        rows[key] = message.id
    db.session.info.pop("notify.pending", None)  # as if the broker lost every task
    db.session.commit()
    assert http_provider.requests == []

    assert service.sweep_and_enqueue(db.session) == 3
    status = {key: _reload(mid).status for key, mid in rows.items()}
    assert status == {"lost-in-broker": "sent", "worker-died": "sent", "retry-lost": "sent",
                      "just-queued": "queued", "being-sent": "sending",
                      "out-of-attempts": "permanent_failure"}
    assert _reload(rows["out-of-attempts"]).last_error == "worker_lost"
    assert sorted(http_provider.sent_keys()) == ["lost-in-broker", "retry-lost", "worker-died"]
