"""A proposal's life: submitting, the status graph and its transitions, staff answers and
departments, merging duplicates, closing windows that ended below the threshold, history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, exists, func, literal, select, update
from sqlalchemy.orm import Session

from portal import audit, places
from portal.accounts import service as accounts
from portal.accounts.roles import STAFF
from portal.db import insert_ignore
from portal.errors import Conflict, Forbidden, Invalid
from portal.i18n import LOCALES, author_lang, current_locale, pick
from portal.inputs import MAX_ID
from portal.types import utcnow

from .. import limits, settings
from ..errors import (
    CannotMerge,
    CannotMove,
    ChangedMeanwhile,
    NoSuchProposal,
    NotAuthor,
    NotCounted,
    VoteNotEnded,
)
from ..models import (
    BallotBox,
    BallotParticipation,
    BallotTally,
    Endorsement,
    Follow,
    Proposal,
    ProposalTransition,
)
from ..vocabulary import AUTHOR, CATEGORIES, CHOICES, EDGES, STATUSES
from .ballots import ballot_box, open_ballot, vote_ended
from .common import clean_text, find, is_staff, proposal_id_of, record_transition, seen_by, uid
from .endorsements import reach_threshold

# -- submitting ----------------------------------------------------------------------------


def validate_proposal(data: dict) -> dict:
    errors: dict = {}
    clean = {
        "title": clean_text(data.get("title"), "title", limits.TITLE_MIN, limits.TITLE_MAX, errors),
        "body": clean_text(data.get("body"), "body", limits.BODY_MIN, limits.BODY_MAX, errors),
        "district": clean_text(data.get("district"), "district", 0, limits.DISTRICT_MAX, errors,
                               required=False),
        "location": clean_text(data.get("location"), "location", 0, limits.LOCATION_MAX, errors,
                               required=False),
    }
    category = data.get("category")
    if not category:
        errors["category"] = _l("This field is required.")
    elif category not in CATEGORIES:
        errors["category"] = _l("Not one of the allowed values.")
    clean["category"] = category
    if clean["district"] is not None:  # a code or a name in any language; stored as the code
        clean["district"] = places.clean(clean["district"], "district", errors, "district")
    if errors:
        raise Invalid(fields=errors)
    return clean


def create_proposal(session: Session, user, data: dict) -> Proposal:
    """A resident with a voice (verified, address confirmed) submits a proposal; it opens for
    endorsement at once."""
    accounts.require_voice(user)
    clean = validate_proposal(data)
    now = utcnow()
    proposal = Proposal(author_id=user.id, status="open", endorsement_count=0, created_at=now,
                        status_changed_at=now, lang=author_lang(user),
                        endorse_until=now + timedelta(days=settings.ENDORSEMENT_DAYS()), **clean)
    session.add(proposal)
    session.flush()
    # The author follows their own proposal: they hear of every change.
    session.add(Follow(proposal_id=proposal.id, user_id=user.id, created_at=now))
    audit.record(session, user, "proposals.create", "proposal", proposal.id, category=proposal.category)
    session.commit()
    return proposal


# -- the status graph ----------------------------------------------------------------------

def _check_move(user, proposal: Proposal, to: str) -> None:
    frm = proposal.status
    staff = is_staff(user)
    author = uid(user) == proposal.author_id
    if not (staff or author):
        raise Forbidden()
    if to == "hidden":
        who = STAFF if frm not in ("hidden",) else None
    elif frm == "hidden":
        who = STAFF if to == proposal.status_before_hidden else None
    else:
        who = EDGES.get((frm, to))
    if who is None:
        raise CannotMove(frm, to)
    if who == STAFF and not staff:
        raise Forbidden()
    if who == AUTHOR and not author:
        raise NotAuthor()


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


# -- transitions ---------------------------------------------------------------------------

def vote_end(value, errors: dict) -> datetime | None:
    """When a vote ends, in UTC: an aware datetime or ISO 8601 text with its offset (the API's;
    the pages give the Seoul time of the form, see views), in the future and at most
    VOTE_DAYS_MAX days away. A time without an offset is refused, never guessed: read as UTC,
    a Korean client's 18:00 ended the vote 9 hours late. A message in `errors` otherwise."""
    if value is None or value == "":
        errors["vote_ends_at"] = _l("Give the time the vote ends.")
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        errors["vote_ends_at"] = _l("Give the time the vote ends as a date and time, such as "
                                    "2027-03-02T18:00+09:00.")
        return None
    if value.utcoffset() is None:
        errors["vote_ends_at"] = _l("Give the time the vote ends with its offset from UTC, such as "
                                    "2027-03-02T18:00+09:00.")
        return None
    # Aware datetimes are compared and subtracted as UTC instants without converting them, so a
    # far date (9999-12-31 at -14:00) cannot overflow before it is refused.
    now = utcnow()
    if value <= now:
        errors["vote_ends_at"] = _l("The end of the vote must be in the future.")
    elif value - now > timedelta(days=limits.VOTE_DAYS_MAX):
        errors["vote_ends_at"] = _l("The vote must end within %(n)s days.", n=limits.VOTE_DAYS_MAX)
    else:
        return value.astimezone(UTC)
    return None


