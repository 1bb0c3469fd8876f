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
from sqlalchemy import Integer, bindparam, func, insert, or_, select, text
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


def _lock_ids(email: str, client: str | None) -> list[int]:
    return sorted({_lock_id("email", email)} | ({_lock_id("client", client)} if client else set()))


# Always in the same order, so two holds never wait for each other: ascending ids, one
# statement. ORDER BY fixes the order of the calls (PostgreSQL evaluates a volatile function of
# the select list after the sort).
_LOCK_SQL = ("SELECT pg_advisory_xact_lock(t.id) FROM unnest(CAST(:ids AS BIGINT[])) "
             "WITH ORDINALITY AS t(id, n) ORDER BY t.n")


def lock_holders(session: Session, email: str, client: str | None) -> None:
    """Step, first of the hold's transaction: wait for any other hold of this email or client
    address being made. Released at commit or rollback."""
    if dialect_name(session) != "postgresql":
        return  # SQLite: the hold's first write locks the whole database until commit
    session.execute(text(_LOCK_SQL), {"ids": _lock_ids(email, client)})


def holders_locked():
    """lock_holders as a column (PostgreSQL only), for the hold's first statement to take the
    locks in the same round trip: a scalar subquery without correlation, which PostgreSQL runs
    once, when the statement's first row is made (so not when it finds no row). Its parameter
    `ids` is lock_params' (an unbound parameter, so that the statement can be built once)."""
    locks = text(_LOCK_SQL).columns().subquery("holder_locks")
    return select(func.count()).select_from(locks).scalar_subquery().label("holders_locked")


def lock_params(email: str, client: str | None) -> dict:
    """The parameters of holders_locked."""
    return {"ids": _lock_ids(email, client)}


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


def _limits(email: str, client: str | None) -> list:
    limits = [(Booking.guest_email, email, settings.MAX_HELD_PER_EMAIL())]
    if client:
        limits.append((Booking.client_key, client, settings.MAX_HELD_PER_CLIENT()))
    return limits


# The hold's INSERT, built once per kind (with or without a client address): its values and
# limits are bound parameters (v_<column>, now, quantity, cap_<kind>, limit_<kind>).
HOLD_COLUMNS = ("reference", "slot_id", "user_id", "guest_name", "guest_email", "guest_phone", "locale",
                "quantity", "total", "status", "hold_expires_at", "idempotency_key", "created_at",
                "confirmed_at", "cancelled_at", "checked_in_at", "refund_amount", "client_key",
                "confirmation_sent")
_INSERTS: dict[bool, object] = {}


def _insert_statement(with_client: bool):
    stmt = _INSERTS.get(with_client)
    if stmt is not None:
        return stmt
    columns = Booking.__table__.c
    live = [Booking.status == "held", Booking.hold_expires_at >= bindparam("now", type_=columns.created_at.type)]
    quantity = bindparam("quantity", type_=Integer)
    within = []
    for kind, column, value in (("email", Booking.guest_email, bindparam("v_guest_email")),
                                ("client", Booking.client_key, bindparam("v_client_key")))[:1 + with_client]:
        # Whether seats + quantity <= limit needs at most limit - quantity + 1 of the holds (a
        # hold has a seat at least; cap_<kind>): when that many are there the limit is passed,
        # when fewer their sum is all of them. So a hold reads at most as many rows as the
        # limit, however many the email or address holds.
        first = (select(Booking.quantity).where(*live, column == value)
                 .limit(bindparam(f"cap_{kind}", type_=Integer)).subquery())
        within.append(select(func.coalesce(func.sum(first.c.quantity), 0)).scalar_subquery() + quantity
                      <= bindparam(f"limit_{kind}", type_=Integer))
    row = select(*(bindparam(f"v_{name}", type_=columns[name].type) for name in HOLD_COLUMNS)).where(*within)
    stmt = (insert(Booking.__table__).from_select(list(HOLD_COLUMNS), row, include_defaults=False)
            .returning(Booking.__table__.c.id))
    _INSERTS[with_client] = stmt
    return stmt


def insert_within(session: Session, values: dict, quantity: int, now: datetime) -> int | None:
    """Step, after lock_holders and in place of check and the INSERT: insert the hold `values`
    (the booking's HOLD_COLUMNS) only if `quantity` more seats stay within the email's and the
    client address's limits, counted in the INSERT itself (one statement). Returns the new
    booking's id; None when a limit would be passed (nothing inserted: check then says which
    and until when)."""
    # Exact as check is: the same sums, under the same locks (PostgreSQL) or the database's
    # write lock (SQLite).
    params = {f"v_{name}": values[name] for name in HOLD_COLUMNS}
    params.update(now=now, quantity=quantity)
    limits = _limits(values["guest_email"], values["client_key"])
    for kind, (_column, _value, limit) in zip(("email", "client"), limits, strict=False):
        params[f"limit_{kind}"] = limit
        params[f"cap_{kind}"] = max(limit - quantity + 1, 0)
    return session.execute(_insert_statement(len(limits) == 2), params).scalar_one_or_none()


def check(session: Session, email: str, client: str | None, quantity: int, now: datetime) -> None:
    """Step, after lock_holders and before the hold is inserted: raise HoldLimit when `quantity`
    more seats would pass the email's or the client address's limit."""
    # Exact under concurrency: the holds of this email and address are counted, and the new one
    # inserted, while lock_holders' locks (PostgreSQL) or the database's write lock (SQLite,
    # taken by the seats' UPDATE before this count) keep every other hold of theirs out.
    ends = []
    limits = _limits(email, client)
    for (_column, _value, limit), (seats, first_end) in zip(limits, _held(session, limits, now),
                                                            strict=True):
        if seats + quantity > limit:
            ends.append(first_end or now)
    if ends:
        raise HoldLimit(retry_after=max(1, math.ceil((max(ends) - now).total_seconds())))
