"""A resident's notification preferences: the channel they prefer and the ones they switched
off (never the portal inbox, so a notice always has somewhere to land)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.accounts.service import require_login
from portal.db import insert
from portal.types import utcnow

from ..errors import InvalidPreferences, PhoneMissing
from ..models import CHANNELS, OPTIONAL_CHANNELS, PHONE_CHANNELS, Preference
from ..schemas import preferences_json


def get_preferences(session: Session, user) -> dict:
    require_login(user)
    return preferences_json(session.get(Preference, user.id))


def update_preferences(session: Session, user, *, preferred_channel: str | None,
                       opted_out: list[str]) -> dict:
    require_login(user)
    fields = {}
    preferred_channel = preferred_channel or None
    opted = sorted(set(opted_out or []))
    if preferred_channel is not None and preferred_channel not in CHANNELS:
        fields["preferred_channel"] = _("Not one of the allowed values.")
    if "app" in opted:
        fields["opted_out"] = _("The portal inbox cannot be switched off.")
    elif any(c not in OPTIONAL_CHANNELS for c in opted):
        fields["opted_out"] = _("Not one of the allowed values.")
    if preferred_channel in opted:
        fields["preferred_channel"] = _("You cannot prefer a channel you switched off.")
    elif preferred_channel in PHONE_CHANNELS and not user.phone:
        fields["preferred_channel"] = _("Add a phone number to your profile first.")
    if fields:
        phone_only = list(fields) == ["preferred_channel"] and preferred_channel in PHONE_CHANNELS \
            and preferred_channel not in opted and not user.phone
        raise (PhoneMissing if phone_only else InvalidPreferences)(fields=fields)
    values = {"user_id": user.id, "preferred_channel": preferred_channel, "opted_out": opted,
              "updated_at": utcnow()}
    # one row per resident (the primary key): insert it, or overwrite it in the same statement
    stmt = insert(session.get_bind(Preference.__mapper__), Preference.__table__).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id"],
        set_={"preferred_channel": stmt.excluded.preferred_channel,
              "opted_out": stmt.excluded.opted_out, "updated_at": stmt.excluded.updated_at})
    session.execute(stmt)
    session.commit()
    session.expire_all()
    return get_preferences(session, user)
