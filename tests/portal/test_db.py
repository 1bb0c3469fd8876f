"""portal.db: insert, ignoring a duplicate, on the database the suite runs on."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.accounts.models import User
from portal.db import insert_ignore
from portal.extensions import db
from portal.types import utcnow
from tests.conftest import requires_postgres


def test_insert_ignore_inserts_once_and_says_so(app, make_user):
    from proposals.models import Endorsement, Proposal

    author = make_user()
    endorser = make_user()
    session = app.extensions["sqlalchemy"].session
    proposal = Proposal(title="통학로", body="안전한 통학로", category="safety", author_id=author.id,
                        endorse_until=utcnow())
    session.add(proposal)
    session.flush()
    values = {"proposal_id": proposal.id, "user_id": endorser.id}
    assert insert_ignore(session, Endorsement, values) == 1
    assert insert_ignore(session, Endorsement, values) == 0
    assert session.scalar(select(func.count()).select_from(Endorsement)) == 1
    # The rows of a SELECT: every user endorses, the one already there is skipped.
    n = insert_ignore(session, Endorsement, select_from=select(proposal.id, User.id),
                      columns=["proposal_id", "user_id"])
    assert n == 1
    assert session.scalar(select(func.count()).select_from(Endorsement)) == 2
    session.rollback()


@requires_postgres
def test_a_connection_idle_since_the_database_dropped_it_is_replaced_unseen(make_app, monkeypatch):
    """Pooled connections are tested only after sitting idle (portal.db.ping_after_idle): one
    idle longer is tested and replaced before use, so the visitor sees nothing; one reused at
    once fails its request with a 503 (never a 500), and the next request is served again."""
    import time

    from sqlalchemy import create_engine, text

    import portal.db

    monkeypatch.setattr(portal.db, "PING_AFTER_IDLE_SECONDS", 0.2)
    app = make_app()
    client = app.test_client()
    assert client.get("/api/v1/proposals").status_code == 200
    admin = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])

    def drop_the_app_connection() -> None:
        """The database ends the connection the app's requests use (its pool holds one)."""
        with app.app_context():
            pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
            db.session.remove()
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()

    try:
        drop_the_app_connection()
        time.sleep(0.3)
        assert client.get("/api/v1/proposals").status_code == 200  # tested, replaced, served
        drop_the_app_connection()
        at_once = client.get("/api/v1/proposals")
        assert at_once.status_code == 503 and at_once.headers["Retry-After"].isdigit()
        assert client.get("/api/v1/proposals").status_code == 200
    finally:
        admin.dispose()
