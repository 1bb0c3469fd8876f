"""Delivery: :func:`deliver_batch`, run by the ``notify.deliver_batch`` task.

A worker claims its batch with a conditional UPDATE under a token of its own, so two workers
never both hold one notice; then it renews its claim before each send and records each outcome
on the same claim (:mod:`.claims`), so a notice the sweep took back is not sent by the worker
that lost it, and a send still in flight is never taken back from a live worker.

A channel that cannot be reached (:class:`~portal.notify.channels.ChannelDown`: a mail server
that refuses, hangs or hangs up) costs a batch one timeout: its remaining notices are not tried
now but retried together later, so a server down never holds a batch past the stuck timeout.

Transactions: delivery runs in a session of its own (:func:`fresh_session`) and commits per
step, by design: the claim, then each send's renewed claim (with the previous send's outcome)
before the provider is called, so the sweep and other workers see them while a provider is
slow, then the last outcome.
"""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jinja2 import TemplateNotFound
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.extensions import db
from portal.types import utcnow

from .. import flows, ratelimit, sealing, settings
from ..channels import (
    Channel,
    ChannelDown,
    DeliveryError,
    Envelope,
    HttpProvider,
    PermanentFailure,
    TemporaryFailure,
    get_channel,
)
from ..models import PHONE_CHANNELS, Message, Preference
from . import claims, quiet
from .queue import queue_after_commit
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
    rerouted: dict[int, str] = field(default_factory=dict)       # no address: id -> fallback channel
    retry: list[tuple[float, list[int]]] = field(default_factory=list)  # (countdown, ids)
    deferred: list[int] = field(default_factory=list)            # over the rate limit
    defer_for: float = 0.0


def _address(row: Message, user: tuple | None, channel: str | None = None) -> str | None:
    channel = channel or row.channel
    if channel == "email":
        return row.email or (user[1] if user else None)
    if channel in PHONE_CHANNELS:
        return row.phone or (user[2] if user else None)
    return None


def _fallback(row: Message, user: tuple | None, pref: Preference | None) -> str | None:
    """The channel a notice goes to when its own has no address for the resident: the first of
    the channels its sender allows (``context["fallback"]``, in order) that has one and that
    the resident did not switch off, and the portal inbox at worst (a resident always has one).
    None when there is none (no user: nobody to hold an inbox)."""
    off = set(pref.opted_out or ()) if pref is not None else set()
    allowed = (row.context or {}).get("fallback")
    for channel in (allowed if isinstance(allowed, list) else []):
        if channel != row.channel and channel != "app" and channel not in off \
                and _address(row, user, channel):
            return channel
    return "app" if row.user_id is not None and row.channel != "app" else None


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
        select(User.id, User.email, User.phone, User.birth_date).where(User.id.in_(user_ids)))} if user_ids else {}
    prefs = {p.user_id: p for p in session.scalars(
        select(Preference).where(Preference.user_id.in_(user_ids)))} if user_ids else {}
    envelopes: dict[str, list[Envelope]] = defaultdict(list)
    rendered_cache: dict[tuple, tuple[str, str, str | None]] = {}
    flow_cache: dict[tuple, dict | None] = {}
    for row in rows:
        try:
            pref = prefs.get(row.user_id)
            if pref is not None and row.channel in (pref.opted_out or ()):
                raise PermanentFailure("opted_out")
            if row.channel == "app" and row.user_id is None:
                raise PermanentFailure("no_inbox")
            to = _address(row, users.get(row.user_id))
            if row.channel != "app" and not to:
                fallback = _fallback(row, users.get(row.user_id), pref)
                if fallback is None:
                    raise PermanentFailure("no_address")
                outcome.rerouted[row.id] = fallback  # never a silent permanent failure
                continue
            context = _opened(row)
            # notices of one event share their context: render each distinct one once per batch
            # what leaves the portal links to it absolutely; the inbox keeps paths
            key = (row.template, row.locale, row.channel == "voice", row.channel != "app",
                   json.dumps(context, sort_keys=True, ensure_ascii=False))
            try:
                if key not in rendered_cache:
                    rendered_cache[key] = render(row.template, context, row.locale,
                                                 voice=row.channel == "voice", absolute=row.channel != "app")
                subject, body, voice = rendered_cache[key]
            except TemplateNotFound:
                raise PermanentFailure("template_missing") from None
            except Exception as exc:  # noqa: BLE001 - a broken template fails this notice only
                raise PermanentFailure(f"render_error:{type(exc).__name__}") from None
            flow = None
            if row.channel == "voice":  # a call as a conversation: its steps for this resident's age
                user = users.get(row.user_id)
                fkey = (key, flows.age_on(user[3] if user else None))
                try:
                    if fkey not in flow_cache:
                        flow_cache[fkey] = flows.build(row.template, context, row.locale, age=fkey[1])
                    flow = flow_cache[fkey]
                except Exception as exc:  # noqa: BLE001 - a broken flow fails this notice only
                    raise PermanentFailure(f"render_error:{type(exc).__name__}") from None
            envelopes[row.channel].append(Envelope(
                message_id=row.id, reference=sealing.reference(row.idempotency_key), channel=row.channel,
                attempt=claimed[row.id] + 1, locale=row.locale, to=to, subject=subject, body=body,
                voice=voice, flow=flow))
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
    now = now or utcnow()
    if ids and quiet.held(channel) and quiet.is_quiet(now):
        # quiet hours: the calls or texts wait for the opening, unclaimed and with no attempt
        # counted; the sweep queues them then (service.quiet)
        claims.hold(session, ids, now)
        session.commit()
        return outcome
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
    token = claims.new_token()
    claimed = claims.claim(session, ids, token, now)
    session.commit()  # the claim holds before any provider is called
    if not claimed:
        return outcome
    rows = list(session.scalars(select(Message).where(Message.id.in_(list(claimed)))))
    envelopes = _envelopes(session, rows, claimed, outcome)
    _failed(session, token, dict(outcome.failed), attempted=True)  # before any send: nothing to send
    _reroute(session, token, outcome.rerouted)
    lease = claims.Lease(session.get_bind(), token)
    try:
        for name, batch in envelopes.items():
            _hand_over(session, name, batch, token, lease, outcome)
        session.commit()  # the last send's outcome
    finally:
        lease.close()
    return outcome


