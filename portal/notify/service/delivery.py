"""Delivery: :func:`deliver_batch`, run by the ``notify.deliver_batch`` task.

It claims rows with a conditional ``UPDATE ... WHERE status IN (queued, due temporary_failure)``,
so two workers never both send one notice; it records each outcome fenced on the claim
(``status = 'sending' AND sending_at = <this claim>``), so a worker that lost its claim to the
sweep cannot overwrite a newer attempt.

Transactions: delivery runs in a session of its own (:func:`fresh_session`) and commits per
step of a batch, by design: the claim is committed before any provider is called (so the sweep
and other workers see it while the provider is slow), and the outcomes of the batch are
committed together once the providers answered.
"""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jinja2 import TemplateNotFound
from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.extensions import db
from portal.types import utcnow

from .. import ratelimit, sealing, settings
from ..channels import DeliveryError, Envelope, PermanentFailure, TemporaryFailure, get_channel
from ..models import PHONE_CHANNELS, Message, Preference
from .rendering import render

log = logging.getLogger(__name__)


def fresh_session() -> Session:
    """A session of its own for delivery (never the web request's, which may be mid-commit)."""
    return db.session.session_factory()


def purged(now: datetime) -> dict:
    """The values of an UPDATE that erases a finished notice's sealed part (the SQL ``CASE``
    stamps only rows that had one)."""
    return {"sealed": None,
            "sealed_purged_at": case((Message.sealed.is_not(None), now), else_=Message.sealed_purged_at)}


