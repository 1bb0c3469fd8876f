"""Demo data: a welcome notice in the demo residents' inboxes; the elderly demo resident prefers
voice calls. Idempotent (fixed idempotency keys, upserted preferences)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.accounts.service import find_by_email
from portal.notify import service
from portal.notify.models import Preference


def seed(session: Session) -> None:
    grandma = find_by_email(session, "grandma@demo.kr")
    if grandma is not None and session.get(Preference, grandma.id) is None:
        session.add(Preference(user_id=grandma.id, preferred_channel="voice", opted_out=["email"]))
        session.flush()
    for email in ("resident@demo.kr", "grandma@demo.kr", "newcomer@demo.kr", "officer@demo.kr"):
        user = find_by_email(session, email)
        if user is not None:
            service.send(session, template="notify.welcome", context={}, user=user, channel="app",
                         idempotency_key=f"demo:notify.welcome:{user.id}")
    session.commit()