def _answer_dict(answer, errors: dict) -> dict | None:
    """The official answer, per locale ({"ko": ..., "en": ...}). A plain string is taken as the
    writer's language. A message in `errors` for another language, a text too long or made
    only of invisible characters."""
    if answer is None or answer == "":
        return None
    if isinstance(answer, str):
        answer = {current_locale(): answer}
    if not isinstance(answer, dict) or not all(k in LOCALES and isinstance(v, str) for k, v in answer.items()):
        errors["answer"] = _l("Invalid value.")
        return None
    clean = {}
    for lang, text in answer.items():
        text = clean_text(text, f"answer.{lang}", 1, limits.ANSWER_MAX, errors, required=False)
        if text and f"answer.{lang}" not in errors:
            clean[lang] = text
    return clean or None


def public_answer(proposal: Proposal, lang: str | None = None) -> tuple[str, str | None]:
    """The official answer in `lang` (or the fallback), and the language served."""
    return pick(proposal.answer or {}, lang)


def _move_values(proposal: Proposal, to: str, *, answer, department, vote_ends_at,
                 reason) -> tuple[dict, str | None]:
    """The columns a move to `to` sets, and the history note; 422 with every bad field."""
    frm = proposal.status
    errors: dict = {}
    values: dict = {"status": to, "status_changed_at": utcnow()}
    note = None
    answer_d = _answer_dict(answer, errors)
    if to in ("accepted", "rejected"):
        if not answer_d and not proposal.answer and not any(k.startswith("answer") for k in errors):
            errors["answer"] = _l("An official answer is required to accept or reject.")
        if frm == "voting" and proposal.vote_ends_at is not None and not vote_ended(proposal):
            raise VoteNotEnded()
    if to == "voting":
        when = vote_end(vote_ends_at, errors)
        if when is not None:
            values["vote_ends_at"] = when
    if to == "hidden":
        if not isinstance(reason, str) or not reason.strip():
            errors["reason"] = _l("Give a reason for hiding.")
        reason = clean_text(reason, "reason", 1, limits.REASON_MAX, errors, required=False)
        values.update(status_before_hidden=frm, hidden_reason=reason)
        note = reason
    if frm == "hidden":
        values.update(status_before_hidden=None, hidden_reason=None)
    department = clean_text(department, "department", 0, limits.DEPARTMENT_MAX, errors, required=False)
    if department is not None:
        values["department"] = department
    if errors:
        raise Invalid(fields=errors)
    if answer_d:
        values["answer"] = {**(proposal.answer or {}), **answer_d}
    return values, note


