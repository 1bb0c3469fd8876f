"""Per-channel rate limits shared by every worker: a fixed one-second window in Redis.

``NOTIFY_RATE_LIMIT_<CHANNEL>`` (notices per second, ``0`` = unlimited; defaults in
:mod:`portal.notify.settings`).
Without ``REDIS_URL`` there is nothing shared to count in, so nothing is limited.
"""

from __future__ import annotations

import logging
import time

import redis

from . import settings

log = logging.getLogger(__name__)
_clients: dict[str, redis.Redis] = {}


def limit_for(channel: str) -> int:
    limit = settings.RATE_LIMIT.get(channel)
    return limit() if limit is not None else 0


def _client(url: str) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2
        )
    return client


def take(channel: str, wanted: int) -> tuple[int, float]:
    """Reserve up to ``wanted`` sends on ``channel`` now.

    Returns ``(granted, wait)``: how many may go now, and how many seconds until the next window
    when fewer than ``wanted`` were granted.  If Redis cannot be reached the limit fails open
    (the broker is down too, so little is moving anyway).
    """
    limit = limit_for(channel)
    url = settings.REDIS_URL()
    if wanted <= 0 or limit <= 0 or not url:
        return wanted, 0.0
    now = time.time()
    window = int(now)
    key = f"notify:rate:{channel}:{window}"
    try:
        client = _client(url)
        pipe = client.pipeline()
        pipe.incrby(key, wanted)
        pipe.expire(key, 5)
        total, _ = pipe.execute()
        granted = max(0, min(wanted, limit - (total - wanted)))
        if granted < wanted:
            client.decrby(key, wanted - granted)
    except redis.RedisError:
        log.warning("notify rate limiter unavailable; not limiting channel %s", channel)
        return wanted, 0.0
    return granted, (window + 1 - now) if granted < wanted else 0.0
