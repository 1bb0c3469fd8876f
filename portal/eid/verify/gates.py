"""Which gate is asking: a gate's API key, its hash, and the per-process gate cache.

A gate authenticates with ``Authorization: Bearer eidg_...``; only the key's SHA-256 is
stored. ``authenticate_gate`` (the Flask view) reads the database and fills the cache;
``cached_gate`` (the fast path) reads the cache alone. Changing a gate or a facility empties
the cache on this process (``forget_gates``); other processes notice within ``GateCache.TTL``.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.eid.errors import InvalidGateKey
from portal.eid.limits import GATE_KEY_MAX
from portal.eid.models import Facility, Gate

GATE_KEY_PREFIX = "eidg_"


def hash_gate_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class GateInfo:
    """What a check needs to know of its gate (``policy`` as ``Facility.policy``)."""

    id: int
    facility_id: int
    facility_code: str
    policy: dict


class GateCache:
    """Gate keys seen recently, per process (a few seconds: a deactivated key stops working
    within ``TTL`` seconds on every process, at once on this one)."""

    TTL = 5.0

    def __init__(self):
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, GateInfo]] = {}

    def get(self, key_hash: str, now: float) -> GateInfo | None:
        item = self._items.get(key_hash)
        if item is not None and now - item[0] < self.TTL:
            return item[1]
        return None

    def put(self, key_hash: str, info: GateInfo, now: float) -> None:
        with self._lock:
            if len(self._items) > 1000:
                self._items.clear()
            self._items[key_hash] = (now, info)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = GateCache()


def cached_gate(api_key: str) -> GateInfo | None:
    """The gate holding ``api_key`` if this process saw it within ``GateCache.TTL`` seconds;
    None otherwise (no database: the fast path then leaves the request to Flask)."""
    return _cache.get(hash_gate_key(api_key), time.monotonic())


def forget_gates() -> None:
    """Empty this process's gate cache (a gate or a facility changed)."""
    _cache.clear()


def authenticate_gate(session: Session, api_key: str | None) -> GateInfo:
    """The gate holding this API key; 401 ``invalid_gate_key`` otherwise."""
    if not api_key or not api_key.startswith(GATE_KEY_PREFIX) or len(api_key) > GATE_KEY_MAX:
        raise InvalidGateKey()
    key_hash = hash_gate_key(api_key)
    now = time.monotonic()
    info = _cache.get(key_hash, now)
    if info is not None:
        return info
    row = session.execute(
        select(Gate.id, Gate.facility_id, Gate.key_hash, Facility.code, Facility.residents_only,
               Facility.districts, Facility.min_age, Facility.max_age, Facility.resident_discount)
        .join(Facility, Facility.id == Gate.facility_id)
        .where(Gate.key_hash == key_hash, Gate.active.is_(True), Facility.active.is_(True))
    ).first()
    if row is None or not hmac.compare_digest(row.key_hash, key_hash):
        raise InvalidGateKey()
    info = GateInfo(id=row.id, facility_id=row.facility_id, facility_code=row.code, policy={
        "residents_only": bool(row.residents_only), "districts": list(row.districts or []),
        "min_age": row.min_age, "max_age": row.max_age,
        "resident_discount": int(row.resident_discount or 0)})
    _cache.put(key_hash, info, now)
    return info
