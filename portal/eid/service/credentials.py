"""A card's device-bound credential: the city signs, for one phone's key, what gates need to
know of the card, valid at most ``EID_CREDENTIAL_SECONDS`` (a day), so the phone shows codes
without network until then (``portal.eid.presentation``).

A card's credential is live on at most ``EID_DEVICES_PER_CARD`` phones at once (a phone is
its key's thumbprint; asking again from the same phone renews it). Counted under a lock on the
card's row, so racing phones cannot pass the limit. Reporting the card lost revokes the card:
every phone's credential is then denied, online by the card's status, offline by the status list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.accounts.service import require_verified
from portal.audit import record
from portal.eid import keys, presentation, settings
from portal.eid.errors import CardSuspended, DeviceLimit, InvalidDeviceKey, NoActiveCard, NoSigningKey
from portal.eid.models import LIVE_STATUSES, Card, Device
from portal.eid.service.cards import shown_status
from portal.eid.service.common import now_or
from portal.eid.service.holders import holder_facts
from portal.eid.service.status import fernet, status_list_uri
from portal.eid.service.tokens import SEOUL, ages_met


@dataclass(frozen=True)
class IssuedCredential:
    credential: bytes
    expires_at: datetime
    status_idx: int
    status_uri: str
    server_time: int

    @property
    def credential_b64(self) -> str:
        return presentation.b64url(self.credential)


def issue_credential(session: Session, user, device_jwk, now: datetime | None = None) -> IssuedCredential:
    """A credential of the holder's active card for the phone whose public key is ``device_jwk``
    (422 ``invalid_device_key``, 404 ``no_active_card``, 409 ``card_suspended`` or
    ``device_limit``, 503 ``signing_key_missing``)."""
    require_verified(user)
    now = now_or(now)
    try:
        point, thumbprint = presentation.device_key(device_jwk)
    except ValueError:
        raise InvalidDeviceKey() from None
    # The card's row, locked: the phones of one card are counted one request at a time.
    card = session.scalar(select(Card).where(Card.user_id == user.id, Card.status.in_(LIVE_STATUSES))
                          .with_for_update(of=Card))
    status = shown_status(card, now) if card is not None else None
    if status != "active":
        session.rollback()
        raise CardSuspended() if status == "suspended" else NoActiveCard()
    signing = keys.active_key(session)
    if signing is None:
        session.rollback()
        raise NoSigningKey()
    expires_at = min(now + timedelta(seconds=settings.CREDENTIAL_SECONDS()), card.expires_at)
    device = session.scalar(select(Device).where(Device.card_id == card.id, Device.thumbprint == thumbprint))
    if device is None:
        live = session.scalar(select(func.count()).select_from(Device).where(
            Device.card_id == card.id, Device.credential_expires_at > now))
        if live >= settings.DEVICES_PER_CARD():
            session.rollback()
            raise DeviceLimit()
        session.add(Device(card_id=card.id, thumbprint=thumbprint, public_key=point, created_at=now,
                           credential_expires_at=expires_at))
        record(session, user, "eid.device_added", "eid_card", card.public_id)
    else:
        device.credential_expires_at = expires_at
    holder = holder_facts(session, card.user)
    iat, exp = int(now.timestamp()), int(expires_at.timestamp())
    credential = presentation.issue(
        keys.signer(signing, fernet()), signing.kid, sub=card.public_id, iat=iat, exp=exp,
        device_point=point, status_idx=card.status_idx, status_uri=status_list_uri(),
        resident=holder.resident, district=holder.district,
        age_over=ages_met(holder.birth_date, settings.AGE_THRESHOLDS(), now.astimezone(SEOUL).date()))
    session.commit()
    return IssuedCredential(credential, datetime.fromtimestamp(exp, tz=UTC), card.status_idx,
                            status_list_uri(), int(datetime.now(UTC).timestamp()))
