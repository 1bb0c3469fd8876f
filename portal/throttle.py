"""Counting limits outside a route decorator, on the rate limiter's storage (Redis when
configured): e.g. how many messages an address someone typed may receive."""

from __future__ import annotations

import hashlib

from limits import parse

from portal.extensions import limiter


def allow(spec: str, *parts: str) -> bool:
    """Count one hit against `spec` (such as "3 per hour") for the key made of `parts`;
    False once the limit is reached. Keys are hashed (no address lands in Redis)."""
    key = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return limiter.limiter.hit(parse(spec), "portal-throttle", key)
