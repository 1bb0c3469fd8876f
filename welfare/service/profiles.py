"""Profiles: the resident's own (written only with consent, withdrawn by deleting it) and the
officers' look at anyone's, which is audited."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import audit
from portal.accounts.models import User
from portal.accounts.service import require_login
from portal.db import insert
from portal.errors import Invalid
from portal.types import utcnow
from welfare.errors import ConsentRequired, NoProfile, NoUser
from welfare.models import WelfareProfile
from welfare.service.common import require_officer
from welfare.service.values import as_bool, normalise_profile


def profile_of(session: Session, user_id: int) -> WelfareProfile | None:
    return session.scalar(sa.select(WelfareProfile).where(WelfareProfile.user_id == user_id))


def my_profile(session: Session, actor) -> WelfareProfile | None:
    require_login(actor)
    return profile_of(session, actor.id)


def view_profile(session: Session, actor, user_id: int) -> WelfareProfile:
    """A resident sees their own profile; a welfare officer sees anyone's, and it is audited.

    An officer's look writes and commits its audit row, although a GET calls this: recording
    who looked at whose profile is the point (the audit trail's own issue revisits it).
    """
    require_login(actor)
    if actor.id != user_id:
        require_officer(actor)
    profile = profile_of(session, user_id)
    if actor.id != user_id:
        # Looking is an act: record it even when there is nothing to see.
        audit.record(session, actor, "welfare.profile.view", "welfare_profile", user_id,
                     found=profile is not None)
        session.commit()
    if profile is None:
        raise NoProfile()
    return profile


def profile_by_email(session: Session, actor, email: str) -> WelfareProfile:
    """An officer looks a resident up by email; then it is view_profile (audited, committed)."""
    require_officer(actor)
    user_id = session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == (email or "").strip().lower()))
    if user_id is None:
        raise NoUser()
    return view_profile(session, actor, user_id)


def update_my_profile(session: Session, actor, data: dict, consent: bool) -> WelfareProfile:
    """The resident writes their own profile; only with their consent to its use."""
    require_login(actor)
    if consent is not True:
        raise ConsentRequired()
    values, errors = normalise_profile(data)
    opt_out = as_bool(data.get("notices_opt_out", False), errors, "notices_opt_out")
    if errors:
        raise Invalid(fields=errors)
    now = utcnow()
    row = {**values, "user_id": actor.id, "source": "resident", "consent_at": now,
           "notices_opt_out": opt_out, "updated_at": now}
    # Upsert: two concurrent first saves still give one profile (unique user_id).
    stmt = insert(session.get_bind(), WelfareProfile).values(**row)
    stmt = stmt.on_conflict_do_update(index_elements=["user_id"],
                                      set_={k: stmt.excluded[k] for k in row if k != "user_id"})
    session.execute(stmt)
    session.commit()
    session.expire_all()
    return profile_of(session, actor.id)


def withdraw_consent(session: Session, actor) -> bool:
    """The resident deletes the profile they gave (imported data stays with the city)."""
    require_login(actor)
    result = session.execute(sa.delete(WelfareProfile).where(
        WelfareProfile.user_id == actor.id, WelfareProfile.source == "resident"))
    session.commit()
    return result.rowcount > 0