def backoff(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, with jitter (half fixed,
    half random) so that a provider outage does not end in a thundering herd."""
    base, cap = settings.RETRY_BASE_SECONDS(), settings.RETRY_MAX_SECONDS()
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


@dataclass
class BatchOutcome:
    delivered: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)         # permanent: id -> reason
    retry: list[tuple[float, list[int]]] = field(default_factory=list)  # (countdown, ids)
    deferred: list[int] = field(default_factory=list)            # over the rate limit
    defer_for: float = 0.0


def _claim(session: Session, ids: list[int], now: datetime) -> dict[int, int]:
    """queued / due temporary_failure -> sending; returns {id: attempt number}.

    The conditional UPDATE is the claim: of two workers given the same ids, each row goes to
    the one whose UPDATE reaches it first (the other's WHERE no longer matches it)."""
    stmt = (
        update(Message)
        .where(Message.id.in_(ids), Message.attempts < settings.MAX_ATTEMPTS(),
               or_(Message.status == "queued",
                   and_(Message.status == "temporary_failure", Message.next_attempt_at <= now)))
        .values(status="sending", attempts=Message.attempts + 1, sending_at=now, updated_at=now)
        .returning(Message.id, Message.attempts)
        .execution_options(synchronize_session=False)
    )
    return dict(session.execute(stmt).all())


def _finish(session: Session, ids: list[int], claimed_at: datetime, **values) -> None:
    """Record an outcome, fenced on the claim: a row the sweep took back (and maybe another
    worker claimed again) is no longer ``sending`` at ``claimed_at``, and stays as it is."""
    if ids:
        session.execute(
            update(Message)
            .where(Message.id.in_(ids), Message.status == "sending", Message.sending_at == claimed_at)
            .values(**values)
            .execution_options(synchronize_session=False))


def _address(row: Message, user: tuple | None) -> str | None:
    if row.channel == "email":
        return row.email or (user[1] if user else None)
    if row.channel in PHONE_CHANNELS:
        return row.phone or (user[2] if user else None)
    return None


def _opened(row: Message) -> dict:
    """The context a notice is rendered with: its sealed part opened (and winning)."""
    if row.sealed_purged_at is not None:
        raise PermanentFailure("sealed_unreadable")  # erased: what it held is gone for good
    if not row.sealed:
        return row.context or {}
    try:
        return {**(row.context or {}), **sealing.unseal(row.sealed)}
    except sealing.SealBroken:
        raise PermanentFailure("sealed_unreadable") from None


def _envelopes(session: Session, rows: list[Message], claimed: dict[int, int],
               outcome: BatchOutcome) -> dict[str, list[Envelope]]:
    user_ids = {r.user_id for r in rows if r.user_id is not None}
    users = {u[0]: tuple(u) for u in session.execute(
        select(User.id, User.email, User.phone).where(User.id.in_(user_ids)))} if user_ids else {}
    prefs = {p.user_id: p for p in session.scalars(
        select(Preference).where(Preference.user_id.in_(user_ids)))} if user_ids else {}
    envelopes: dict[str, list[Envelope]] = defaultdict(list)
    rendered_cache: dict[tuple, tuple[str, str, str | None]] = {}
    for row in rows:
        try:
            pref = prefs.get(row.user_id)
            if pref is not None and row.channel in (pref.opted_out or ()):
                raise PermanentFailure("opted_out")
            if row.channel == "app" and row.user_id is None:
                raise PermanentFailure("no_inbox")
            to = _address(row, users.get(row.user_id))
            if row.channel != "app" and not to:
                raise PermanentFailure("no_address")
            context = _opened(row)
            # notices of one event share their context: render each distinct one once per batch
            key = (row.template, row.locale, row.channel == "voice",
                   json.dumps(context, sort_keys=True, ensure_ascii=False))
            try:
                if key not in rendered_cache:
                    rendered_cache[key] = render(row.template, context, row.locale,
                                                 voice=row.channel == "voice")
                subject, body, voice = rendered_cache[key]
            except TemplateNotFound:
                raise PermanentFailure("template_missing") from None
            except Exception as exc:  # noqa: BLE001 - a broken template fails this notice only
                raise PermanentFailure(f"render_error:{type(exc).__name__}") from None
            envelopes[row.channel].append(Envelope(
                message_id=row.id, reference=sealing.reference(row.idempotency_key), channel=row.channel,
                attempt=claimed[row.id], locale=row.locale, to=to, subject=subject, body=body,
                voice=voice))
        except PermanentFailure as exc:
            outcome.failed[row.id] = exc.code
    return envelopes


def deliver_batch(session: Session, channel: str, ids: list[int], *, limit: bool = False,
                  now: datetime | None = None) -> BatchOutcome:
    """Deliver the notices ``ids`` that are due; what happens to each is in the outcome.

    ``limit``: honour the channel's rate limit (ids over it are returned as ``deferred``).
    Commits per step (see the module's docstring).
    """
    outcome = BatchOutcome()
    ids = list(dict.fromkeys(int(i) for i in ids))
    if limit and ratelimit.limit_for(channel) > 0 and ids:
        # spend the channel's tokens only on notices still waiting (duplicate tasks are common
        # after a sweep), in id order
        ids = sorted(session.scalars(select(Message.id).where(
            Message.id.in_(ids), Message.status.in_(("queued", "temporary_failure")))))
        session.commit()  # no transaction stays open while Redis answers
        granted, wait = ratelimit.take(channel, len(ids))
        ids, outcome.deferred, outcome.defer_for = ids[:granted], ids[granted:], wait
    if not ids:
        return outcome
    now = now or utcnow()
    claimed = _claim(session, ids, now)
    session.commit()  # the claim holds before any provider is called
    if not claimed:
        return outcome
    rows = list(session.scalars(select(Message).where(Message.id.in_(list(claimed)))))
    envelopes = _envelopes(session, rows, claimed, outcome)
    temporary: dict[int, str] = {}
    max_attempts = settings.MAX_ATTEMPTS()
    for name, batch in envelopes.items():
        try:
            results = get_channel(name).deliver_many(batch)
        except Exception as exc:  # noqa: BLE001 - an unexpected provider error: try again later
            log.warning("notify: %s channel raised %s", name, type(exc).__name__)
            results = {env.message_id: TemporaryFailure("internal_error") for env in batch}
        for env in batch:
            error: DeliveryError | None = results.get(env.message_id, TemporaryFailure("no_result"))
            if error is None:
                outcome.delivered.append(env.message_id)
            elif error.temporary and claimed[env.message_id] < max_attempts:
                temporary[env.message_id] = error.code
            else:
                outcome.failed[env.message_id] = error.code
    done = utcnow()
    # delivered or failed for good: what was sealed is erased (a retry of a temporary failure
    # still needs it)
    purge = purged(done)
    _finish(session, outcome.delivered, now, status="delivered", delivered_at=done,
            updated_at=done, next_attempt_at=None, last_error=None, **purge)
    by_reason: dict[str, list[int]] = defaultdict(list)
    for message_id, reason in outcome.failed.items():
        by_reason[reason].append(message_id)
    for reason, failed_ids in by_reason.items():
        _finish(session, failed_ids, now, status="permanent_failure", failed_at=done,
                updated_at=done, next_attempt_at=None, last_error=reason, **purge)
    for message_id, reason in temporary.items():
        delay = backoff(claimed[message_id])
        _finish(session, [message_id], now, status="temporary_failure", failed_at=done,
                updated_at=done, next_attempt_at=done + timedelta(seconds=delay), last_error=reason)
        outcome.retry.append((delay, [message_id]))
    session.commit()  # the batch's outcomes, together
    return outcome
