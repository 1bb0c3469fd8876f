"""Welfare programmes, residents' welfare profiles and the notices the scan has queued."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.types import JSONType, UTCDateTime, utcnow

CHANNELS = ("app", "email", "sms", "voice")
SOURCES = ("import", "resident")


class Programme(db.Model):
    """A benefit the city offers, with its eligibility rule stored as data (see welfare.rules)."""

    __tablename__ = "welfare_programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # Content staff write, per locale: {"ko": ..., "en": ..., "zh": ...}; read with portal.i18n.pick.
    name: Mapped[dict] = mapped_column(JSONType, default=dict)
    description: Mapped[dict] = mapped_column(JSONType, default=dict)
    how_to_apply: Mapped[dict] = mapped_column(JSONType, default=dict)
    active_from: Mapped[date | None] = mapped_column(Date)
    active_until: Mapped[date | None] = mapped_column(Date)
    # Channels this programme may be announced by, in order of preference ([] = resident's choice).
    channels: Mapped[list] = mapped_column(JSONType, default=list)
    callback_phone: Mapped[str | None] = mapped_column(String(32))
    rules: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def is_active(self, today: date) -> bool:
        return ((self.active_from is None or self.active_from <= today)
                and (self.active_until is None or today <= self.active_until))


class WelfareProfile(db.Model):
    """What the city knows about one resident's situation. Sensitive: never logged."""

    __tablename__ = "welfare_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    # Household income as a percentage of the standard median income (기준 중위소득 대비 %) for
    # the household's size: 0-1000, 100 is the median (welfare.service.income).
    median_income_pct: Mapped[int | None] = mapped_column(Integer)
    household_size: Mapped[int] = mapped_column(Integer, default=1)
    lives_alone: Mapped[bool] = mapped_column(Boolean, default=False)
    disability_grade: Mapped[int | None] = mapped_column(Integer)  # None or 1 (most severe) .. 6
    youngest_child_birth_date: Mapped[date | None] = mapped_column(Date)
    district: Mapped[str | None] = mapped_column(String(64))
    # Consent: the resident agreed that the city uses their self-reported data; opt-out of notices.
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notices_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16), default="import")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user = relationship("User", lazy="joined")

    __table_args__ = (
        CheckConstraint("median_income_pct IS NULL OR (median_income_pct BETWEEN 0 AND 1000)",
                        name="median_income_pct_range"),
        CheckConstraint("household_size >= 1", name="household_size_positive"),
        CheckConstraint("disability_grade IS NULL OR (disability_grade BETWEEN 1 AND 6)",
                        name="disability_grade_range"),
        CheckConstraint("source IN ('import', 'resident')", name="source_known"),
    )


class Notice(db.Model):
    """One notice per (resident, programme): the unique constraint is the guarantee."""

    __tablename__ = "welfare_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # RESTRICT: a programme residents were told about cannot disappear under its notices.
    programme_id: Mapped[int] = mapped_column(ForeignKey("welfare_programme.id", ondelete="RESTRICT"))
    # The outbox message is identified by its idempotency key, "welfare:<code>:<user_id>".
    message_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # programme first: serves the scan's anti-join per programme and reach counts.
        UniqueConstraint("programme_id", "user_id", name="uq_welfare_notice_programme_user"),
        Index("ix_welfare_notice_user", "user_id"),
    )


FOLLOW_UP_KINDS = ("callback", "health_check", "unreachable")
FOLLOW_UP_STATUSES = ("open", "done")
FOLLOW_UP_OUTCOMES = ("reached", "applied", "declined", "unreachable")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class FollowUp(db.Model):
    """An officer's follow-up of a notice: a callback (keypress 1), a health-check referral
    (keypress 3) or a resident the calls could not reach. One per (notice, kind): the unique
    constraint is the guarantee that a repeated keypress opens nothing new."""

    __tablename__ = "welfare_follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    programme_id: Mapped[int] = mapped_column(ForeignKey("welfare_programme.id", ondelete="RESTRICT"))
    notice_id: Mapped[int] = mapped_column(ForeignKey("welfare_notice.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(8), default="open")
    outcome: Mapped[str | None] = mapped_column(String(16))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("notice_id", "kind", name="uq_welfare_follow_up_notice_kind"),
        CheckConstraint(_in("kind", FOLLOW_UP_KINDS), name="kind"),
        CheckConstraint(_in("status", FOLLOW_UP_STATUSES), name="status"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', FOLLOW_UP_OUTCOMES)}", name="outcome"),
        # open: no outcome, not closed; done: an outcome and when it was closed
        CheckConstraint("(status = 'open' AND outcome IS NULL AND closed_at IS NULL) OR "
                        "(status = 'done' AND outcome IS NOT NULL AND closed_at IS NOT NULL)",
                        name="closed_with_outcome"),
        # the officers' queue: by status, due first
        Index("ix_welfare_follow_up_status_due", "status", "due_at", "id"),
    )
