"""Read requests read PostgreSQL without a transaction (portal.db.session_class): one round
trip per statement, no BEGIN and no ROLLBACK around them; writes keep their transaction.

What PostgreSQL itself says after each statement is the evidence: libpq's transaction status
is IDLE after a statement in autocommit, INTRANS inside a transaction."""

from __future__ import annotations

import psycopg
from sqlalchemy import event

from portal.extensions import db
from proposals import service as proposals
from tests.conftest import requires_postgres
from tests.perf.test_statements import in_own_context


class Statuses:
    """The server's transaction status after every statement sent on the engine."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append(conn.connection.dbapi_connection.info.transaction_status)

    def __enter__(self):
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "after_cursor_execute", self._after)


@requires_postgres
def test_reads_run_outside_a_transaction_and_writes_inside_one(app, make_user, bearer):
    proposal = proposals.create_proposal(db.session, make_user(), {
        "title": "초등학교 앞 안전한 통학로", "body": "통학로에 보도 펜스와 스마트 횡단보도를 설치해 주세요.",
        "category": "safety"})
    token = bearer(make_user())
    client = app.test_client()
    idle, in_transaction = psycopg.pq.TransactionStatus.IDLE, psycopg.pq.TransactionStatus.INTRANS
    for path in ("/api/v1/proposals", f"/api/v1/proposals/{proposal.id}", "/proposals/"):
        with Statuses(db.engine) as statuses:
            assert in_own_context(lambda p=path: client.get(p)).status_code == 200
        assert statuses.seen and set(statuses.seen) == {idle}, (path, statuses.seen)
    with Statuses(db.engine) as statuses:
        resp = in_own_context(lambda: client.post(f"/api/v1/proposals/{proposal.id}/endorsement",
                                                  headers=token))
    assert resp.status_code == 201
    assert set(statuses.seen) == {in_transaction}, statuses.seen


@requires_postgres
def test_what_a_read_request_writes_anyway_is_still_rolled_back(app, make_user):
    """A write in a read request breaks a house rule, but is never committed behind anyone's
    back: a flush or an UPDATE goes into a transaction, which a rollback takes back."""
    from sqlalchemy import select, update

    from portal.accounts.models import User

    user_id = make_user(name="Before").id
    db.session.commit()
    with app.test_request_context("/"):
        db.session.remove()
        db.session.get(User, user_id).name = "Flushed"
        db.session.flush()
        db.session.rollback()
        db.session.execute(update(User).where(User.id == user_id).values(name="Updated"))
        db.session.rollback()
        assert db.session.scalar(select(User.name).where(User.id == user_id)) == "Before"