def transition(session: Session, user, proposal_id, to: str, *, answer=None, department=None,
               vote_ends_at=None, reason=None) -> Proposal:
    """Move a proposal along the allowed transitions; everything else is a 409."""
    accounts.require_login(user)
    if to not in STATUSES or to == "merged":
        raise Invalid(fields={"to": _l("Not one of the allowed values.")})
    proposal = find(session, user, proposal_id, lock=True)
    frm = proposal.status
    _check_move(user, proposal, to)
    try:
        values, note = _move_values(proposal, to, answer=answer, department=department,
                                    vote_ends_at=vote_ends_at, reason=reason)
    except Invalid:
        session.rollback()
        raise
    if frm == "voting" and to in ("accepted", "rejected"):
        box = ballot_box(session, proposal.id)
        if box is not None and box.counted_at is None:  # decided on the result, once counted
            session.rollback()
            raise NotCounted()
    # Only from the status we checked: a move made meanwhile makes this one a 409.
    changed = session.execute(
        update(Proposal).where(Proposal.id == proposal.id, Proposal.status == frm).values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        session.rollback()
        raise ChangedMeanwhile()
    if to == "voting":
        open_ballot(session, proposal)
    record_transition(session, proposal, frm, to, user, note=note)
    session.commit()
    session.refresh(proposal)
    return proposal


def assign_department(session: Session, user, proposal_id, department: str) -> Proposal:
    accounts.require_role(user, STAFF)
    proposal = find(session, user, proposal_id, lock=True)
    errors: dict = {}
    department = clean_text(department, "department", 1, limits.DEPARTMENT_MAX, errors)
    if errors:
        session.rollback()
        raise Invalid(fields=errors)
    proposal.department = department
    audit.record(session, user, "proposals.assign_department", "proposal", proposal.id)
    session.commit()
    return proposal


@dataclass(frozen=True)
class HistoryEntry:
    """One change of status as this reader may see it."""

    from_status: str
    to_status: str
    created_at: datetime
    note: str | None


_HISTORY = (select(ProposalTransition.from_status, ProposalTransition.to_status, ProposalTransition.created_at,
                    ProposalTransition.note)
            .where(ProposalTransition.proposal_id == bindparam("proposal_id")).order_by(ProposalTransition.id))


def history(session: Session, user, proposal_id: int) -> list[HistoryEntry]:
    """The visible history. The note of a hiding is its reason: staff only, also once the
    proposal is restored and everyone sees the history again."""
    staff = is_staff(user)
    return [HistoryEntry(frm, to, at, note if staff or to != "hidden" else None)
            for frm, to, at, note in session.execute(_HISTORY, {"proposal_id": proposal_id})]


# -- the detail, read in one statement -------------------------------------------------------

def _pid():
    return bindparam("proposal_id")


def _viewer_has(model):
    return exists().where(model.proposal_id == _pid(), model.user_id == bindparam("user_id"))


_DETAIL = select(
    Proposal.id, Proposal.title, Proposal.category, Proposal.district, Proposal.status,
    Proposal.endorsement_count, Proposal.endorse_until, Proposal.vote_ends_at, Proposal.created_at,
    Proposal.department, Proposal.merged_into_id, Proposal.body, Proposal.location, Proposal.answer,
    Proposal.hidden_reason, Proposal.author_id,
    select(BallotBox.counted_at.is_not(None)).where(BallotBox.proposal_id == _pid())
    .scalar_subquery().label("counted"),
    *(select(BallotTally.votes).where(BallotTally.proposal_id == _pid(), BallotTally.choice == choice)
      .scalar_subquery().label(f"votes_{i}") for i, choice in enumerate(CHOICES)),
    _viewer_has(Endorsement).label("endorsed"),
    _viewer_has(Follow).label("following"),
    _viewer_has(BallotParticipation).label("voted"),
).where(Proposal.id == _pid())
_VOTES = [c.name for c in _DETAIL.selected_columns].index("votes_0")  # where the tally's columns start


@dataclass(frozen=True)
class Detail:
    """A proposal as its detail shows it to one reader, read in one statement: the row (its
    columns by name), the tally as ``ballots.tally`` gives it, and the reader's flags as
    ``has_endorsed``, ``is_following`` and ``has_voted`` give them."""

    row: object
    tally: dict | None
    endorsed: bool
    following: bool
    voted: bool


def read_detail(session: Session, user, proposal_id) -> Detail:
    """The proposal (404 as ``find``: hidden ones only for staff) with its tally and the reader's
    flags, in one statement instead of four (six signed in). A read."""
    user_id = uid(user)
    row = seen_by(user, session.execute(_DETAIL, {"proposal_id": proposal_id_of(proposal_id),
                                                  "user_id": user_id}).first())
    tally = None
    if row.counted:
        tally = {choice: int(row[_VOTES + i] or 0) for i, choice in enumerate(CHOICES)}
    signed_in = bool(user_id)
    return Detail(row, tally, signed_in and bool(row.endorsed), signed_in and bool(row.following),
                  signed_in and bool(row.voted))


# -- merging duplicates --------------------------------------------------------------------

def merge(session: Session, user, duplicate_id, target_id) -> Proposal:
    """Merge a duplicate into another proposal; each endorser counts once on the target."""
    accounts.require_role(user, STAFF)
    try:
        dup_id, tgt_id = int(duplicate_id), int(target_id)
    except (TypeError, ValueError):
        raise Invalid(fields={"into": _l("Invalid value.")}) from None
    if not 1 <= tgt_id <= MAX_ID:  # beyond the id column: no proposal has it (nor may a query ask)
        raise Invalid(fields={"into": _l("No such proposal.")})
    if dup_id == tgt_id:
        raise Invalid(fields={"into": _l("A proposal cannot be merged into itself.")})
    # Lock both rows in id order so two merges cannot deadlock.
    locked = {p.id: p for p in session.scalars(
        select(Proposal).where(Proposal.id.in_([dup_id, tgt_id])).order_by(Proposal.id).with_for_update())}
    dup, target = locked.get(dup_id), locked.get(tgt_id)
    if dup is None:
        raise NoSuchProposal()
    if target is None:  # a well-formed id of no proposal: 404 naming the field, like the path's
        raise NoSuchProposal(fields={"into": _l("No such proposal.")})
    if dup.status in ("merged", "hidden") or target.status in ("merged", "hidden", "withdrawn"):
        raise CannotMerge()
    frm = dup.status
    # Each endorser and follower once on the target: the unique constraints skip those already
    # there (and the target's author does not endorse their own proposal).
    insert_ignore(
        session, Endorsement,
        columns=["proposal_id", "user_id", "created_at"],
        select_from=select(literal(target.id), Endorsement.user_id, Endorsement.created_at).where(
            Endorsement.proposal_id == dup.id, Endorsement.user_id != target.author_id),
    )
    insert_ignore(
        session, Follow,
        columns=["proposal_id", "user_id", "created_at"],
        select_from=select(literal(target.id), Follow.user_id, Follow.created_at).where(
            Follow.proposal_id == dup.id),
    )
    # The count is recounted from the rows, under the target's row lock.
    count_q = select(func.count()).select_from(Endorsement).where(
        Endorsement.proposal_id == target.id).scalar_subquery()
    session.execute(update(Proposal).where(Proposal.id == target.id).values(endorsement_count=count_q)
                    .execution_options(synchronize_session=False))
    session.execute(update(Proposal).where(Proposal.id == dup.id)
                    .values(status="merged", merged_into_id=target.id, status_changed_at=utcnow())
                    .execution_options(synchronize_session=False))
    record_transition(session, dup, frm, "merged", user, note=f"#{target.id}")
    audit.record(session, user, "proposals.merge", "proposal", dup.id, into=target.id)
    session.flush()
    session.refresh(target)
    if target.status == "open" and target.endorsement_count >= settings.ENDORSEMENT_THRESHOLD():
        reach_threshold(session, target)
    session.commit()
    session.refresh(target)
    return target


# -- closing expired windows ---------------------------------------------------------------

def _close_one(session: Session, proposal_id: int, now: datetime) -> bool:
    """open -> closed if its window ended below the threshold. Flushes; the caller commits."""
    # Conditional: an endorsement or a staff move that got there first wins.
    changed = session.execute(
        update(Proposal)
        .where(Proposal.id == proposal_id, Proposal.status == "open", Proposal.endorse_until <= now,
               Proposal.endorsement_count < settings.ENDORSEMENT_THRESHOLD())
        .values(status="closed", status_changed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        record_transition(session, session.get(Proposal, proposal_id), "open", "closed", None)
    return bool(changed)


def close_expired(session: Session, now: datetime | None = None) -> int:
    """Beat task: open proposals whose window ended below the threshold become `closed`.

    Each proposal is its own unit of work, committed on its own, so one sweep holds no lock
    for long and a failure leaves the proposals already closed closed."""
    now = now or utcnow()
    ids = list(session.scalars(select(Proposal.id).where(
        Proposal.status == "open", Proposal.endorse_until <= now).order_by(Proposal.id)))
    closed = 0
    for pid in ids:
        closed += _close_one(session, pid, now)
        session.commit()
    return closed
