"""Reading many proposals: the public list (filters, search, sorts, cursors), similar titles,
the staff triage queue and flagged list, and the open-data export. Reads only: no writes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, func, literal, or_, select
from sqlalchemy.orm import Session, defer

from portal import places
from portal.accounts import service as accounts
from portal.accounts.roles import STAFF
from portal.api import paginate
from portal.db import begin_for_streaming
from portal.errors import Invalid
from portal.i18n import pick
from portal.types import utcnow

from ..limits import DISTRICT_MAX, PAGE_SIZE, QUERY_MAX, TITLE_MAX
from ..models import Flag, Proposal
from ..vocabulary import CATEGORIES, PUBLIC_STATUSES, SORTS, STATUSES
from .common import is_staff

SEARCH_WORDS = 8  # words of a search that filter the list; the rest are ignored
SIMILAR_WORDS = 10  # words of a title compared with other titles


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
    q = (args.get("q") or "").strip()[:QUERY_MAX] or None
    district = (args.get("district") or "").strip()[:DISTRICT_MAX] or None
    # A code or a name in any language; text that names no district is kept (it matches what was
    # stored before districts had codes).
    district = places.match(district, "district") or district
    if errors:
        raise Invalid(fields=errors)
    return ListQuery(status=status, category=category, district=district, q=q, sort=sort)


def _like(term: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", term) + "%"


# What a list shows of a proposal: every column but the body, read as rows (building ORM
# objects for a page of twenty cost about a tenth of the list API's time).
LIST_COLUMNS = tuple(getattr(Proposal, a.key) for a in Proposal.__mapper__.column_attrs if a.key != "body")


def list_proposals(session: Session, user, query: ListQuery, cursor: str | None = None,
                   limit: int = PAGE_SIZE):
    """Search, filter, sort and page. Returns (rows, next_cursor): rows with a proposal's
    columns as attributes, the body left out."""
    if query.status == "hidden" and not is_staff(user):
        return [], None
    if query.q:  # searched words are the statement's own values: built for this request
        stmt, order = _statement(query)
        return paginate(session, stmt, order, cursor, limit, rows=True, params={"now": utcnow()})
    # Without a search the statement depends on the filters only: built once per shape (its
    # time is a bound parameter), as is its first page.
    shape = (query.status, query.category, query.district, query.sort)
    built = _shapes.get(shape)
    if built is None:
        built = _statement(query)
        if len(_shapes) < 1024:
            _shapes[shape] = built
    stmt, order = built
    return paginate(session, stmt, order, cursor, limit, rows=True, params={"now": utcnow()},
                    order_key=query.sort)


_shapes: dict[tuple, tuple] = {}


def _statement(query: ListQuery):
    """(statement, order) of a list: filters, search words, sort."""
    stmt = select(*LIST_COLUMNS)
    if query.status:
        stmt = stmt.where(Proposal.status == query.status)
    else:
        stmt = stmt.where(Proposal.status.in_(PUBLIC_STATUSES))
    if query.category:
        stmt = stmt.where(Proposal.category == query.category)
    if query.district:
        stmt = stmt.where(Proposal.district == query.district)
    if query.q:
        for word in query.q.split()[:SEARCH_WORDS]:
            pattern = _like(word)
            stmt = stmt.where(or_(Proposal.title.ilike(pattern, escape="\\"),
                                  Proposal.body.ilike(pattern, escape="\\")))
    if query.sort == "newest":
        order = [(Proposal.created_at, "desc"), (Proposal.id, "desc")]
    elif query.sort == "ending":
        # Ending soon: proposals still open for endorsement, the nearest deadline first.
        stmt = stmt.where(Proposal.status == "open", Proposal.endorse_until > bindparam("now"))
        order = [(Proposal.endorse_until, "asc"), (Proposal.id, "asc")]
    else:
        order = [(Proposal.endorsement_count, "desc"), (Proposal.id, "desc")]
    return stmt, order


def similar(session: Session, title: str, limit: int = 5) -> list[Proposal]:
    """Up to `limit` visible proposals whose titles share the most words with `title`."""
    words = [w for w in re.split(r"\W+", (title or "")[:TITLE_MAX]) if len(w) >= 2][:SIMILAR_WORDS]
    if not words:
        return []
    score = sum((case((Proposal.title.ilike(_like(w), escape="\\"), 1), else_=0) for w in words),
                start=literal(0))
    stmt = (select(Proposal).options(defer(Proposal.body)).where(Proposal.status.in_(PUBLIC_STATUSES), score > 0)
            .order_by(score.desc(), Proposal.endorsement_count.desc(), Proposal.id.desc()).limit(limit))
    return list(session.scalars(stmt))


def triage_queue(session: Session, user, limit: int = 100) -> list[tuple[Proposal, int]]:
    """Staff: proposals under review, oldest first, with their abuse-flag counts."""
    accounts.require_role(user, STAFF)
    flags = (select(func.count()).select_from(Flag).where(Flag.proposal_id == Proposal.id)
             .correlate(Proposal).scalar_subquery())
    stmt = (select(Proposal, flags).where(Proposal.status == "under_review")
            .order_by(Proposal.status_changed_at.asc(), Proposal.id.asc()).limit(limit))
    return [(p, int(n)) for p, n in session.execute(stmt).all()]


def flagged(session: Session, user, limit: int = 50) -> list[tuple[Proposal, int]]:
    """Staff: visible proposals with abuse reports, most reported first."""
    accounts.require_role(user, STAFF)
    n = func.count(Flag.id)
    stmt = (select(Proposal, n).join(Flag, Flag.proposal_id == Proposal.id)
            .where(Proposal.status != "hidden").group_by(Proposal.id)
            .order_by(n.desc(), Proposal.id).limit(limit))
    return [(p, int(c)) for p, c in session.execute(stmt).all()]


def export_rows(session: Session):
    """Open data: public fields of every public proposal, in id order, streamed."""
    begin_for_streaming(session)
    stmt = (select(Proposal).where(Proposal.status.in_(PUBLIC_STATUSES)).order_by(Proposal.id)
            .execution_options(yield_per=500))
    for p in session.scalars(stmt):
        answer, _lang = pick(p.answer or {}, "ko")
        yield p, answer