def _hand_over(session: Session, name: str, batch: list[Envelope], token: str, lease: claims.Lease,
               outcome: BatchOutcome) -> None:
    """Send ``batch`` through channel ``name``, each send fenced on the claim (:mod:`.claims`):
    one notice per send, or the whole batch where the channel takes it in one local step."""
    try:
        provider: Channel = get_channel(name)
    except PermanentFailure as exc:  # a channel of no provider
        failed = {env.message_id: exc.code for env in batch}
        _failed(session, token, failed, attempted=True)
        outcome.failed.update(failed)
        return
    steps = [batch] if provider.batched else [[env] for env in batch]
    with provider.connection():
        for n, step in enumerate(steps):
            held = claims.renew(session, (env.message_id for env in step), token)
            session.commit()  # the renewed claim (and the previous send's outcome) before the provider
            step = [env for env in step if env.message_id in held]
            if not step:
                continue  # taken back by the sweep: whoever holds it now sends it
            with lease.holding(held):
                try:
                    results = provider.deliver_many(step)
                except Exception as exc:  # noqa: BLE001 - an unexpected provider error: try again later
                    log.warning("notify: %s channel raised %s", name, type(exc).__name__)
                    results = {env.message_id: TemporaryFailure("internal_error") for env in step}
            down = _outcomes(session, token, step, results, outcome,
                             receipts=isinstance(provider, HttpProvider))
            if down is not None:
                # the channel cannot be reached: what is left of the batch waits for it, retried
                # together with the notice that found it down
                rest = [env for later in steps[n + 1:] for env in later]
                _release(session, token, rest, *down, outcome)
                return


