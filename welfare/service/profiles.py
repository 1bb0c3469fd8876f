"""Profiles: the resident's own (written only with consent, withdrawn by deleting it) and the
officers' look at anyone's, which is audited.

A read never writes: the resident's own profile is read with a GET. An officer's look at
someone else's profile writes its audit row, so it is an explicit POST (the page's lookup form,
``POST /api/v1/welfare/profiles/lookup``), whose target (a user id or an email) travels in the
body, never in a URL that the access log would keep.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal import audit
from portal.accounts.models import User
from portal.accounts.service import require_login
from portal.db import insert
from portal.errors import Invalid
from portal.notify.text import MESSAGE as UNSTORABLE
from portal.notify.text import unstorable
from portal.types import utcnow
from welfare import limits
from welfare.errors import ConsentRequired, NoProfile, NoUser
from welfare.models import WelfareProfile
from welfare.service.common import require_officer
from welfare.service.values import as_bool, normalise_profile


def profile_of(session: Session, user_id: int) -> WelfareProfile | None:
    return session.scalar(sa.select(WelfareProfile).where(WelfareProfile.user_id == user_id))


def my_profile(session: Session, actor) -> WelfareProfile | None:
    require_login(actor)
    return profile_of(session, actor.id)


def own_profile(session: Session, actor) -> WelfareProfile:
    """The signed-in resident's profile (a read: NoProfile when there is none)."""
    profile = my_profile(session, actor)
    if profile is None:
        raise NoProfile()
    return profile


def _user_by_email(session: Session, email) -> int:
    if not isinstance(email, str) or not email.strip() or len(email) > limits.EMAIL_MAX:
        raise Invalid(fields={"email": _("Not a valid email address.")})
    if unstorable(email):
        raise Invalid(fields={"email": UNSTORABLE})
    user_id = session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == email.strip().lower()))
    if user_id is None:
        raise NoUser()
    return user_id


def look_up_profile(session: Session, actor, *, user_id: int | None = None,
                    email: str | None = None) -> WelfareProfile:
    """A welfare officer looks at a resident's profile, found by user id or by email: the look
    is recorded in the audit log (also when there is nothing to see, or the officer looks at
    their own) and committed. A write, so only a POST calls it."""
    require_officer(actor)
    if (user_id is None) == (email is None):
        raise Invalid(fields={"user_id": _("Give either a user id or an email address.")})
    if user_id is None:
        user_id = _user_by_email(session, email)
    profile = profile_of(session, user_id)
    # Looking is an act: record it even when there is nothing to see.
    audit.record(session, actor, "welfare.profile.view", "welfare_profile", user_id,
                 found=profile is not None)
    session.commit()
    if profile is None:
        raise NoProfile()
    return profile


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


def withdraw_consent(session: Session, actor) -> str | None:
    """The resident withdraws their consent: the profile they gave is deleted ("deleted"); on
    a profile from the city's records (which stays with the city) notices stop ("stopped").
    None when there was nothing to withdraw."""
    require_login(actor)
    deleted = session.execute(sa.delete(WelfareProfile).where(
        WelfareProfile.user_id == actor.id, WelfareProfile.source == "resident")).rowcount
    stopped = 0 if deleted else session.execute(
        sa.update(WelfareProfile)
        .where(WelfareProfile.user_id == actor.id,
               sa.or_(WelfareProfile.notices_opt_out.is_(False), WelfareProfile.consent_at.is_not(None)))
        .values(notices_opt_out=True, consent_at=None, updated_at=utcnow())).rowcount
    session.commit()
    return "deleted" if deleted else "stopped" if stopped else None
