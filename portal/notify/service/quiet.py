"""Quiet hours (issue 16, part 4): voice calls and SMS are handed to a provider only between
``NOTIFY_QUIET_END`` and ``NOTIFY_QUIET_START``, times of day in Asia/Seoul (default 09:00-20:00),
first tries and retries alike. E-mail and the portal inbox are never held.

The quiet hours run from START up to END, forward on the clock: with START after END (the
default, 20:00 and 09:00) they span midnight; with START before END (say 12:00 and 13:00) they
lie within one day. START itself is quiet, END itself is open (at 09:00:00 a call goes). START
equal to END says nothing sensible (always quiet, or never?) and is refused: the defaults are
used and a warning is logged, as for a value that is not HH:MM. ``off`` in either setting means
no quiet hours.

A notice is never dropped nor charged an attempt for the hour: it waits with ``next_attempt_at``
at the next opening (:func:`opening_after`), and the sweep queues what waits for an opening when
it comes (:func:`last_opening`, :mod:`.sweep`). Where that happens:

- a worker given phone notices during quiet hours holds them instead of claiming them
  (:func:`.claims.hold`, :func:`.delivery.deliver_batch`);
- a call or text of a batch claimed before the quiet hours whose turn comes after they began
  goes back to wait instead of being sent (:func:`.claims.renew`);
- a retry whose backoff ends in quiet hours is scheduled at the opening (:func:`not_before`;
  a provider's no-answer too, :mod:`.receipts`); the worker leaves its task to the sweep
  (``tasks.deliver_batch``: no countdown of hours).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .. import settings
from ..models import PHONE_CHANNELS

log = logging.getLogger(__name__)

SEOUL = ZoneInfo("Asia/Seoul")
# the channels quiet hours hold: a call or a text wakes a person; a mail or an inbox notice waits
HELD_CHANNELS = PHONE_CHANNELS


def _time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def window() -> tuple[time, time] | None:
    """(start, end) of the quiet hours as times of day in Asia/Seoul, or None when they are off."""
    start, end = settings.QUIET_START(), settings.QUIET_END()
    if "off" in (start, end):
        return None
    if start == end:
        log.warning("notify: NOTIFY_QUIET_START equals NOTIFY_QUIET_END (%s): using %s-%s", start,
                    settings.QUIET_START.default, settings.QUIET_END.default)
        start, end = settings.QUIET_START.default, settings.QUIET_END.default
    return _time(start), _time(end)


def _is_quiet(clock: time, start: time, end: time) -> bool:
    if start < end:  # within one day
        return start <= clock < end
    return clock >= start or clock < end  # across midnight


def _at(day: date, clock: time) -> datetime:
    """``clock`` on ``day`` in Seoul, as UTC."""
    return datetime.combine(day, clock, tzinfo=SEOUL).astimezone(UTC)


def is_quiet(at: datetime) -> bool:
    """Whether ``at`` (an aware datetime) falls in the quiet hours."""
    hours = window()
    if hours is None:
        return False
    local = at.astimezone(SEOUL)
    return _is_quiet(local.time(), *hours)


def opening_after(at: datetime) -> datetime | None:
    """The end of the quiet hours ``at`` falls in (UTC), or None when ``at`` is not quiet."""
    hours = window()
    if hours is None:
        return None
    start, end = hours
    local = at.astimezone(SEOUL)
    if not _is_quiet(local.time(), start, end):
        return None
    opening = _at(local.date(), end)
    # quiet and before today's END: it is today's; quiet and after it (the evening): tomorrow's
    return opening if opening > at else _at(local.date() + timedelta(days=1), end)


def last_opening(now: datetime) -> datetime | None:
    """The latest end of the quiet hours at or before ``now`` (UTC), or None when they are off:
    what waits for it is due."""
    hours = window()
    if hours is None:
        return None
    local = now.astimezone(SEOUL)
    opening = _at(local.date(), hours[1])
    return opening if opening <= now else _at(local.date() - timedelta(days=1), hours[1])


def held(channel: str) -> bool:
    return channel in HELD_CHANNELS


def not_before(channel: str, at: datetime) -> datetime:
    """When a notice of ``channel`` due at ``at`` may go: ``at``, or the next opening if ``at``
    falls in the quiet hours and the channel is held."""
    if not held(channel):
        return at
    return opening_after(at) or at
