"""No log line of the notification queue names a welfare programme with a person: the `log`
provider's file, the application's log records (warnings included) and, in test_worker, a real
worker's log. Residents with ids no timestamp or counter would produce are told about a
programme by a real welfare scan, by every channel, through failures and retries; then the file
and the captured logs are searched for the programme's code, the ids, the addresses."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.extensions import db
from portal.notify import service
from portal.notify.channels import LogProvider
from portal.notify.models import Message, Preference
from portal.types import utcnow
from welfare import service as welfare
from welfare.models import Programme, WelfareProfile

PROGRAMME = "elderly-alone-care"
IDS = {"sms": 8641357, "voice": 8641358, "email": 8641359, "app": 8641360}


def residents_told_by_every_channel() -> None:
    now = utcnow()
    for channel, user_id in IDS.items():
        db.session.execute(sa.insert(User).values(
            id=user_id, email=f"resident{user_id}@example.kr", name="김복지", locale="ko", active=True,
            phone=f"010-4321-{user_id % 10000:04d}", verified_at=now, created_at=now))
        db.session.add(Preference(user_id=user_id, preferred_channel=channel, opted_out=[]))
        db.session.add(WelfareProfile(user_id=user_id, source="import", birth_date=date(1950, 1, 1),
                                      median_income_pct=20, household_size=1, lives_alone=True,
                                      district="seongdong"))
    db.session.add(Programme(code=PROGRAMME, name={"ko": "홀몸 어르신 돌봄"}, channels=[],
                             how_to_apply={"ko": "주민센터"}, rules={"age": {"min": 65}}))
    db.session.commit()


def personal_bits() -> list[str]:
    bits = [PROGRAMME, "welfare:", "홀몸", "김복지", "4321"]  # a masked number shows its last 4 digits only
    for user_id in IDS.values():
        bits += [str(user_id), f"resident{user_id}"]
    return bits


@pytest.mark.parametrize("include_text", [False, True])
def test_no_log_line_names_a_programme_with_a_person(app, notify_log, caplog, monkeypatch, include_text):
    from tests.notify.conftest import free_port

    app.config.update(NOTIFY_LOG_INCLUDE_TEXT=include_text, VOICE_PROVIDER="http",
                      VOICE_PROVIDER_URL=f"http://127.0.0.1:{free_port()}/down", VOICE_PROVIDER_TIMEOUT=2,
                      MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="sqlalchemy")  # statements are not the portal's log lines
    residents_told_by_every_channel()

    # the SMS provider breaks the first time, with personal data in its exception
    def broken(self, envelopes):
        raise RuntimeError(f"{PROGRAMME} {IDS['sms']} resident{IDS['sms']}@example.kr")

    monkeypatch.setattr(LogProvider, "deliver_many", broken)
    result = welfare.scan(db.session, None, today=date(2026, 11, 23))
    assert result.new_notices == 4
    statuses = dict(db.session.execute(sa.select(Message.channel, Message.status)).all())
    assert statuses == {"sms": "temporary_failure", "voice": "temporary_failure",
                        "email": "temporary_failure", "app": "delivered"}
    assert "sms channel raised" in caplog.text

    monkeypatch.undo()
    later = utcnow() + timedelta(hours=2)
    ids = list(db.session.scalars(sa.select(Message.id).where(Message.channel == "sms")))
    with service.fresh_session() as session:
        assert service.deliver_batch(session, "sms", ids, now=later).delivered == ids
        service.sweep_and_enqueue(session, now=later + timedelta(hours=2))
    logs = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    found = [bit for bit in personal_bits() if bit in logs]
    assert found == [], f"in the captured logs: {found}"
    written = notify_log.path.read_text(encoding="utf-8")
    found = [bit for bit in personal_bits() if bit in written and not (include_text and bit == "홀몸")]
    assert found == [], f"in the log provider's file: {found}"
    [record] = notify_log.records()
    assert record["to"].startswith("***") and len(record["reference"]) == 32
    assert set(record) == {"ts", "channel", "message_id", "reference", "attempt", "locale", "to"} | (
        {"subject", "text"} if include_text else set())
