"""What every concern of proposals uses: who is acting, finding a proposal (404 for a hidden
one unless staff), checking a text field, and recording a change of status (history row,
audit, notices to followers)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from portal import audit, inputs
from portal.accounts.roles import STAFF
from portal.inputs import INVISIBLE, MAX_ID, visible  # noqa: F401 - re-exported
from portal.types import utcnow

from ..errors import NoSuchProposal
from ..models import Follow, Proposal, ProposalTransition
from ..vocabulary import STATUS_LABELS


def uid(user) -> int | None:
    return user.id if user is not None and getattr(user, "is_authenticated", False) else None


def is_staff(user) -> bool:
    """Who may triage, answer, hide, merge and see hidden proposals."""
    return bool(uid(user)) and user.has_role(STAFF)


# Text a person reads (a title, a comment, a department) needs a character they can see.


def aware(dt: datetime) -> datetime:
    """A datetime column's value as UTC (SQLite hands back naive ones); never a person's input,
    whose time without an offset is refused (lifecycle.vote_end)."""
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def clean_text(value, field: str, lo: int, hi: int, errors: dict, required: bool = True) -> str | None:
    """`value` stripped, or None with a message in `errors[field]` (portal.inputs.clean_text)."""
    return inputs.clean_text(value, errors, field, lo=lo, hi=hi, required=required)


_BY_ID = select(Proposal).where(Proposal.id == bindparam("proposal_id"))
_FIND = {  # (lock, share) -> the statement, built once (every write on a proposal reads it first)
    (False, False): _BY_ID,
    (True, False): _BY_ID.with_for_update().execution_options(populate_existing=True),
    (True, True): _BY_ID.with_for_update().execution_options(populate_existing=True),
    (False, True): _BY_ID.with_for_update(read=True).execution_options(populate_existing=True),
}


def proposal_id_of(value) -> int:
    """A proposal id as an int; 404 for anything no proposal can have."""
    try:
        pid = int(value)
    except (TypeError, ValueError):
        raise NoSuchProposal() from None
    if not 1 <= pid <= MAX_ID:  # beyond the id column
        raise NoSuchProposal()
    return pid


def seen_by(user, row):
    """`row` (a proposal, or a row with its status), or 404: none, or hidden and `user` not
    staff (hidden proposals exist only for staff)."""
    if row is None or (row.status == "hidden" and not is_staff(user)):
        raise NoSuchProposal()
    return row


def find(session: Session, user, proposal_id, *, lock: bool = False, share: bool = False) -> Proposal:
    """The proposal, or 404; hidden ones exist only for staff. `lock`: FOR UPDATE, `share`:
    FOR SHARE (both read the row as it is once the lock is granted)."""
    pid = proposal_id_of(proposal_id)
    return seen_by(user, session.scalars(_FIND[(lock, share)], {"proposal_id": pid}).first())


def get_proposal(session: Session, user, proposal_id) -> Proposal:
    """A read: the proposal as this user may see it."""
    return find(session, user, proposal_id)


def notify_many(session: Session, template: str, user_ids, context: dict, key: str) -> None:
    """Queue one notice per user through the notify outbox (idempotent per key and user)."""
    user_ids = sorted({u for u in user_ids if u is not None})
    if not user_ids:
        return
    from portal.notify import service as notify

    notify.send_many(session, [
        {"template": template, "context": context, "idempotency_key": f"{key}:{user_id}",
         "user_id": user_id}
        for user_id in user_ids
    ])


def followers(session: Session, proposal_id: int) -> list[int]:
    return list(session.scalars(select(Follow.user_id).where(Follow.proposal_id == proposal_id)))


def msgid(lazy) -> str:
    """The English msgid behind a lazy string, so a notice can translate it per recipient."""
    return getattr(lazy, "_args", (str(lazy),))[0]


def record_transition(session: Session, proposal: Proposal, frm: str, to: str, actor,
                      note: str | None = None) -> ProposalTransition:
    """The history row, its audit entry and the followers' notices of one change of status.
    Flushes; the caller commits."""
    row = ProposalTransition(proposal_id=proposal.id, from_status=frm, to_status=to,
                             actor_id=uid(actor), note=note, created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, actor, "proposals.transition", "proposal", proposal.id,
                 from_status=frm, to_status=to, transition_id=row.id)
    notify_many(session, "proposals.status_changed", followers(session, proposal.id),
                {"proposal_id": proposal.id, "title": proposal.title, "title_lang": proposal.lang, "from_status": frm,
                 "to_status": to, "from_label": msgid(STATUS_LABELS[frm]),
                 "to_label": msgid(STATUS_LABELS[to])},
                f"proposals.transition:{row.id}")
    return row
