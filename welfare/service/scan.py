"""The scan: set-based, in batches of user ids, it writes one notice per (resident, programme)
a resident newly qualifies for, and their outbox messages through ``notify.send_select``; and
the reach of those notices (queued and delivered per programme)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal import audit
from portal.accounts.models import User
from portal.db import dialect_name, insert_ignoring
from portal.errors import Invalid
from portal.types import JSONType, UTCDateTime, utcnow
from welfare import rules
from welfare.models import Notice, Programme, WelfareProfile
from welfare.service.common import require_officer, seoul_today
from welfare.service.programmes import active_programmes, as_day

NOTICE_TEMPLATE = "welfare.eligible"
BATCH_SIZE = 20000  # user ids per window (the command line's --batch-size default)


@dataclass
class ScanResult:
    programmes: int = 0
    batches: int = 0
    new_notices: int = 0
    queued_messages: int = 0
    by_programme: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"programmes": self.programmes, "batches": self.batches,
                "new_notices": self.new_notices, "queued_messages": self.queued_messages,
                "by_programme": self.by_programme}


def message_key(code: str, user_id: int | str) -> str:
    """The outbox idempotency key of a notice (and Notice.message_key): one per resident and
    programme."""
    return f"welfare:{code}:{user_id}"


def scan_plan(session: Session, batch_size: int) -> list[tuple[int, int]]:
    """The user-id windows the scan walks through (each one statement per programme)."""
    low, high = session.execute(sa.select(sa.func.min(WelfareProfile.user_id),
                                          sa.func.max(WelfareProfile.user_id))).one()
    if low is None:
        return []
    return [(lo, min(lo + batch_size - 1, high)) for lo in range(low, high + 1, batch_size)]


def scan(session: Session, actor=None, today: date | None = None, batch_size: int = BATCH_SIZE,
         progress: Callable[[int], None] | None = None) -> ScanResult:
    """Find residents who newly qualify for an active programme and queue one notice each.

    Set-based and in batches: per window of user ids, ONE statement reads the window's
    candidates once (verified, active, not opted out: a materialised CTE), tests every active
    programme's compiled rule on them (UNION ALL, one branch per programme), takes out who was
    told already (EXCEPT the window's notices), and
    INSERT INTO welfare_notice ... ON CONFLICT DO NOTHING RETURNING the rows it inserted; then
    one notify.send_select writes their outbox messages straight from those notice rows (in
    SQL: the rows never travel through Python), committed together with them. A second or
    concurrent scan finds the notices (or waits on the unique index and skips them), so no
    resident hears twice about one programme. `actor` None is the system (command line, beat
    task).

    Transactions: unlike every other use case, the scan commits once PER BATCH, by design (a
    million profiles are not one transaction; a scan stopped half-way keeps what it told, and
    the next scan goes on from there), and once more for its audit row.
    """
    from portal.notify import service as notify

    if actor is not None:
        require_officer(actor)
    if batch_size < 1:
        raise Invalid(fields={"batch_size": _("Must be at least %(n)s.", n=1)})
    today = scan_day(today)
    progs = active_programmes(session, today)
    windows = scan_plan(session, batch_size) if progs else []
    result = ScanResult(programmes=len(progs), by_programme={p.code: 0 for p in progs})
    codes = {p.id: p.code for p in progs}
    session.commit()  # end the read transaction: each batch is its own
    for lo, hi in windows:
        batch = _hold_programmes(session, progs)
        if not batch:
            session.commit()
            continue
        notice_values = _notice_values(batch)
        now = utcnow()
        counts = _new_notice_counts(session, _scan_statement(session, batch, lo, hi, today, now))
        if counts:
            for programme_id, count in counts:
                result.by_programme[codes[programme_id]] += count
                result.new_notices += count
            # The window's new notices are the rows this statement wrote: this window's ids
            # with this statement's timestamp. (Should another scan ever have committed notices
            # with the very same timestamp, their messages were committed with them and the
            # outbox's idempotency keys skip them.)
            result.queued_messages += notify.send_select(
                session, _messages_source(notice_values, lo, hi, now), template=NOTICE_TEMPLATE)
        session.commit()  # one batch: its notices and their messages, together
        result.batches += 1
        if progress:
            progress(1)
    if actor is not None or result.new_notices:
        audit.record(session, actor, "welfare.scan", "welfare_programme", "*",
                     new_notices=result.new_notices, programmes=result.programmes)
        session.commit()
    return result


def _hold_programmes(session: Session, progs: list[Programme]) -> list[Programme]:
    """The scan's programmes as they are now (code, rules, texts), held FOR KEY SHARE until the
    batch commits: the notices a batch writes carry their programme's code in their key
    ("welfare:<code>:<user id>"), so an officer's edit of a programme (FOR UPDATE) either waits
    for the batch, then sees its notices and keeps the code (programmes.update_programme), or
    commits first, and the batch reads the new code here. A programme deleted meanwhile (it had
    no notices) drops out. Flushes nothing; the batch's commit releases the locks."""
    held = session.scalars(
        sa.select(Programme).where(Programme.id.in_([p.id for p in progs])).order_by(Programme.id)
        .with_for_update(read=True, key_share=True).execution_options(populate_existing=True))
    return list(held)


def _new_notice_counts(session: Session, insert) -> list[tuple[int, int]]:
    """Run the scan's INSERT ... RETURNING; (programme_id, new notices) for each programme.

    PostgreSQL counts in the statement (the INSERT as a data-modifying CTE): twenty rows come
    back instead of one per notice. SQLite has no such CTE: its rows are counted here.
    """
    if dialect_name(session.get_bind()) == "postgresql":
        new = insert.cte("new_notices")
        return session.execute(sa.select(new.c.programme_id, sa.func.count())
                               .group_by(new.c.programme_id)).all()
    counts: dict[int, int] = {}
    for programme_id, _user_id in session.execute(insert):
        counts[programme_id] = counts.get(programme_id, 0) + 1
    return list(counts.items())


def _notice_values(progs: list[Programme]):
    """Per programme, what its notices carry: the context and the channel asked for (a small
    UNION ALL of literal rows, which SQLite reads as well as PostgreSQL)."""
    rows = [sa.select(sa.literal(p.id, sa.Integer).label("programme_id"),
                      sa.literal(_notice_context(p), JSONType).label("context"),
                      sa.literal((p.channels or [None])[0], sa.String(10)).label("channel"))
            for p in progs]
    return (sa.union_all(*rows) if len(rows) > 1 else rows[0]).subquery("welfare_notice_values")


def _messages_source(notice_values, lo: int, hi: int, now):
    """The outbox rows (for notify.send_select) of the notices one scan statement wrote."""
    v = notice_values
    return (sa.select(Notice.user_id.label("user_id"), Notice.message_key.label("idempotency_key"),
                      v.c.context.label("context"), v.c.channel.label("channel"))
            .join(v, v.c.programme_id == Notice.programme_id)
            .where(Notice.user_id.between(lo, hi), Notice.created_at == sa.literal(now, UTCDateTime)))


def _scan_statement(session: Session, progs: list[Programme], lo: int, hi: int, today: date, now):
    """INSERT the notices of one window of user ids for every programme; RETURNING the new ones.

    Both the profiles and the users are read by the window's id range (an index range each, not
    the whole user table). Who was told already is taken out with one EXCEPT against the
    window's notices: a hash or sort of two sets of the window's size, never a nested loop that
    a stale row estimate (right after a big scan) could make quadratic.
    """
    candidates = (
        sa.select(WelfareProfile.user_id, WelfareProfile.birth_date, WelfareProfile.median_income_pct,
                  WelfareProfile.household_size, WelfareProfile.lives_alone, WelfareProfile.disability_grade,
                  WelfareProfile.youngest_child_birth_date, WelfareProfile.district)
        .join(User, User.id == WelfareProfile.user_id)
        .where(WelfareProfile.user_id.between(lo, hi),
               User.id.between(lo, hi),
               WelfareProfile.notices_opt_out.is_(False),
               User.verified_at.is_not(None),
               User.active.is_(True))
        .cte("welfare_scan_window").prefix_with("MATERIALIZED"))
    c = candidates.c
    eligible = [
        sa.select(c.user_id.label("user_id"), sa.literal(prog.id, sa.Integer).label("programme_id"))
        .where(rules.to_sql(prog.rules, c, today))
        for prog in progs]
    told = sa.select(Notice.user_id, Notice.programme_id).where(Notice.user_id.between(lo, hi))
    eligible = (sa.union_all(*eligible) if len(eligible) > 1 else eligible[0]).subquery("eligible")
    found = sa.select(eligible.c.user_id, eligible.c.programme_id).except_(told).subquery("found")
    prefix = sa.case({prog.id: message_key(prog.code, "") for prog in progs}, value=found.c.programme_id)
    select = (sa.select(found.c.user_id, found.c.programme_id,
                      (prefix + sa.cast(found.c.user_id, sa.String)).label("message_key"),
                      sa.literal(now, UTCDateTime))
              .where(sa.true())  # SQLite: a WHERE keeps "ON CONFLICT" from parsing as a join
              .order_by(found.c.programme_id, found.c.user_id))  # one lock order for concurrent scans
    # The unique (programme_id, user_id) index is the guarantee: a resident is told once about a
    # programme, however many scans run at once (a concurrent one waits on the index, then skips).
    return (insert_ignoring(session.get_bind(), Notice, index_elements=["programme_id", "user_id"])
            .from_select(["user_id", "programme_id", "message_key", "created_at"], select)
            .returning(Notice.programme_id, Notice.user_id))


def scan_day(today: date | None) -> date:
    """The day a scan counts ages and programme periods on: today in Seoul, or a day within
    limits.CALENDAR (422 with the field `date` otherwise: year 1 made ages overflow)."""
    if today is None:
        return seoul_today()
    errors: dict = {}
    day = as_day(today, errors, "date")
    if errors:
        raise Invalid(fields=errors)
    return day


def queue_scan(session: Session, actor, today: date | None = None) -> str:
    """An officer asks for a scan in the background (Celery); the request is audited."""
    from welfare.tasks import scan_task

    require_officer(actor)
    today = scan_day(today) if today is not None else None
    audit.record(session, actor, "welfare.scan.requested", "welfare_programme", "*")
    session.commit()
    return scan_task.delay(today.isoformat() if today else None).id


def _notice_context(prog: Programme) -> dict:
    """What the notice templates need: public programme facts, nothing about the resident.
    ``summary``: the description's first sentence per language (what a call says of it);
    ``fallback``: the programme's channels, for a notice whose channel has no address."""
    return {"programme_code": prog.code, "name": dict(prog.name or {}),
            "summary": {lang: first_sentence(text) for lang, text in (prog.description or {}).items()
                        if first_sentence(text)},
            "how_to_apply": dict(prog.how_to_apply or {}), "callback_phone": prog.callback_phone or "",
            # where a notice goes when its channel has no address for the resident (the inbox last)
            "fallback": list(prog.channels or [])}


_SENTENCE_END = re.compile(r"(?<=[.!?])\s|(?<=[。！？])")


def first_sentence(text) -> str:
    """The first sentence of ``text`` (a description), white space folded."""
    text = " ".join(str(text or "").split())
    return _SENTENCE_END.split(text, maxsplit=1)[0].strip() if text else ""


# -- reach ---------------------------------------------------------------------------------

def reach(session: Session, actor) -> list[dict]:
    """Per programme: notices queued by scans, and how many of their messages were delivered."""
    require_officer(actor)
    counts = dict(session.execute(sa.select(Notice.programme_id, sa.func.count())
                                  .group_by(Notice.programme_id)).all())
    delivered = _delivered_counts(session)
    out = []
    for prog in session.scalars(sa.select(Programme).order_by(Programme.id)):
        out.append({"programme": prog, "notices": counts.get(prog.id, 0),
                    "delivered": delivered.get(prog.id, 0) if delivered is not None else None})
    return out


def _delivered_counts(session: Session) -> dict | None:
    """Delivered messages per programme, joined on the outbox's idempotency key."""
    try:
        from portal.notify.models import Message
    except ImportError:
        return None
    rows = session.execute(
        sa.select(Notice.programme_id, sa.func.count())
        .join(Message, Message.idempotency_key == Notice.message_key)
        .where(Message.status == "delivered")
        .group_by(Notice.programme_id)).all()
    return dict(rows)
