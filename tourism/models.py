"""Tourism: listings, bookable slots, bookings, payments and waiting lists.

What keeps it right under concurrency (the service does the writes):

* ``tourism_slots.taken`` counts held + confirmed seats; it only moves in service/seats.py,
  through conditional UPDATEs (``taken + q <= capacity``), and a CHECK constraint backs it up,
  so a slot never holds more seats than its capacity, whatever the number of web processes;
* a booking leaves ``held`` exactly once (``UPDATE ... WHERE status = 'held'``), so an expired
  or cancelled hold gives its seats back exactly once;
* seats held unpaid at once per guest email and per client address are counted and the hold
  inserted under a lock of both (service/hold_limits.py), so racing requests cannot pass the limit;
* ``reference`` is UNIQUE, and so is ``idempotency_key``: the token of the request's claim of its
  Idempotency-Key (portal.idempotency, which scopes keys to their caller and binds them to the
  request), so a retry that takes over a dead request's claim finds the booking it made;
* a payment moves ``pending -> paid`` and ``paid -> refunded`` by conditional UPDATE, so a
  double callback confirms once and a double cancel refunds once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.places import Place
from portal.types import JSONType, UTCDateTime, utcnow

from .limits import (
    AREA_MAX,
    EMAIL_MAX,
    GATEWAY_ID_MAX,
    GUEST_NAME_MAX,
    IDEMPOTENCY_KEY_MAX,
    PHONE_MAX,
    PROVIDER_MAX,
)

KINDS = ("event", "lodging", "restaurant", "transport")
BOOKING_STATUSES = ("held", "confirmed", "cancelled", "expired")
PAYMENT_STATUSES = ("pending", "paid", "failed", "refunded")
WAITLIST_STATUSES = ("waiting", "offered", "cancelled")
TEXT_FIELDS = ("name", "description", "address", "policy")


class Listing(db.Model):
    __tablename__ = "tourism_listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str | None] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    # The code of an area of the places table (portal.places, kind "area"; "" for none): filters
    # and links use it (?area=ttukseom), and people read the area's name from the table.
    area: Mapped[str] = mapped_column(String(AREA_MAX), default="", index=True)
    # The area's row, loaded with the listing (one statement: pages and the API name the area
    # without reading the places table again). No foreign key: "" means none, and a value stored
    # before areas were places has no row (it is shown as it is).
    place: Mapped[Place | None] = relationship(primaryjoin="foreign(Listing.area) == Place.code", lazy="joined",
                                               viewonly=True)
    # Per-locale content written by staff: {"ko": "...", "en": "...", "zh": "..."}.
    name: Mapped[dict] = mapped_column(JSONType, default=dict)
    description: Mapped[dict] = mapped_column(JSONType, default=dict)
    address: Mapped[dict] = mapped_column(JSONType, default=dict)
    policy: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Lower-cased text of every locale, for search on PostgreSQL and SQLite alike.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Cancellation: full refund until this many hours before the start, then a partial one.
    free_cancel_hours: Mapped[int] = mapped_column(Integer, default=24)
    late_refund_percent: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    slots: Mapped[list[Slot]] = relationship(back_populates="listing", order_by="Slot.starts_at")

    __table_args__ = (
        CheckConstraint("kind IN ('event', 'lodging', 'restaurant', 'transport')", name="kind"),
        CheckConstraint("free_cancel_hours >= 0", name="free_cancel_hours"),
        CheckConstraint("late_refund_percent BETWEEN 0 AND 100", name="late_refund_percent"),
    )


class Slot(db.Model):
    """A bookable unit: an event session, a night of a room type, a seating, a departure."""

    __tablename__ = "tourism_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("tourism_listings.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)  # held + confirmed seats
    price: Mapped[int] = mapped_column(Integer)  # whole KRW per seat
    # Not a column: the seats of unpaid holds whose time is up and that no write has released
    # yet, set by a read (service/seats.py) that counts them as free so that it need not write.
    # Forgotten whenever the row is refreshed or expired (below): it never outlives that read.
    expired_held = 0

    listing: Mapped[Listing] = relationship(back_populates="slots")

    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity"),
        CheckConstraint("taken >= 0 AND taken <= capacity", name="taken"),
        CheckConstraint("price >= 0", name="price"),
        Index("ix_tourism_slots_listing_starts", "listing_id", "starts_at"),
    )


@event.listens_for(Slot, "refresh", raw=True)
@event.listens_for(Slot, "expire", raw=True)
def _forget_expired_held(state, *_args) -> None:
    state.dict.pop("expired_held", None)  # `state`: the row's InstanceState (its object may be gone)


_HELD = text("status = 'held'")


class Booking(db.Model):
    __tablename__ = "tourism_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("tourism_slots.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    guest_name: Mapped[str] = mapped_column(String(GUEST_NAME_MAX))
    guest_email: Mapped[str] = mapped_column(String(EMAIL_MAX), index=True)
    guest_phone: Mapped[str | None] = mapped_column(String(PHONE_MAX))
    locale: Mapped[str] = mapped_column(String(5), default="ko")
    quantity: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)  # whole KRW
    status: Mapped[str] = mapped_column(String(12), default="held", index=True)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(IDEMPOTENCY_KEY_MAX), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refund_amount: Mapped[int] = mapped_column(Integer, default=0)
    # Who holds how many seats at once (service/hold_limits.py): the client address of a hold
    # made by a request, as an HMAC with the secret key (never the address in clear), kept only
    # while the booking is held.
    client_key: Mapped[str | None] = mapped_column(String(64))
    # The confirmation mail was queued (not when the guest's address had its fill of mails).
    confirmation_sent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    slot: Mapped[Slot] = relationship()
    payments: Mapped[list[Payment]] = relationship(back_populates="booking", order_by="Payment.id")

    __table_args__ = (
        CheckConstraint("status IN ('held', 'confirmed', 'cancelled', 'expired')", name="status"),
        CheckConstraint("quantity > 0", name="quantity"),
        # Held bookings only (a booking leaves them when it leaves `held`): a slot's holds whose
        # time is up (seats.expired_seats, expire_holds), and the seats an email or a client
        # address holds at once (hold_limits), read from the index.
        Index("ix_tourism_bookings_held_slot", "slot_id", "hold_expires_at",
              postgresql_where=_HELD, sqlite_where=_HELD),
        Index("ix_tourism_bookings_held_email", "guest_email", "hold_expires_at",
              postgresql_include=["quantity"], postgresql_where=_HELD, sqlite_where=_HELD),
        Index("ix_tourism_bookings_held_client", "client_key", "hold_expires_at",
              postgresql_include=["quantity"], postgresql_where=_HELD, sqlite_where=_HELD),
    )


class Payment(db.Model):
    __tablename__ = "tourism_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # the gateway's payment id
    booking_id: Mapped[int] = mapped_column(ForeignKey("tourism_bookings.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(PROVIDER_MAX))
    amount: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    transaction_id: Mapped[str | None] = mapped_column(String(GATEWAY_ID_MAX))
    refund_id: Mapped[str | None] = mapped_column(String(GATEWAY_ID_MAX))
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship(back_populates="payments")

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'paid', 'failed', 'refunded')", name="status"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refund"),
    )


class WaitlistEntry(db.Model):
    __tablename__ = "tourism_waitlist"

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("tourism_slots.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(GUEST_NAME_MAX))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    phone: Mapped[str | None] = mapped_column(String(PHONE_MAX))
    locale: Mapped[str] = mapped_column(String(5), default="ko")
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("tourism_bookings.id", ondelete="SET NULL"))

    slot: Mapped[Slot] = relationship()
    booking: Mapped[Booking | None] = relationship()

    __table_args__ = (
        UniqueConstraint("slot_id", "email", name="uq_tourism_waitlist_slot_email"),
        CheckConstraint("status IN ('waiting', 'offered', 'cancelled')", name="status"),
        CheckConstraint("quantity > 0", name="quantity"),
        Index("ix_tourism_waitlist_queue", "slot_id", "status", "created_at"),
    )
