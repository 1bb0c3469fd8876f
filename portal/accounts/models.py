"""Users, roles, personal API tokens, and the city's resident register."""

from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts import limits
from portal.accounts import roles as roles_
from portal.extensions import db
from portal.types import UTCDateTime, utcnow

ROLES = roles_.ALL


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(limits.EMAIL_MAX), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(limits.NAME_MAX), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    district: Mapped[str | None] = mapped_column(String(limits.DISTRICT_MAX))
    phone: Mapped[str | None] = mapped_column(String(limits.PHONE_MAX))
    locale: Mapped[str] = mapped_column(String(5), default="ko")
    active: Mapped[bool] = mapped_column(default=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(20))  # "register" | "staff"
    # The register entry this account speaks for: one entry, one account (unique), so one
    # person cannot endorse, vote or hold a card through several verified accounts.
    register_id: Mapped[int | None] = mapped_column(
        ForeignKey("resident_register.id", ondelete="SET NULL"), unique=True)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session's user id: raising it ends every session of the account
    # (logout, password change, password reset).
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        mine = self.roles
        return roles_.ADMIN in mine or any(r in mine for r in roles)

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def get_id(self) -> str:  # Flask-Login: what the session cookie holds
        return f"{self.id}.{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class UserRole(db.Model):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    user: Mapped[User] = relationship(back_populates="role_rows")


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(limits.TOKEN_NAME_MAX), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class ResidentRecord(db.Model):
    """One row of the city's resident register, imported by staff from CSV.

    The identity document number is kept only as a keyed hash (HMAC-SHA256).
    """

    __tablename__ = "resident_register"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(limits.NAME_MAX))
    birth_date: Mapped[date] = mapped_column(Date)
    district: Mapped[str] = mapped_column(String(limits.DISTRICT_MAX))
    document_hash: Mapped[str] = mapped_column(String(64))
    # "import" (the register file) or "counter" (staff checked the documents in person).
    source: Mapped[str] = mapped_column(String(10), default="import", server_default="import")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("document_hash", name="uq_resident_register_document_hash"),
        Index("ix_resident_register_match", "name", "birth_date"),
    )


class AccountLink(db.Model):
    """A single-use link sent by email: confirm the address, or reset the password.

    Only a SHA-256 of the token is stored; a link is used up by a conditional UPDATE
    (``used_at IS NULL AND expires_at > now``), so two clicks cannot both pass."""

    __tablename__ = "account_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))  # "confirm" | "reset"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
