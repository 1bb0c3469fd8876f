"""e-ID tables: signing keys, cards, facilities, gates, the access log, used token ids."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.types import JSONType, UTCDateTime, utcnow

CARD_STATUSES = ("active", "suspended", "revoked", "expired")
# A user holds at most one "live" card: active or suspended (a suspended card blocks
# issuing a new one, so suspension cannot be side-stepped by reissuing).
LIVE_STATUSES = ("active", "suspended")
# Opening hours are stored by day index ("0" = Monday); the API and the forms write the codes.
DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FACILITY_KINDS = ("library", "sports_centre", "community_centre", "senior_centre", "parking",
                  "culture_centre", "other")
BigId = BigInteger().with_variant(Integer(), "sqlite")
# Positions in the status list (``portal.eid.statuslist``): each card holds one, drawn at random
# when it is issued, so a card's position says nothing of when it was issued or by whom. 2 bits
# a position: 262,144 bytes before compression, a few hundred after while most cards are valid.
STATUS_LIST_SIZE = 1 << 20


def random_status_idx() -> int:
    return secrets.randbelow(STATUS_LIST_SIZE)


class SigningKey(db.Model):
    """An Ed25519 signing key. The private key is stored encrypted (Fernet)."""

    __tablename__ = "eid_signing_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | retired
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Published in the JWKS until then: every token it signed has expired by that time.
    publish_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('active', 'retired')", name="status"),
        # One signing key at a time.
        Index("uq_eid_signing_key_active", "status", unique=True,
              postgresql_where=db.text("status = 'active'"),
              sqlite_where=db.text("status = 'active'")),
    )


class Card(db.Model):
    __tablename__ = "eid_card"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Pseudonymous id: the token's `sub` and the id in the status list. Random, unrelated to
    # the user's id, name or any national number.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_reason: Mapped[str | None] = mapped_column(String(200))
    # The card's position in the status list (unique; ``random_status_idx``).
    status_idx: Mapped[int] = mapped_column(Integer, unique=True, default=random_status_idx)

    user = relationship("User", lazy="joined")

    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended', 'revoked', 'expired')", name="status"),
        Index("uq_eid_card_live_user", "user_id", unique=True,
              postgresql_where=db.text("status IN ('active', 'suspended')"),
              sqlite_where=db.text("status IN ('active', 'suspended')")),
        Index("ix_eid_card_status", "status"),
    )

    @property
    def masked_number(self) -> str:
        return "•••• •••• •••• " + self.number[-4:]


class Device(db.Model):
    """A phone a card's credential was issued to: the card's holder made a key on it that never
    leaves it (``portal.eid.service.credentials``). Identified by the key's JWK thumbprint
    (RFC 7638); live while its latest credential has not expired. A card has at most
    ``EID_DEVICES_PER_CARD`` live devices; reporting the card lost stops them all."""

    __tablename__ = "eid_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("eid_card.id", ondelete="CASCADE"))
    thumbprint: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(65))  # uncompressed P-256 point
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    credential_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_eid_device_card_thumbprint", "card_id", "thumbprint", unique=True),
    )


class Facility(db.Model):
    __tablename__ = "eid_facility"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    names: Mapped[dict] = mapped_column(JSONType, default=dict)  # {"ko": ..., "en": ..., "zh": ...}
    kind: Mapped[str] = mapped_column(String(30), default="other")
    # {"0": "09:00-18:00", ..., "6": null}: Monday = "0"; missing or null = closed.
    opening_hours: Mapped[dict] = mapped_column(JSONType, default=dict)
    residents_only: Mapped[bool] = mapped_column(Boolean, default=False)
    districts: Mapped[list] = mapped_column(JSONType, default=list)
    min_age: Mapped[int | None] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)
    resident_discount: Mapped[int] = mapped_column(Integer, default=0)  # percent
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("resident_discount BETWEEN 0 AND 100", name="discount"),
    )

    @property
    def policy(self) -> dict:
        return {
            "residents_only": bool(self.residents_only),
            "districts": list(self.districts or []),
            "min_age": self.min_age,
            "max_age": self.max_age,
            "resident_discount": int(self.resident_discount or 0),
        }


class Gate(db.Model):
    __tablename__ = "eid_gate"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("eid_facility.id", ondelete="CASCADE"),
                                             index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the API key
    key_prefix: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    facility: Mapped[Facility] = relationship(lazy="joined")


class AccessEntry(db.Model):
    """One verify decision at a gate. No personal data: a card row id, not a person."""

    __tablename__ = "eid_access_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("eid_card.id", ondelete="SET NULL"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("eid_facility.id", ondelete="CASCADE"))
    gate_id: Mapped[int] = mapped_column(ForeignKey("eid_gate.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(20))
    # The card's status at that moment (active, suspended, revoked, expired), if it was read.
    card_status: Mapped[str | None] = mapped_column(String(10))

    facility: Mapped[Facility] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_eid_access_log_card_at", "card_id", "at"),
        Index("ix_eid_access_log_facility_at", "facility_id", "at"),
    )


class UsedToken(db.Model):
    """Token ids used at a gate: a token id is inserted once, in the same commit as its
    decision's log row; a second insert is a replay. ``expires_at`` is the token's ``exp``;
    ``eid.purge_used_tokens`` forgets a row once ``exp`` plus the leeway and a margin is past
    by the database's clock (``portal.eid.verify.store``)."""

    __tablename__ = "eid_used_token"

    jti: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

