"""The rules of policy proposals. Views and the API both call these functions.

Every function takes the session and the acting user, checks what that user may do, and
either commits one unit of work or raises a `portal.errors` domain error (nothing committed).

Concurrency is left to the database:
* endorsements: INSERT ... ON CONFLICT DO NOTHING on UNIQUE(proposal_id, user_id), then a
  conditional ``UPDATE proposals SET endorsement_count = endorsement_count + 1 WHERE id = :id
  AND status = 'open' AND endorse_until > now`` in the same transaction (the row lock it takes
  serialises endorsers of one proposal until commit, so the count is exact);
* the open -> under_review transition happens in one ``UPDATE ... WHERE status = 'open' AND
  endorsement_count >= :threshold``, whose rowcount says who won: exactly one transaction does;
* ballots: INSERT into the participation table (unique per voter) and ``UPDATE`` of an
  anonymous counter row, in one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, delete, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session, defer

from portal import audit
from portal.accounts import service as accounts
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.i18n import LOCALES, current_locale, pick
from portal.types import utcnow

from ..models import (
    CATEGORIES,
    CHOICES,
    STATUSES,
    BallotParticipation,
    BallotTally,
    Comment,
    Endorsement,
    Flag,
    Follow,
    Proposal,
    ProposalTransition,
)

CATEGORY_LABELS = {
    "safety": _l("Safety"),
    "transport": _l("Transport"),
    "environment": _l("Environment"),
    "welfare": _l("Welfare"),
    "culture": _l("Culture"),
    "education": _l("Education"),
    "administration": _l("Administration"),
    "other": _l("Other"),
}

STATUS_LABELS = {
    "open": _l("Open for endorsement"),
    "under_review": _l("Under review"),
    "voting": _l("Resident vote"),
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
    "implemented": _l("Implemented"),
    "withdrawn": _l("Withdrawn"),
    "closed": _l("Closed"),
    "hidden": _l("Hidden"),
    "merged": _l("Merged"),
}

CHOICE_LABELS = {"for": _l("For"), "against": _l("Against")}

SORTS = ("popular", "newest", "ending")

# Statuses anyone may see in the public list (hidden: staff only; merged: reachable by link).
PUBLIC_STATUSES = ("open", "under_review", "voting", "accepted", "rejected", "implemented",
                   "withdrawn", "closed")

# (from, to) -> who may make the move. "hidden" both ways is handled apart (any <-> hidden).
EDGES = {
    ("open", "under_review"): "staff",
    ("open", "withdrawn"): "author",
    ("under_review", "voting"): "staff",
    ("under_review", "accepted"): "staff",
    ("under_review", "rejected"): "staff",
    ("voting", "accepted"): "staff",
    ("voting", "rejected"): "staff",
    ("accepted", "implemented"): "staff",
}

TITLE_MIN, TITLE_MAX = 5, 200
BODY_MIN, BODY_MAX = 20, 20_000
COMMENT_MAX = 5_000
REASON_MAX = 500
ANSWER_MAX = 20_000


# -- settings ------------------------------------------------------------------------------

def endorsement_days() -> int:
    return int(current_app.config.get("PROPOSAL_ENDORSEMENT_DAYS", 30))


def endorsement_threshold() -> int:
    return int(current_app.config.get("PROPOSAL_ENDORSEMENT_THRESHOLD", 50))


# -- small helpers -------------------------------------------------------------------------

def _insert_ignore(session: Session, model, values: dict | None = None, *, select_from=None,
                   columns=None) -> int:
    """INSERT ... ON CONFLICT DO NOTHING (PostgreSQL and SQLite); returns rows inserted."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the portal runs on PostgreSQL or SQLite only
        raise RuntimeError(f"unsupported database {dialect}")
    stmt = insert(model)
    if select_from is not None:
        stmt = stmt.from_select(columns, select_from).on_conflict_do_nothing()
        return session.execute(stmt).rowcount
    # RETURNING tells for sure whether a row went in (rowcount is not reliable with it).
    pk = model.__table__.primary_key.columns.values()[0]
    stmt = stmt.values(**values).on_conflict_do_nothing().returning(pk)
    return len(session.execute(stmt).all())


def _uid(user) -> int | None:
    return user.id if user is not None and getattr(user, "is_authenticated", False) else None


