"""The audit log: who did what to which record, when. Staff actions write here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.extensions import db
from portal.types import JSONType, UTCDateTime, utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(80))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSONType, default=dict)

    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)


def record(session: Session, actor, action: str, target_type: str, target_id, **details) -> AuditEntry:
    """Add an audit row to `session` (committed with the caller's transaction).

    `details` must not carry personal data: ids, codes, statuses and reasons only.
    """
    actor_id = getattr(actor, "id", None) if actor is not None and getattr(
        actor, "is_authenticated", True) else None
    entry = AuditEntry(actor_id=actor_id, action=action, target_type=target_type,
                       target_id=str(target_id), details=details, at=utcnow())
    session.add(entry)
    return entry


def entries_for(session: Session, target_type: str, target_id) -> list[AuditEntry]:
    return list(session.scalars(
        db.select(AuditEntry).where(AuditEntry.target_type == target_type,
                                    AuditEntry.target_id == str(target_id))
        .order_by(AuditEntry.at, AuditEntry.id)))