def _outcomes(session: Session, token: str, step: list[Envelope], results: dict,
              outcome: BatchOutcome, *, receipts: bool = False) -> tuple[ChannelDown, float, datetime] | None:
    """Record what the provider said of each notice of a send (not committed: the next step's
    renewal, or the batch's end, commits it); returns the :class:`ChannelDown` it met, if any,
    with that notice's delay before its retry and the time of the retry.

    ``receipts``: the provider reports back (the HTTP SMS and voice providers): a notice it
    accepted is ``sent``, with the reference its events will name, and becomes ``delivered``
    only on its receipt (:mod:`.receipts`); what was sealed stays until then (a call not
    answered is made again). Other channels (the inbox, SMTP, the development providers)
    report nothing: what they accepted is ``delivered`` at once, as before."""
    max_attempts = settings.MAX_ATTEMPTS()
    done = utcnow()
    delivered: list[int] = []
    failed: dict[int, str] = {}
    down = None
    for env in step:
        error: DeliveryError | None = results.get(env.message_id, TemporaryFailure("no_result"))
        if error is None:
            delivered.append(env.message_id)
        elif error.temporary and env.attempt < max_attempts:
            delay, retry_at = _retry(env, done)
            if isinstance(error, ChannelDown):
                down = (error, delay, retry_at)
            claims.record(session, [env.message_id], token, status="temporary_failure", failed_at=done,
                          updated_at=done, next_attempt_at=retry_at, last_error=error.code)
            outcome.retry.append((delay, [env.message_id]))
        else:
            failed[env.message_id] = error.code
            if isinstance(error, ChannelDown):
                down = (error, *_retry(env, done))
    if receipts:
        # one notice per send: each with its own reference
        references = {env.message_id: env.reference for env in step}
        for message_id in delivered:
            claims.record(session, [message_id], token, status="sent", updated_at=done, next_attempt_at=None,
                          last_error=None, reference=references[message_id])
    else:
        # delivered: what was sealed is erased (a retry of a temporary failure still needs it)
        claims.record(session, delivered, token, status="delivered", delivered_at=done, updated_at=done,
                      next_attempt_at=None, last_error=None, **purged(done))
    outcome.delivered.extend(delivered)
    _failed(session, token, failed)
    outcome.failed.update(failed)
    return down


def _retry(env: Envelope, done: datetime) -> tuple[float, datetime]:
    """The delay before a notice's next attempt and its time: the backoff, or, for a call or a
    text whose backoff ends in quiet hours, the opening (:func:`.quiet.not_before`)."""
    retry_at = quiet.not_before(env.channel, done + timedelta(seconds=backoff(env.attempt)))
    return (retry_at - done).total_seconds(), retry_at


def _reroute(session: Session, token: str, rerouted: dict[int, str]) -> None:
    """Notices whose channel has no address go, queued again, to their fallback channel (no
    attempt counted: nothing was sent), and are handed to it once this commits."""
    if not rerouted:
        return
    done = utcnow()
    by_channel: dict[str, list[int]] = defaultdict(list)
    for message_id, channel in rerouted.items():
        by_channel[channel].append(message_id)
    for channel, ids in by_channel.items():
        claims.record(session, ids, token, status="queued", channel=channel, updated_at=done,
                      queued_at=done, next_attempt_at=None, last_error="no_address")
    queue_after_commit(session, [(i, c) for i, c in rerouted.items()])


def _failed(session: Session, token: str, failed: dict[int, str], *, attempted: bool = False) -> None:
    """Permanent failures, by reason; ``attempted``: failures found before any send (an opt-out,
    no address, a broken template) count their attempt here. What was sealed is erased."""
    done = utcnow()
    by_reason: dict[str, list[int]] = defaultdict(list)
    for message_id, reason in failed.items():
        by_reason[reason].append(message_id)
    extra = {"attempts": Message.attempts + 1} if attempted else {}
    for reason, ids in by_reason.items():
        claims.record(session, ids, token, status="permanent_failure", failed_at=done, updated_at=done,
                      next_attempt_at=None, last_error=reason, **extra, **purged(done))


def _release(session: Session, token: str, rest: list[Envelope], down: ChannelDown, delay: float,
             retry_at: datetime, outcome: BatchOutcome) -> None:
    """The notices of a batch not tried because their channel is down: each counts an attempt
    (a round with the channel down, as if each had found it so), and they are retried together
    with the notice that found it down (``delay`` seconds, at ``retry_at``); those out of
    attempts fail for good."""
    if not rest:
        return
    max_attempts = settings.MAX_ATTEMPTS()
    done = utcnow()
    later = [env.message_id for env in rest if env.attempt < max_attempts]
    claims.record(session, later, token, status="temporary_failure", failed_at=done, updated_at=done,
                  attempts=Message.attempts + 1, next_attempt_at=retry_at, last_error=down.code)
    if later:
        outcome.retry.append((delay, later))
    spent = {env.message_id: down.code for env in rest if env.attempt >= max_attempts}
    _failed(session, token, spent, attempted=True)
    outcome.failed.update(spent)
