"""Sealed parts of a context: encrypted in the outbox, opened only to deliver, erased once the
notice is delivered or has failed for good; account mails seal their links."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.errors import Conflict, Invalid
from portal.extensions import db
from portal.notify import service
from portal.notify.models import Message
from portal.types import utcnow
from tests.portal.helpers import link_in, mails_to, token_of

SECRET_LINK = "https://portal.test/account/confirm?t=live-token-123"


def outbox_text() -> str:
    """Every row of notify_message as a database reader sees it (each column as text)."""
    rows = db.session.execute(sa.select(*Message.__table__.c)).all()
    return "\n".join(json.dumps([str(v) for v in row], ensure_ascii=False) for row in rows)


def sealed_send(send, **kwargs):
    kwargs.setdefault("email", "minji@example.kr")
    kwargs.setdefault("channel", "email")
    return send(template="accounts.password_reset", context={"minutes": 30},
                sealed={"link": SECRET_LINK}, **kwargs)


def test_a_sealed_link_is_never_readable_in_the_outbox_and_is_erased_once_delivered(send, smtp_server):
    message = service.send(db.session, template="accounts.password_reset", context={"minutes": 30},
                           sealed={"link": SECRET_LINK}, idempotency_key="seal-1",
                           email="minji@example.kr", channel="email")
    db.session.flush()
    stored = outbox_text()  # before delivery: in the table, sealed
    assert "live-token-123" not in stored and "t=" not in stored
    assert message.context == {"minutes": 30} and message.sealed
    db.session.commit()  # delivered (eager) after the commit
    db.session.refresh(message)
    assert message.status == "delivered"
    [mail] = smtp_server.messages
    assert SECRET_LINK in mail.get_content()  # the mail has it
    assert message.sealed is None and message.sealed_purged_at is not None
    assert "live-token-123" not in outbox_text()


def test_a_final_failure_erases_it_too_and_such_a_notice_cannot_be_sent_again(send, make_user, smtp_server):
    smtp_server.refuse.add("gone@example.kr")
    message = sealed_send(send, email="gone@example.kr", idempotency_key="seal-gone")
    assert message.status == "permanent_failure" and message.last_error == "smtp_550"
    assert message.sealed is None and message.sealed_purged_at is not None
    with pytest.raises(Conflict) as err:
        service.retry(db.session, make_user(roles=("welfare_officer",)), message.id)
    assert err.value.code == "sealed_gone"


def test_a_temporary_failure_keeps_it_for_the_next_attempt(app, send, smtp_server):
    from tests.notify.conftest import free_port

    mail_port = app.config["MAIL_PORT"]
    app.config.update(MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    message = sealed_send(send, idempotency_key="seal-later")
    assert message.status == "temporary_failure" and message.sealed
    assert service.sealed_context(message) == {"link": SECRET_LINK}
    app.config.update(MAIL_PORT=mail_port)
    with service.fresh_session() as session:  # the retry, when it is due
        outcome = service.deliver_batch(session, "email", [message.id], now=utcnow() + timedelta(hours=2))
    assert outcome.delivered == [message.id]
    assert SECRET_LINK in smtp_server.messages[0].get_content()


def test_a_fallback_key_still_opens_it_after_secret_key_changes(app, send, smtp_server):
    from tests.notify.conftest import free_port

    mail_port = app.config["MAIL_PORT"]
    app.config.update(MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    kept = sealed_send(send, idempotency_key="seal-rotated")
    lost = sealed_send(send, idempotency_key="seal-lost")
    app.config.update(MAIL_PORT=mail_port, SECRET_KEY="a-new-secret", SECRET_KEY_FALLBACKS=["test-secret-key"])
    db.session.execute(sa.update(Message).values(status="queued"))
    db.session.commit()
    with service.fresh_session() as session:
        assert service.deliver_batch(session, "email", [kept.id]).delivered == [kept.id]
    app.config.update(SECRET_KEY_FALLBACKS=[])
    with service.fresh_session() as session:
        outcome = service.deliver_batch(session, "email", [lost.id])
    assert outcome.failed == {lost.id: "sealed_unreadable"}
    assert len(smtp_server.messages) == 1


def test_officers_never_see_it(client, make_user, bearer, send):
    from tests.notify.conftest import free_port

    client.application.config.update(MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    message = sealed_send(send, idempotency_key="seal-list")
    assert message.status == "temporary_failure"
    for who in ("welfare_officer", "staff", "admin"):
        headers = bearer(make_user(roles=(who,)))
        for url in ("/api/v1/notify/messages", "/api/v1/notify/stats"):
            body = client.get(url, headers=headers).get_data(as_text=True)
            assert "live-token" not in body and message.sealed not in body, (who, url)


def test_sealed_text_that_cannot_be_stored_is_refused(send):
    with pytest.raises(Invalid) as err:
        send(template="accounts.password_reset", context={}, sealed={"link": "x\x00"},
             email="a@example.kr", idempotency_key="seal-nul")
    assert err.value.code == "invalid_notice" and set(err.value.fields) == {"sealed.link"}


def test_account_mails_put_no_live_token_in_the_outbox(client, make_user):
    """Registration and password reset: the links work, yet no reader of notify_message finds a
    token (``t=...``) in it."""
    client.form("/account/register?lang=en", {"name": "김하늘", "email": "sky@example.kr",
                                               "password": "long-enough-pw"})
    make_user(email="known@example.kr")
    assert client.post("/api/v1/accounts/password-reset", json={"email": "known@example.kr"}).status_code == 202
    mails = mails_to("sky@example.kr", "accounts.confirm_email") + mails_to("known@example.kr",
                                                                            "accounts.password_reset")
    assert len(mails) == 2
    tokens = [token_of(link_in(m)) for m in mails]
    stored = outbox_text()
    assert not re.search(r"[?&]t=", stored), stored
    assert not any(t in stored for t in tokens)
    # and the reset link still works
    resp = client.post("/api/v1/accounts/password-reset/confirm",
                       json={"token": tokens[1], "password": "another-long-pw"})
    assert resp.status_code in (200, 204), resp.get_data(as_text=True)
