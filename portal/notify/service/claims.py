"""The claim a delivery worker holds on its notices, fenced per notice: a notice goes to a
provider at least once, and never twice from us while its worker lives.

A delivery task claims its batch with one conditional UPDATE (:func:`claim`: queued or due ->
``sending``, under a random token of its own). Then, for each send (one notice; for a channel
that takes a whole batch in one local step, such as the inbox or the ``log`` provider, the
batch):

1. :func:`renew`: one conditional UPDATE ``WHERE id IN (...) AND claim = <token> AND status =
   'sending'`` stamps ``sending_at`` and counts the attempt, committed before the provider is
   called. A notice the sweep took back meanwhile (and another worker may have claimed) no
   longer matches, and this worker does not send it;
2. the provider is called. While it is, a :class:`Lease` stamps ``sending_at`` of the notices in
   flight again every ``NOTIFY_STUCK_SECONDS / 3``: the sweep never takes back a send still
   in flight in a live worker, however slow the provider;
3. :func:`record`: the outcome, one more conditional UPDATE on the same claim, which ends it.

So the sweep can take back only notices whose turn has not come (never sent: whoever claims
them next sends them once) and the send in flight in a worker that died, which goes out again
with the same reference (the provider's ``Idempotency-Key``, the e-mail's ``Message-ID``): at
most the one send in flight per worker process at a crash, never a batch.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import and_, case, literal, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portal.types import UTCDateTime, utcnow

from .. import settings
from ..limits import CLAIM_TOKEN_LENGTH
from ..models import Message
from . import quiet

log = logging.getLogger(__name__)


def new_token() -> str:
    return secrets.token_hex(CLAIM_TOKEN_LENGTH // 2)


def claim(session: Session, ids: list[int], token: str, now: datetime) -> dict[int, int]:
    """queued / due temporary_failure -> sending under ``token``; returns {id: attempts so far}.

    The conditional UPDATE is the claim: of two workers given the same ids, each row goes to
    the one whose UPDATE reaches it first (the other's WHERE no longer matches it). During
    quiet hours no voice call or SMS is claimed (:func:`hold` puts them back first); outside
    them a call or text held for them is due (they ended)."""
    where = [Message.id.in_(ids), Message.attempts < settings.MAX_ATTEMPTS(),
             or_(Message.status == "queued",
                 and_(Message.status == "temporary_failure", Message.next_attempt_at <= now))]
    if quiet.is_quiet(now):
        where.append(Message.channel.not_in(quiet.HELD_CHANNELS))
    stmt = (
        update(Message)
        .where(*where)
        .values(status="sending", claim=token, sending_at=now, updated_at=now)
        .returning(Message.id, Message.attempts)
        .execution_options(synchronize_session=False)
    )
    return dict(session.execute(stmt).all())


def hold(session: Session, ids: list[int], now: datetime) -> list[int]:
    """During quiet hours: the voice calls and SMS of ``ids`` that wait to be claimed are put
    back until the opening (``next_attempt_at``); returns their ids. Nothing else changes: no
    attempt is counted, the status stays (``queued`` or ``temporary_failure``), and the sweep
    queues them at the opening (:func:`.sweep.sweep`). Outside quiet hours: nothing, [].

    A conditional UPDATE, as :func:`claim` is: a notice another worker claimed (or finished)
    does not match, nor one already due later than the opening (never made earlier)."""
    opening = quiet.opening_after(now)
    if opening is None or not ids:
        return []
    return list(session.scalars(
        update(Message)
        .where(Message.id.in_(ids), Message.channel.in_(quiet.HELD_CHANNELS),
               Message.status.in_(("queued", "temporary_failure")), Message.claim.is_(None),
               or_(Message.next_attempt_at.is_(None), Message.next_attempt_at < opening))
        .values(next_attempt_at=opening, updated_at=now)
        .returning(Message.id)
        .execution_options(synchronize_session=False)))


def renew(session: Session, ids: Iterable[int], token: str) -> set[int]:
    """Before a send: the ids of ``ids`` this claim still holds, each stamped (``sending_at``)
    and counted as an attempt. The caller commits before calling the provider.

    A call or text whose turn in the batch comes in quiet hours (the batch was claimed before
    they began) is not sent: in the same statement it goes back to ``queued`` until the
    opening, with no attempt counted, as :func:`hold` leaves it, and the sweep queues it then."""
    now = utcnow()
    values = {"sending_at": now, "updated_at": now, "attempts": Message.attempts + 1}
    opening = quiet.opening_after(now)
    if opening is not None:
        wait = Message.channel.in_(quiet.HELD_CHANNELS)
        values.update(
            status=case((wait, "queued"), else_=Message.status), claim=case((wait, None), else_=Message.claim),
            next_attempt_at=case((wait, literal(opening, UTCDateTime)), else_=Message.next_attempt_at),
            attempts=case((wait, Message.attempts), else_=Message.attempts + 1))
    # the fence: a row the sweep took back (claim NULL) or another worker claimed (another
    # token) does not match, and is not sent by this worker
    rows = session.execute(
        update(Message)
        .where(Message.id.in_(list(ids)), Message.claim == token, Message.status == "sending")
        .values(**values)
        .returning(Message.id, Message.status)
        .execution_options(synchronize_session=False))
    return {message_id for message_id, status in rows if status == "sending"}


def record(session: Session, ids: Iterable[int], token: str, **values) -> None:
    """An outcome, fenced on the claim, which it ends: a row that is no longer this claim's
    (the sweep took it back) stays as its new holder leaves it."""
    ids = list(ids)
    if ids:
        session.execute(
            update(Message)
            .where(Message.id.in_(ids), Message.claim == token, Message.status == "sending")
            .values(claim=None, **values)
            .execution_options(synchronize_session=False))


class Lease:
    """Keeps the claims of the notices in flight alive while a provider takes its time.

    A thread of the worker stamps ``sending_at`` of what :meth:`holding` holds every
    ``interval`` seconds (``NOTIFY_STUCK_SECONDS / 3``), fenced on the claim, on a connection of
    its own. A worker that dies stops stamping, and the sweep takes its send back after the
    stuck timeout. Started on the first send; :meth:`close` ends it.
    """

    def __init__(self, engine: Engine, token: str, interval: float | None = None):
        self.engine = engine
        self.token = token
        self.interval = max(0.05, interval if interval is not None else settings.STUCK_SECONDS() / 3)
        self._ids: tuple[int, ...] = ()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def holding(self, ids: Iterable[int]) -> Iterator[None]:
        with self._lock:
            self._ids = tuple(ids)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="notify-lease", daemon=True)
            self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._ids = ()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        table = Message.__table__
        while not self._stop.wait(self.interval):
            with self._lock:
                ids = self._ids
            if not ids:
                continue
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(table)
                                 .where(table.c.id.in_(ids), table.c.claim == self.token,
                                        table.c.status == "sending")
                                 .values(sending_at=utcnow()))
            except Exception as exc:  # noqa: BLE001 - the next beat tries again
                log.warning("notify: could not renew a claim in flight (%s)", type(exc).__name__)
