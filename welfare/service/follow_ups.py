"""Officers' follow-ups of the notices the scan sent, opened by what the voice provider reports
(``portal.notify.service.receipts.ON_EVENT``):

- keypress 1: a ``callback`` (an officer calls back to help apply);
- keypress 3: a ``health_check`` (a referral to the public health centre's cognitive check);
- keypress 9: "no more calls about this": the resident's profile stops notices about benefits
  (``WelfareProfile.notices_opt_out``, what the scan already honours and the resident's profile
  page shows and lets them undo); no follow-up;
- the third unanswered call (``no_answer``, ``busy``, ``failed``) of a voice notice (or the
  last, when ``NOTIFY_MAX_ATTEMPTS`` is below three): an ``unreachable`` follow-up, and the
  notice again by SMS (or to the portal inbox when the resident has no phone number or switched
  SMS off). The call is not tried again: it ends as ``could_not_reach``.

One follow-up per (notice, kind): the unique constraint is the guarantee, so a repeated keypress
(or the same event posted twice at once) opens nothing new. Each follow-up is due two working
days after it opened (Monday to Friday in Asia/Seoul, at the same time of day; public holidays
are not skipped). Opening, the opt-out and every officer's change write an audit row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal import audit
from portal.accounts.models import User, UserRole
from portal.accounts.roles import WELFARE_OFFICER
from portal.db import insert_ignoring
from portal.errors import Invalid
from portal.types import utcnow
from welfare.errors import NoFollowUp
from welfare.limits import FOLLOW_UP_WORKING_DAYS, UNREACHABLE_CALLS
from welfare.models import FOLLOW_UP_OUTCOMES, FOLLOW_UP_STATUSES, FollowUp, Notice, Programme, WelfareProfile
from welfare.service.common import SEOUL, is_officer, require_officer

KEYPRESS_KINDS = {"1": "callback", "3": "health_check"}
OPT_OUT_DIGIT = "9"
UNANSWERED = ("no_answer", "busy", "failed")
FALLBACK_KEY_SUFFIX = ":unreachable"
# PATCH's "assignee" left out: the assignee stays as it is
KEEP = object()


def due_at(opened: datetime, working_days: int = FOLLOW_UP_WORKING_DAYS) -> datetime:
    """``working_days`` working days after ``opened``: Monday to Friday on Seoul's calendar, at
    the same time of day (a follow-up opened on a Saturday counts from Monday)."""
    local = opened.astimezone(SEOUL)
    left = working_days
    while left > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            left -= 1
    return local.astimezone(opened.tzinfo or SEOUL)


# -- opened by provider events ----------------------------------------------------------------

def _notice_of(session: Session, message_id: int):
    """(notice id, user id, programme id, channel) of a welfare notice's outbox message, or None
    for any other message. The message's idempotency key is "welfare:<code>:<user id>"
    (scan.message_key): the notice is found by its unique (programme, user) index."""
    from portal.notify.models import Message

    row = session.execute(sa.select(Message.idempotency_key, Message.channel)
                          .where(Message.id == message_id)).first()
    if row is None or not row.idempotency_key.startswith("welfare:"):
        return None
    code, _sep, user_id = row.idempotency_key[len("welfare:"):].rpartition(":")
    if not code or not user_id.isdigit():
        return None
    notice = session.execute(
        sa.select(Notice.id, Notice.user_id, Notice.programme_id)
        .join(Programme, Programme.id == Notice.programme_id)
        .where(Programme.code == code, Notice.user_id == int(user_id),
               Notice.message_key == row.idempotency_key)).first()
    if notice is None:
        return None
    return notice.id, notice.user_id, notice.programme_id, row.channel, row.idempotency_key


def open_follow_up(session: Session, notice_id: int, user_id: int, programme_id: int, kind: str,
                   now: datetime | None = None) -> int | None:
    """Open the notice's follow-up of ``kind`` unless it has one; its id when this call opened it.
    Flushes only (the caller commits)."""
    now = now or utcnow()
    # the unique (notice_id, kind) is the guarantee: a second keypress, or the same one twice
    # at once, inserts nothing
    stmt = (insert_ignoring(session.get_bind(), FollowUp, index_elements=["notice_id", "kind"])
            .values(kind=kind, user_id=user_id, programme_id=programme_id, notice_id=notice_id,
                    status="open", due_at=due_at(now), created_at=now, updated_at=now)
            .returning(FollowUp.id))
    new_id = session.execute(stmt).scalar()
    if new_id is not None:
        audit.record(session, None, "welfare.follow_up.opened", "welfare_follow_up", new_id,
                     kind=kind, notice_id=notice_id, programme_id=programme_id)
    return new_id


def on_provider_event(session: Session, message_id: int, event: str, digits: str | None,
                      now: datetime) -> None:
    """``receipts.ON_EVENT``: what a newly stored provider event of a welfare notice opens (see
    the module's docstring). Flushes only: the events endpoint commits."""
    if event != "keypress" and event not in UNANSWERED:
        return
    found = _notice_of(session, message_id)
    if found is None:
        return
    notice_id, user_id, programme_id, channel, key = found
    if event == "keypress":
        pressed = (digits or "").strip()
        if pressed in KEYPRESS_KINDS:
            open_follow_up(session, notice_id, user_id, programme_id, KEYPRESS_KINDS[pressed], now)
        elif pressed == OPT_OUT_DIGIT:
            _opt_out(session, user_id, notice_id)
        return
    if channel != "voice":
        return
    from portal.notify import settings as notify_settings
    from portal.notify.models import Message, ProviderEvent

    # the notice's row lock: two unanswered calls reported at once are counted one after the
    # other (the second sees the first's event once it commits), so the third is never missed
    # (FOR NO KEY UPDATE: the event rows just inserted hold FOR KEY SHARE on it, which it must not wait for)
    session.execute(sa.select(Message.id).where(Message.id == message_id).with_for_update(key_share=True))

    # three calls, or fewer when the outbox gives up sooner (NOTIFY_MAX_ATTEMPTS)
    enough = min(UNREACHABLE_CALLS, notify_settings.MAX_ATTEMPTS())
    unanswered = session.execute(sa.select(sa.func.count()).select_from(ProviderEvent).where(
        ProviderEvent.message_id == message_id, ProviderEvent.event.in_(UNANSWERED))).scalar_one()
    if unanswered >= enough:
        if open_follow_up(session, notice_id, user_id, programme_id, "unreachable", now) is not None:
            _fall_back(session, user_id, programme_id, key)
            _stop_calling(session, message_id, now)


def _stop_calling(session: Session, message_id: int, now: datetime) -> None:
    """The resident was told by text (or in the inbox): the phone does not ring again for this
    notice. It ends as a permanent failure, ``could_not_reach``, before the receipt that brought
    it here schedules a retry (which only a notice still ``sent`` gets)."""
    from portal.notify.models import Message
    from portal.notify.service.delivery import purged

    session.execute(sa.update(Message).where(Message.id == message_id, Message.status == "sent")
                    .values(status="permanent_failure", failed_at=now, updated_at=now, next_attempt_at=None,
                            last_error="could_not_reach", **purged(now))
                    .execution_options(synchronize_session=False))


def _opt_out(session: Session, user_id: int, notice_id: int) -> None:
    """Keypress 9: no more notices about benefits (the scan skips the profile from now on)."""
    stopped = session.execute(
        sa.update(WelfareProfile)
        .where(WelfareProfile.user_id == user_id, WelfareProfile.notices_opt_out.is_(False))
        .values(notices_opt_out=True, updated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if stopped:
        audit.record(session, None, "welfare.notices.opted_out", "welfare_profile", user_id,
                     source="keypress", notice_id=notice_id)


def _fall_back(session: Session, user_id: int, programme_id: int, key: str) -> None:
    """The notice again where the resident can read it: by SMS, or in the portal inbox when they
    have no phone number or switched SMS off (never nowhere)."""
    from portal.notify import service as notify
    from portal.notify.models import Preference
    from welfare.service.scan import NOTICE_TEMPLATE, _notice_context

    user = session.get(User, user_id)
    prog = session.get(Programme, programme_id)
    if user is None or prog is None:
        return
    pref = session.get(Preference, user_id)
    sms_off = pref is not None and "sms" in (pref.opted_out or ())
    channel = "sms" if user.phone and not sms_off else "app"
    notify.send(session, template=NOTICE_TEMPLATE, context=_notice_context(prog),
                idempotency_key=key + FALLBACK_KEY_SUFFIX, user=user, channel=channel)


# -- officers -----------------------------------------------------------------------------------

def list_follow_ups(session: Session, actor, status: str | None = None, *, for_page: bool = False):
    """The officers' queue (a statement of rows for ``portal.api.paginate`` in :data:`ORDER`):
    due first, so the overdue ones (due before now) come first. ``for_page``: with what the
    officers' page shows besides (the programme's names, whom to call back and who is assigned)."""
    require_officer(actor)
    stmt = (sa.select(FollowUp.id, FollowUp.kind, Programme.code.label("programme"), FollowUp.due_at,
                      FollowUp.status, FollowUp.assignee_id, FollowUp.outcome, FollowUp.created_at)
            .join(Programme, Programme.id == FollowUp.programme_id))
    if for_page:
        resident, assignee = sa.orm.aliased(User), sa.orm.aliased(User)
        stmt = (stmt.add_columns(Programme.name.label("programme_name"), resident.name.label("resident_name"),
                                 resident.phone.label("resident_phone"), assignee.name.label("assignee_name"))
                .join(resident, resident.id == FollowUp.user_id)
                .outerjoin(assignee, assignee.id == FollowUp.assignee_id))
    if status:
        stmt = stmt.where(FollowUp.status == status)
    return stmt


ORDER = [(FollowUp.due_at, "asc"), (FollowUp.id, "asc")]


def follow_up_row(session: Session, actor, follow_up_id: int):
    """One follow-up as the queue lists it (:class:`NoFollowUp` when there is none)."""
    row = session.execute(list_follow_ups(session, actor).where(FollowUp.id == follow_up_id)).first()
    if row is None:
        raise NoFollowUp()
    return row


def officers(session: Session, actor) -> list[tuple[int, str]]:
    """Who a follow-up may be assigned to: (id, name) of every welfare officer."""
    require_officer(actor)
    rows = session.execute(sa.select(User.id, User.name).join(UserRole, UserRole.user_id == User.id)
                           .where(UserRole.role == WELFARE_OFFICER, User.active.is_(True))
                           .order_by(User.name, User.id)).all()
    return [(r.id, r.name) for r in rows]


def update_follow_up(session: Session, actor, follow_up_id: int, *, status: str, outcome: str | None,
                     assignee=KEEP) -> FollowUp:
    """An officer sets a follow-up's status and outcome (``done`` needs an outcome, ``open`` has
    none) and, when given, its assignee (a welfare officer, or None: nobody). Audited; commits."""
    require_officer(actor)
    row = session.scalars(sa.select(FollowUp).where(FollowUp.id == follow_up_id).with_for_update()).first()
    if row is None:
        raise NoFollowUp()
    fields = {}
    if status not in FOLLOW_UP_STATUSES:
        fields["status"] = _("Not one of the allowed values.")
    if outcome is not None and outcome not in FOLLOW_UP_OUTCOMES:
        fields["outcome"] = _("Not one of the allowed values.")
    elif status == "done" and outcome is None:
        fields["outcome"] = _("Choose an outcome to close the follow-up.")
    elif status == "open" and outcome is not None:
        fields["outcome"] = _("An open follow-up has no outcome yet.")
    if assignee is not KEEP and assignee is not None:
        officer = session.get(User, assignee)
        if officer is None or not is_officer(officer):
            fields["assignee"] = _("Not a welfare officer.")
    if fields:
        raise Invalid(fields=fields)
    now = utcnow()
    before = {"status": row.status, "outcome": row.outcome, "assignee": row.assignee_id}
    if status == "done":
        row.closed_at = row.closed_at if row.status == "done" else now
    else:
        row.closed_at = None
    row.status, row.outcome = status, outcome
    if assignee is not KEEP:
        row.assignee_id = assignee
    row.updated_at = now
    after = {"status": row.status, "outcome": row.outcome, "assignee": row.assignee_id}
    audit.record(session, actor, "welfare.follow_up.updated", "welfare_follow_up", row.id,
                 before=before, after=after)
    session.commit()
    return row
