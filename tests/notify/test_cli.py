"""`flask notify sweep|stats|check`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from portal.extensions import db
from portal.notify import service
from portal.notify.models import Message
from portal.types import utcnow


def test_check_sends_the_test_notice_and_stats_count_it(app, make_user, notify_log):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["notify", "check", "--channel", "sms", "--phone", "010-4444-5555",
                                 "--locale", "en"])
    assert result.exit_code == 0 and "delivered" in result.output
    [record] = notify_log.records()
    assert record["subject"] == "Test message from the city portal" and record["to"] == "***5555"
    result = runner.invoke(args=["notify", "stats"])
    assert result.exit_code == 0
    sms_delivered = [line for line in result.output.splitlines() if line.startswith("delivered")][0]
    assert sms_delivered.split() == ["delivered", "0", "0", "1", "0"]
    assert "delivery rate: 100.0%" in result.output


def test_sweep_command_requeues_a_lost_notice(app, make_user, http_provider):
    message = service.send(db.session, template="notify.channel_check", context={},
                           idempotency_key="lost", user=make_user(phone="010-1"), channel="sms")
    db.session.execute(update(Message).where(Message.id == message.id)
                       .values(queued_at=utcnow() - timedelta(hours=1)))
    db.session.info.pop("notify.pending", None)  # the broker never got it
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["notify", "sweep"])
    assert result.exit_code == 0 and "re-queued 1" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(Message.status)) == "sent"
    assert http_provider.sent_keys() == ["lost"]