def _is_staff(user) -> bool:
    return bool(_uid(user)) and user.has_role("staff")


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _text(value, field: str, lo: int, hi: int, errors: dict, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = _l("This field is required.")
        return None
    if not isinstance(value, str):
        errors[field] = _l("Wrong type or format.")
        return None
    value = value.strip()
    if len(value) < lo:
        errors[field] = _l("Too short: at least %(n)s characters.", n=lo)
    elif len(value) > hi:
        errors[field] = _l("Too long: at most %(n)s characters.", n=hi)
    return value


def _get(session: Session, user, proposal_id, *, lock: bool = False) -> Proposal:
    """The proposal, or 404; hidden ones exist only for staff."""
    try:
        pid = int(proposal_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such proposal.")) from None
    stmt = select(Proposal).where(Proposal.id == pid)
    if lock:
        stmt = stmt.with_for_update()
    proposal = session.scalars(stmt).first()
    if proposal is None or (proposal.status == "hidden" and not _is_staff(user)):
        raise NotFound(_l("No such proposal."))
    return proposal


def get_proposal(session: Session, user, proposal_id) -> Proposal:
    return _get(session, user, proposal_id)


def _notify_many(session: Session, template: str, user_ids, context: dict, key: str) -> None:
    """Queue one notice per user through the notify outbox (idempotent per key and user)."""
    user_ids = sorted({u for u in user_ids if u is not None})
    if not user_ids:
        return
    from portal.notify import service as notify

    notify.send_many(session, [
        {"template": template, "context": context, "idempotency_key": f"{key}:{uid}", "user_id": uid}
        for uid in user_ids
    ])


def _followers(session: Session, proposal_id: int) -> list[int]:
    return list(session.scalars(select(Follow.user_id).where(Follow.proposal_id == proposal_id)))


def _record_transition(session: Session, proposal: Proposal, frm: str, to: str, actor,
                       note: str | None = None) -> ProposalTransition:
    row = ProposalTransition(proposal_id=proposal.id, from_status=frm, to_status=to,
                             actor_id=_uid(actor), note=note, created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, actor, "proposals.transition", "proposal", proposal.id,
                 from_status=frm, to_status=to, transition_id=row.id)
    _notify_many(session, "proposals.status_changed", _followers(session, proposal.id),
                 {"proposal_id": proposal.id, "title": proposal.title, "from_status": frm,
                  "to_status": to, "from_label": _msgid(STATUS_LABELS[frm]),
                  "to_label": _msgid(STATUS_LABELS[to])},
                 f"proposals.transition:{row.id}")
    return row


def _msgid(lazy) -> str:
    """The English msgid behind a lazy string, so a notice can translate it per recipient."""
    return getattr(lazy, "_args", (str(lazy),))[0]


# -- submitting ----------------------------------------------------------------------------

def validate_proposal(data: dict) -> dict:
    errors: dict = {}
    clean = {
        "title": _text(data.get("title"), "title", TITLE_MIN, TITLE_MAX, errors),
        "body": _text(data.get("body"), "body", BODY_MIN, BODY_MAX, errors),
        "district": _text(data.get("district"), "district", 0, 100, errors, required=False),
        "location": _text(data.get("location"), "location", 0, 300, errors, required=False),
    }
    category = data.get("category")
    if not category:
        errors["category"] = _l("This field is required.")
    elif category not in CATEGORIES:
        errors["category"] = _l("Not one of the allowed values.")
    clean["category"] = category
    if errors:
        raise Invalid(fields=errors)
    return clean


def create_proposal(session: Session, user, data: dict) -> Proposal:
    """A verified resident submits a proposal; it opens for endorsement at once."""
    accounts.require_login(user)
    accounts.require_verified(user)
    clean = validate_proposal(data)
    now = utcnow()
    proposal = Proposal(author_id=user.id, status="open", endorsement_count=0, created_at=now,
                        status_changed_at=now, endorse_until=now + timedelta(days=endorsement_days()),
                        **clean)
    session.add(proposal)
    session.flush()
    # The author follows their own proposal: they hear of every change.
    session.add(Follow(proposal_id=proposal.id, user_id=user.id, created_at=now))
    audit.record(session, user, "proposals.create", "proposal", proposal.id, category=proposal.category)
    session.commit()
    return proposal


# -- endorsing -----------------------------------------------------------------------------

def _can_endorse(user, proposal: Proposal) -> None:
    accounts.require_login(user)
    accounts.require_verified(user)
    if proposal.author_id == user.id:
        raise Forbidden(_l("You cannot endorse your own proposal."), code="own_proposal")
    if proposal.status != "open" or _aware(proposal.endorse_until) <= utcnow():
        raise Conflict(_l("This proposal is not open for endorsement."), code="not_open")


def endorse(session: Session, user, proposal_id) -> tuple[Proposal, bool]:
    """Endorse once. Returns (proposal, created); created is False if already endorsed."""
    proposal = _get(session, user, proposal_id)
    _can_endorse(user, proposal)
    inserted = _insert_ignore(session, Endorsement, {
        "proposal_id": proposal.id, "user_id": user.id, "created_at": utcnow()})
    if not inserted:
        session.rollback()
        return _get(session, user, proposal_id), False
    count = session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id, Proposal.status == "open", Proposal.endorse_until > utcnow())
        .values(endorsement_count=Proposal.endorsement_count + 1)
        .returning(Proposal.endorsement_count)
        .execution_options(synchronize_session=False)
    ).scalar()
    if count is None:  # closed or moved on between our read and our write
        session.rollback()
        raise Conflict(_l("This proposal is not open for endorsement."), code="not_open")
    if count >= endorsement_threshold():
        _reach_threshold(session, proposal)
    session.commit()
    session.refresh(proposal)
    return proposal, True


