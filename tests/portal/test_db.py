"""portal.db: insert, ignoring a duplicate, on the database the suite runs on."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.accounts.models import User
from portal.db import insert_ignore
from portal.types import utcnow


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
