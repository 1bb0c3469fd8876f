"""How many seats one guest may hold unpaid at once: at most BOOKING_MAX_HELD_SEATS_PER_EMAIL per
guest email and BOOKING_MAX_HELD_SEATS_PER_CLIENT per client address (429 hold_limit), so that
nobody holds a slot's seats away from the others without paying.

A hold's client address is stored as an HMAC with the secret key (``Booking.client_key``), and
only while the booking is held: give_back and the payment that confirms it clear it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime

from flask import current_app
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from portal.db import dialect_name

from .. import settings
from ..errors import HoldLimit
from ..models import Booking


def client_key(address: str | None) -> str | None:
    """The client address as a hold stores it: an HMAC with the secret key, not the address."""
    if not address:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"tourism-hold-client\x1f" + address.encode(), hashlib.sha256).hexdigest()


def _lock_id(kind: str, value: str) -> int:
    """A signed 64-bit advisory lock id for one holder (an email or a client key)."""
    digest = hashlib.sha256(f"tourism-holder\x1f{kind}\x1f{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_holders(session: Session, email: str, client: str | None) -> None:
    """Step, first of the hold's transaction: wait for any other hold of this email or client
    address being made. Released at commit or rollback."""
    if dialect_name(session) != "postgresql":
        return  # SQLite: the hold's first write locks the whole database until commit
    ids = sorted({_lock_id("email", email)} | ({_lock_id("client", client)} if client else set()))
    # Always in the same order, so two holds never wait for each other: ascending ids, one
    # statement. ORDER BY fixes the order of the calls (PostgreSQL evaluates a volatile function
    # of the select list after the sort).
    session.execute(text("SELECT pg_advisory_xact_lock(t.id) FROM unnest(CAST(:ids AS BIGINT[])) "
                         "WITH ORDINALITY AS t(id, n) ORDER BY t.n"), {"ids": ids})


def _held(session: Session, limits, now: datetime) -> list[tuple[int, datetime | None]]:
    """(seats, first end) of the holds whose time is not up, for each `column == value` of
    `limits`, in one statement."""
    live = [Booking.status == "held", Booking.hold_expires_at >= now]
    columns = []
    for column, value, _limit in limits:
        columns += [func.coalesce(func.sum(Booking.quantity).filter(column == value), 0),
                    func.min(Booking.hold_expires_at).filter(column == value)]
    row = session.execute(select(*columns).where(
        *live, or_(*(column == value for column, value, _limit in limits)))).one()
    return [(int(row[i]), row[i + 1]) for i in range(0, len(row), 2)]


def check(session: Session, email: str, client: str | None, quantity: int, now: datetime) -> None:
    """Step, after lock_holders and before the hold is inserted: raise HoldLimit when `quantity`
    more seats would pass the email's or the client address's limit."""
    # Exact under concurrency: the holds of this email and address are counted, and the new one
    # inserted, while lock_holders' locks (PostgreSQL) or the database's write lock (SQLite,
    # taken by the seats' UPDATE before this count) keep every other hold of theirs out.
    ends = []
    limits = [(Booking.guest_email, email, settings.MAX_HELD_PER_EMAIL())]
    if client:
        limits.append((Booking.client_key, client, settings.MAX_HELD_PER_CLIENT()))
    for (_column, _value, limit), (seats, first_end) in zip(limits, _held(session, limits, now),
                                                            strict=True):
        if seats + quantity > limit:
            ends.append(first_end or now)
    if ends:
        raise HoldLimit(retry_after=max(1, math.ceil((max(ends) - now).total_seconds())))