def _reach_threshold(session: Session, proposal: Proposal) -> bool:
    """open -> under_review, exactly once: the conditional UPDATE's rowcount says who won."""
    won = session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id, Proposal.status == "open",
               Proposal.endorsement_count >= endorsement_threshold())
        .values(status="under_review", status_changed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not won:
        return False
    _record_transition(session, proposal, "open", "under_review", None,
                       note=None)
    endorsers = session.scalars(select(Endorsement.user_id).where(Endorsement.proposal_id == proposal.id))
    _notify_many(session, "proposals.threshold_reached", [proposal.author_id, *endorsers],
                 {"proposal_id": proposal.id, "title": proposal.title,
                  "threshold": endorsement_threshold()},
                 f"proposals.threshold_reached:{proposal.id}")
    return True


def withdraw_endorsement(session: Session, user, proposal_id) -> Proposal:
    """Take an endorsement back while the proposal is open. Idempotent."""
    proposal = _get(session, user, proposal_id)
    accounts.require_login(user)
    if proposal.status != "open":
        raise Conflict(_l("This proposal is not open for endorsement."), code="not_open")
    deleted = session.execute(
        delete(Endorsement).where(Endorsement.proposal_id == proposal.id, Endorsement.user_id == user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if deleted:
        changed = session.execute(
            update(Proposal)
            .where(Proposal.id == proposal.id, Proposal.status == "open")
            .values(endorsement_count=Proposal.endorsement_count - 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            session.rollback()
            raise Conflict(_l("This proposal is not open for endorsement."), code="not_open")
    session.commit()
    session.refresh(proposal)
    return proposal


def has_endorsed(session: Session, user, proposal_id: int) -> bool:
    uid = _uid(user)
    return bool(uid) and session.scalar(select(exists().where(
        Endorsement.proposal_id == proposal_id, Endorsement.user_id == uid)))


# -- transitions ---------------------------------------------------------------------------

def _parse_when(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _aware(value)
    try:
        return _aware(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def _answer_dict(answer) -> dict | None:
    """The official answer, per locale. A plain string is taken as the writer's language."""
    if answer is None or answer == "":
        return None
    if isinstance(answer, str):
        answer = {current_locale(): answer}
    if not isinstance(answer, dict):
        return None
    clean = {k: v.strip() for k, v in answer.items()
             if k in LOCALES and isinstance(v, str) and v.strip() and len(v) <= ANSWER_MAX}
    return clean or None


def allowed_moves(session: Session, user, proposal: Proposal) -> list[str]:
    """The statuses this user may move the proposal to now (for forms)."""
    moves = []
    for to in STATUSES:
        try:
            _check_move(user, proposal, to)
        except (Conflict, Forbidden):
            continue
        moves.append(to)
    return moves


def _check_move(user, proposal: Proposal, to: str) -> None:
    frm = proposal.status
    staff = _is_staff(user)
    author = _uid(user) == proposal.author_id
    if not (staff or author):
        raise Forbidden()
    if to == "hidden":
        who = "staff" if frm not in ("hidden",) else None
    elif frm == "hidden":
        who = "staff" if to == proposal.status_before_hidden else None
    else:
        who = EDGES.get((frm, to))
    if who is None:
        raise Conflict(_l("A proposal cannot move from “%(frm)s” to “%(to)s”.",
                          frm=STATUS_LABELS.get(frm, frm), to=STATUS_LABELS.get(to, to)),
                       code="invalid_transition")
    if who == "staff" and not staff:
        raise Forbidden()
    if who == "author" and not author:
        raise Forbidden(_l("Only the author can withdraw a proposal."), code="not_author")


def transition(session: Session, user, proposal_id, to: str, *, answer=None, department=None,
               vote_ends_at=None, reason=None) -> Proposal:
    """Move a proposal along the allowed transitions; everything else is a 409."""
    accounts.require_login(user)
    if to not in STATUSES or to == "merged":
        raise Invalid(fields={"to": _l("Not one of the allowed values.")})
    proposal = _get(session, user, proposal_id, lock=True)
    frm = proposal.status
    _check_move(user, proposal, to)

    errors: dict = {}
    values: dict = {"status": to, "status_changed_at": utcnow()}
    note = None
    answer_d = _answer_dict(answer)
    if answer is not None and answer != "" and answer_d is None:
        errors["answer"] = _l("Invalid value.")
    if to in ("accepted", "rejected"):
        if not answer_d and not proposal.answer:
            errors["answer"] = _l("An official answer is required to accept or reject.")
        if frm == "voting" and proposal.vote_ends_at and _aware(proposal.vote_ends_at) > utcnow():
            raise Conflict(_l("The vote has not ended yet."), code="vote_not_ended")
    if to == "voting":
        when = _parse_when(vote_ends_at)
        if when is None:
            errors["vote_ends_at"] = _l("Give the time the vote ends.")
        elif when <= utcnow():
            errors["vote_ends_at"] = _l("The end of the vote must be in the future.")
        else:
            values["vote_ends_at"] = when
    if to == "hidden":
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            errors["reason"] = _l("Give a reason for hiding.")
        elif len(reason) > REASON_MAX:
            errors["reason"] = _l("Too long: at most %(n)s characters.", n=REASON_MAX)
        values.update(status_before_hidden=frm, hidden_reason=reason)
        note = reason
    if frm == "hidden":
        values.update(status_before_hidden=None, hidden_reason=None)
    if department is not None and department != "":
        if not isinstance(department, str) or len(department.strip()) > 200:
            errors["department"] = _l("Too long: at most %(n)s characters.", n=200)
        else:
            values["department"] = department.strip()
    if errors:
        session.rollback()
        raise Invalid(fields=errors)
    if answer_d:
        values["answer"] = {**(proposal.answer or {}), **answer_d}

    changed = session.execute(
        update(Proposal).where(Proposal.id == proposal.id, Proposal.status == frm).values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        session.rollback()
        raise Conflict(_l("The proposal changed meanwhile. Please reload."), code="invalid_transition")
    if to == "voting":
        for choice in CHOICES:
            _insert_ignore(session, BallotTally, {"proposal_id": proposal.id, "choice": choice, "votes": 0})
    _record_transition(session, proposal, frm, to, user, note=note)
    session.commit()
    session.refresh(proposal)
    return proposal


def assign_department(session: Session, user, proposal_id, department: str) -> Proposal:
    accounts.require_role(user, "staff")
    proposal = _get(session, user, proposal_id, lock=True)
    errors: dict = {}
    department = _text(department, "department", 1, 200, errors)
    if errors:
        session.rollback()
        raise Invalid(fields=errors)
    proposal.department = department
    audit.record(session, user, "proposals.assign_department", "proposal", proposal.id)
    session.commit()
    return proposal


def history(session: Session, proposal_id: int) -> list[ProposalTransition]:
    return list(session.scalars(select(ProposalTransition).where(
        ProposalTransition.proposal_id == proposal_id).order_by(ProposalTransition.id)))


def close_expired(session: Session, now: datetime | None = None) -> int:
    """Beat task: open proposals whose window ended below the threshold become `closed`."""
    now = now or utcnow()
    ids = list(session.scalars(select(Proposal.id).where(
        Proposal.status == "open", Proposal.endorse_until <= now).order_by(Proposal.id)))
    closed = 0
    for pid in ids:
        changed = session.execute(
            update(Proposal)
            .where(Proposal.id == pid, Proposal.status == "open", Proposal.endorse_until <= now,
                   Proposal.endorsement_count < endorsement_threshold())
            .values(status="closed", status_changed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed:
            proposal = session.get(Proposal, pid)
            _record_transition(session, proposal, "open", "closed", None)
            closed += 1
        session.commit()
    return closed


# -- voting --------------------------------------------------------------------------------

def vote_ended(proposal: Proposal) -> bool:
    return proposal.vote_ends_at is not None and _aware(proposal.vote_ends_at) <= utcnow()


def tally(session: Session, proposal: Proposal) -> dict | None:
    """The result, only once the vote has ended; None before (and for proposals never voted)."""
    if proposal.vote_ends_at is None or not vote_ended(proposal):
        return None
    rows = dict(session.execute(select(BallotTally.choice, BallotTally.votes).where(
        BallotTally.proposal_id == proposal.id)).all())
    return {choice: int(rows.get(choice, 0)) for choice in CHOICES}


def cast_ballot(session: Session, user, proposal_id, choice) -> None:
    """One secret ballot per verified resident: participation and tally are kept apart."""
    accounts.require_login(user)
    accounts.require_verified(user)
    if choice not in CHOICES:
        raise Invalid(fields={"choice": _l("Not one of the allowed values.")})
    proposal = _get(session, user, proposal_id)
    if proposal.status != "voting" or vote_ended(proposal):
        raise Conflict(_l("This proposal is not being voted on."), code="not_voting")
    if not _insert_ignore(session, BallotParticipation, {"proposal_id": proposal.id, "user_id": user.id}):
        session.rollback()
        raise Conflict(_l("You have already voted on this proposal."), code="already_voted")
    still_open = exists().where(Proposal.id == proposal.id, Proposal.status == "voting",
                                Proposal.vote_ends_at > utcnow())
    counted = session.execute(
        update(BallotTally)
        .where(BallotTally.proposal_id == proposal.id, BallotTally.choice == choice, still_open)
        .values(votes=BallotTally.votes + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if counted != 1:
        session.rollback()
        raise Conflict(_l("This proposal is not being voted on."), code="not_voting")
    session.commit()


def has_voted(session: Session, user, proposal_id: int) -> bool:
    uid = _uid(user)
    return bool(uid) and session.scalar(select(exists().where(
        BallotParticipation.proposal_id == proposal_id, BallotParticipation.user_id == uid)))


# -- merging duplicates --------------------------------------------------------------------

def merge(session: Session, user, duplicate_id, target_id) -> Proposal:
    """Merge a duplicate into another proposal; each endorser counts once on the target."""
    accounts.require_role(user, "staff")
    try:
        dup_id, tgt_id = int(duplicate_id), int(target_id)
    except (TypeError, ValueError):
        raise Invalid(fields={"target_id": _l("Invalid value.")}) from None
    if dup_id == tgt_id:
        raise Invalid(fields={"target_id": _l("A proposal cannot be merged into itself.")})
    # Lock both rows in id order so two merges cannot deadlock.
    locked = {p.id: p for p in session.scalars(
        select(Proposal).where(Proposal.id.in_([dup_id, tgt_id])).order_by(Proposal.id).with_for_update())}
    dup, target = locked.get(dup_id), locked.get(tgt_id)
    if dup is None:
        raise NotFound(_l("No such proposal."))
    if target is None:
        raise Invalid(fields={"target_id": _l("No such proposal.")})
    if dup.status in ("merged", "hidden") or target.status in ("merged", "hidden", "withdrawn"):
        raise Conflict(_l("These proposals cannot be merged."), code="invalid_transition")
    frm = dup.status
    _insert_ignore(
        session, Endorsement,
        columns=["proposal_id", "user_id", "created_at"],
        select_from=select(literal(target.id), Endorsement.user_id, Endorsement.created_at).where(
            Endorsement.proposal_id == dup.id, Endorsement.user_id != target.author_id),
    )
    _insert_ignore(
        session, Follow,
        columns=["proposal_id", "user_id", "created_at"],
        select_from=select(literal(target.id), Follow.user_id, Follow.created_at).where(
            Follow.proposal_id == dup.id),
    )
    count_q = select(func.count()).select_from(Endorsement).where(
        Endorsement.proposal_id == target.id).scalar_subquery()
    session.execute(update(Proposal).where(Proposal.id == target.id).values(endorsement_count=count_q)
                    .execution_options(synchronize_session=False))
    session.execute(update(Proposal).where(Proposal.id == dup.id)
                    .values(status="merged", merged_into_id=target.id, status_changed_at=utcnow())
                    .execution_options(synchronize_session=False))
    _record_transition(session, dup, frm, "merged", user, note=f"#{target.id}")
    audit.record(session, user, "proposals.merge", "proposal", dup.id, into=target.id)
    session.flush()
    session.refresh(target)
    if target.status == "open" and target.endorsement_count >= endorsement_threshold():
        _reach_threshold(session, target)
    session.commit()
    session.refresh(target)
    return target


# -- comments, flags, follows --------------------------------------------------------------

def add_comment(session: Session, user, proposal_id, body) -> Comment:
    accounts.require_login(user)
    accounts.require_verified(user)
    proposal = _get(session, user, proposal_id)
    if proposal.status == "merged":
        raise Conflict(_l("This proposal was merged into another one."), code="merged")
    errors: dict = {}
    body = _text(body, "body", 1, COMMENT_MAX, errors)
    if errors:
        raise Invalid(fields=errors)
    comment = Comment(proposal_id=proposal.id, author_id=user.id, body=body, created_at=utcnow())
    session.add(comment)
    session.commit()
    return comment


def comments_page(session: Session, proposal_id: int, cursor: str | None = None, limit: int = 50):
    from portal.api import paginate

    stmt = select(Comment).where(Comment.proposal_id == proposal_id)
    return paginate(session, stmt, [(Comment.id, "asc")], cursor, limit)


def flag(session: Session, user, proposal_id, reason) -> bool:
    """Report abuse; once per user and proposal. Returns True when the flag is new."""
    accounts.require_login(user)
    proposal = _get(session, user, proposal_id)
    errors: dict = {}
    reason = _text(reason, "reason", 1, REASON_MAX, errors)
    if errors:
        raise Invalid(fields=errors)
    created = bool(_insert_ignore(session, Flag, {
        "proposal_id": proposal.id, "user_id": user.id, "reason": reason, "created_at": utcnow()}))
    if created:
        audit.record(session, user, "proposals.flag", "proposal", proposal.id)
    session.commit()
    return created


def follow(session: Session, user, proposal_id) -> bool:
    accounts.require_login(user)
    proposal = _get(session, user, proposal_id)
    created = bool(_insert_ignore(session, Follow, {
        "proposal_id": proposal.id, "user_id": user.id, "created_at": utcnow()}))
    session.commit()
    return created


def unfollow(session: Session, user, proposal_id) -> None:
    accounts.require_login(user)
    proposal = _get(session, user, proposal_id)
    session.execute(delete(Follow).where(Follow.proposal_id == proposal.id, Follow.user_id == user.id))
    session.commit()


def is_following(session: Session, user, proposal_id: int) -> bool:
    uid = _uid(user)
    return bool(uid) and session.scalar(select(exists().where(
        Follow.proposal_id == proposal_id, Follow.user_id == uid)))


# -- listing and search --------------------------------------------------------------------

@dataclass
class ListQuery:
    status: str | None = None
    category: str | None = None
    district: str | None = None
    q: str | None = None
    sort: str = "popular"


def parse_list_query(args) -> ListQuery:
    errors: dict = {}
    status = args.get("status") or None
    category = args.get("category") or None
    sort = args.get("sort") or "popular"
    if status is not None and status not in STATUSES:
        errors["status"] = _l("Not one of the allowed values.")
    if category is not None and category not in CATEGORIES:
        errors["category"] = _l("Not one of the allowed values.")
    if sort not in SORTS:
        errors["sort"] = _l("Not one of the allowed values.")
    q = (args.get("q") or "").strip()[:200] or None
    district = (args.get("district") or "").strip()[:100] or None
    if errors:
        raise Invalid(fields=errors)
    return ListQuery(status=status, category=category, district=district, q=q, sort=sort)


def _like(term: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", term) + "%"


def list_proposals(session: Session, user, query: ListQuery, cursor: str | None = None, limit: int = 20):
    """Search, filter, sort and page. Returns (proposals, next_cursor)."""
    from portal.api import paginate

    stmt = select(Proposal).options(defer(Proposal.body))  # lists never show the body
    if query.status:
        if query.status == "hidden" and not _is_staff(user):
            return [], None
        stmt = stmt.where(Proposal.status == query.status)
    else:
        stmt = stmt.where(Proposal.status.in_(PUBLIC_STATUSES))
    if query.category:
        stmt = stmt.where(Proposal.category == query.category)
    if query.district:
        stmt = stmt.where(Proposal.district == query.district)
    if query.q:
        for word in query.q.split()[:8]:
            pattern = _like(word)
            stmt = stmt.where(or_(Proposal.title.ilike(pattern, escape="\\"),
                                  Proposal.body.ilike(pattern, escape="\\")))
    if query.sort == "newest":
        order = [(Proposal.created_at, "desc"), (Proposal.id, "desc")]
    elif query.sort == "ending":
        # Ending soon: proposals still open for endorsement, the nearest deadline first.
        stmt = stmt.where(Proposal.status == "open", Proposal.endorse_until > utcnow())
        order = [(Proposal.endorse_until, "asc"), (Proposal.id, "asc")]
    else:
        order = [(Proposal.endorsement_count, "desc"), (Proposal.id, "desc")]
    return paginate(session, stmt, order, cursor, limit)


def similar(session: Session, title: str, limit: int = 5) -> list[Proposal]:
    """Up to `limit` visible proposals whose titles share the most words with `title`."""
    words = [w for w in re.split(r"\W+", title or "") if len(w) >= 2][:10]
    if not words:
        return []
    score = sum((case((Proposal.title.ilike(_like(w), escape="\\"), 1), else_=0) for w in words),
                start=literal(0))
    stmt = (select(Proposal).options(defer(Proposal.body)).where(Proposal.status.in_(PUBLIC_STATUSES), score > 0)
            .order_by(score.desc(), Proposal.endorsement_count.desc(), Proposal.id.desc()).limit(limit))
    return list(session.scalars(stmt))


def triage_queue(session: Session, user, limit: int = 100) -> list[tuple[Proposal, int]]:
    """Staff: proposals under review, oldest first, with their abuse-flag counts."""
    accounts.require_role(user, "staff")
    flags = (select(func.count()).select_from(Flag).where(Flag.proposal_id == Proposal.id)
             .correlate(Proposal).scalar_subquery())
    stmt = (select(Proposal, flags).where(Proposal.status == "under_review")
            .order_by(Proposal.status_changed_at.asc(), Proposal.id.asc()).limit(limit))
    return [(p, int(n)) for p, n in session.execute(stmt).all()]


def flagged(session: Session, user, limit: int = 50) -> list[tuple[Proposal, int]]:
    """Staff: visible proposals with abuse reports, most reported first."""
    accounts.require_role(user, "staff")
    n = func.count(Flag.id)
    stmt = (select(Proposal, n).join(Flag, Flag.proposal_id == Proposal.id)
            .where(Proposal.status != "hidden").group_by(Proposal.id)
            .order_by(n.desc(), Proposal.id).limit(limit))
    return [(p, int(c)) for p, c in session.execute(stmt).all()]


def export_rows(session: Session):
    """Open data: public fields of every public proposal, in id order, streamed."""
    stmt = (select(Proposal).where(Proposal.status.in_(PUBLIC_STATUSES)).order_by(Proposal.id)
            .execution_options(yield_per=500))
    for p in session.scalars(stmt):
        answer, _lang = pick(p.answer or {}, "ko")
        yield p, answer


def public_answer(proposal: Proposal, lang: str | None = None) -> tuple[str, str | None]:
    return pick(proposal.answer or {}, lang)

