"""The e-ID rules: cards, tokens, facilities, gates, verification and the access log.

Plain functions on a session. Functions acting for a person take the acting ``user`` and check
authorisation here; the verify path takes the gate found by ``authenticate_gate``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import jwt
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, String, bindparam, case, delete, insert, literal, select, update
from sqlalchemy import column as db_column
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from portal.accounts.service import require_role, require_verified
from portal.audit import record
from portal.eid import keys, verifier
from portal.eid.models import (
    FACILITY_KINDS,
    LIVE_STATUSES,
    AccessEntry,
    Card,
    Facility,
    Gate,
    UsedToken,
)
from portal.errors import Conflict, DomainError, Invalid, NotFound, Unauthorized
from portal.types import UTCDateTime, utcnow

SEOUL = ZoneInfo("Asia/Seoul")
DEFAULT_ISSUER = "https://portal.example.kr"
DEFAULT_AGE_THRESHOLDS = (14, 19, 65)
GATE_KEY_PREFIX = "eidg_"
STAFF_ROLES = ("staff",)

REASON_MESSAGES = {
    "ok": _l("Welcome."),
    "malformed": _l("This is not a valid card code."),
    "bad_signature": _l("This card code is forged or damaged."),
    "expired": _l("This card code has expired. Please refresh the card."),
    "not_yet_valid": _l("This card code is not valid yet. Check the clock of the device."),
    "replayed": _l("This card code has already been used."),
    "revoked": _l("This card is no longer valid."),
    "suspended": _l("This card is suspended."),
    "unknown_key": _l("This card code was not issued by the city."),
    "policy": _l("This card does not give access to this facility."),
}
STATUS_LABELS = {
    "active": _l("Valid"),
    "suspended": _l("Suspended"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
}
DECISION_LABELS = {"granted": _l("Granted"), "denied": _l("Denied")}
KIND_LABELS = {
    "library": _l("Library"),
    "sports_centre": _l("Sports centre"),
    "community_centre": _l("Community centre"),
    "senior_centre": _l("Senior centre"),
    "parking": _l("Parking"),
    "culture_centre": _l("Culture centre"),
    "other": _l("Other"),
}


# --- settings ---------------------------------------------------------------------------


def issuer() -> str:
    return current_app.config.get("EID_ISSUER") or DEFAULT_ISSUER


def token_seconds() -> int:
    """Token lifetime: config EID_TOKEN_SECONDS (default 60), never more than 60."""
    try:
        value = int(current_app.config.get("EID_TOKEN_SECONDS") or verifier.MAX_LIFETIME)
    except (TypeError, ValueError):
        value = verifier.MAX_LIFETIME
    return max(5, min(value, verifier.MAX_LIFETIME))


def card_valid_days() -> int:
    try:
        return max(1, int(current_app.config.get("EID_CARD_VALID_DAYS") or 5 * 365))
    except (TypeError, ValueError):
        return 5 * 365


def age_thresholds() -> tuple[int, ...]:
    raw = current_app.config.get("EID_AGE_THRESHOLDS")
    if not raw:
        return DEFAULT_AGE_THRESHOLDS
    if isinstance(raw, str):
        raw = [p for p in re.split(r"[,\s]+", raw) if p]
    return tuple(sorted({int(v) for v in raw}))


def fernet():
    secret = current_app.config.get("EID_KEY_ENCRYPTION_KEY") or current_app.config["SECRET_KEY"]
    cached = current_app.extensions.get("eid_fernet")
    if cached is None or cached[0] != secret:
        cached = (secret, keys.fernet_for(secret))
        current_app.extensions["eid_fernet"] = cached
    return cached[1]


# --- cards ------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def live_card(session: Session, user) -> Card | None:
    return session.scalar(select(Card).where(Card.user_id == user.id,
                                             Card.status.in_(LIVE_STATUSES)))


def my_card(session: Session, user) -> Card:
    """The user's card: the live one (active or suspended), else the latest one."""
    require_verified(user)
    card = live_card(session, user) or session.scalar(
        select(Card).where(Card.user_id == user.id)
        .order_by(Card.issued_at.desc(), Card.id.desc()).limit(1))
    if card is None:
        raise NotFound(_l("You do not have an e-ID card yet."), code="no_card")
    return _expire_if_due(session, card)


def _expire_if_due(session: Session, card: Card, now: datetime | None = None) -> Card:
    now = _now(now)
    if card.status in LIVE_STATUSES and card.expires_at <= now:
        session.execute(update(Card).where(Card.id == card.id, Card.status.in_(LIVE_STATUSES))
                        .values(status="expired", status_changed_at=now))
        session.commit()
        session.refresh(card)
    return card


def issue_card(session: Session, user, now: datetime | None = None) -> Card:
    """Issue a card to a verified resident; 409 ``card_exists`` if they hold a live one.
    The partial unique index on (user_id) WHERE status IN (active, suspended) decides races."""
    require_verified(user)
    now = _now(now)
    current = live_card(session, user)
    if current is not None:
        _expire_if_due(session, current, now)
    card = Card(public_id=verifier.b64url_encode(secrets.token_bytes(16)),
                user_id=user.id, number="".join(secrets.choice("0123456789") for _ in range(16)),
                status="active", issued_at=now, status_changed_at=now,
                expires_at=now + timedelta(days=card_valid_days()))
    try:
        with session.begin_nested():
            session.add(card)
    except IntegrityError:
        session.rollback()
        raise Conflict(_l("You already have an e-ID card."), code="card_exists") from None
    record(session, user, "eid.card_issued", "eid_card", card.public_id)
    session.commit()
    return card


def revoke_my_card(session: Session, user, now: datetime | None = None) -> Card:
    """Report the card lost: the active card becomes revoked (a new one can then be issued).
    A suspended card cannot be revoked by its holder (that would lift the suspension)."""
    require_verified(user)
    now = _now(now)
    card = session.execute(
        update(Card).where(Card.user_id == user.id, Card.status == "active")
        .values(status="revoked", status_changed_at=now, status_reason="reported_lost")
        .returning(Card.id)
    ).scalar()
    if card is None:
        if live_card(session, user) is not None:
            session.rollback()
            raise Conflict(_l("This card is suspended. Please contact the city office."),
                           code="card_suspended")
        session.rollback()
        raise NotFound(_l("You do not have an active e-ID card."), code="no_active_card")
    row = session.get(Card, card)
    record(session, user, "eid.card_revoked", "eid_card", row.public_id, reason="reported_lost")
    session.commit()
    session.refresh(row)
    return row


def report_lost(session: Session, user) -> Card:
    """Revoke the active card and issue a new one."""
    revoke_my_card(session, user)
    return issue_card(session, user)


def ages_met(birth_date: date | None, thresholds, today: date) -> list[int]:
    if birth_date is None:
        return []
    age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    return [t for t in thresholds if age >= t]


def card_token(session: Session, user, now: datetime | None = None) -> tuple[str, int]:
    """A short-lived signed token for the holder's active card: (token, expires_in)."""
    require_verified(user)
    now = _now(now)
    card = live_card(session, user)
    if card is not None:
        card = _expire_if_due(session, card, now)
    if card is None or card.status != "active":
        if card is not None and card.status == "suspended":
            raise Conflict(_l("This card is suspended. Please contact the city office."),
                           code="card_suspended")
        raise NotFound(_l("You do not have an active e-ID card."), code="no_active_card")
    return sign_token(session, card, user, now)


def sign_token(session: Session, card: Card, user, now: datetime | None = None) -> tuple[str, int]:
    now = _now(now)
    claims = token_claims(card, user, now)
    f = fernet()
    row = keys.active_key(session, f)
    session.commit()
    token = jwt.encode(claims, keys.signer(row, f), algorithm=verifier.ALGORITHM,
                       headers={"kid": row.kid, "typ": "JWT"})
    return token, claims["exp"] - claims["iat"]


def token_claims(card: Card, user, now: datetime) -> dict:
    """The claims of a card token: a pseudonymous subject and the gate attributes only."""
    lifetime = token_seconds()
    iat = int(now.timestamp())
    return {
        "iss": issuer(),
        "sub": card.public_id,
        "iat": iat,
        "exp": iat + lifetime,
        "jti": verifier.b64url_encode(secrets.token_bytes(16)),
        "resident": bool(user.is_verified and "resident" in user.roles),
        "district": user.district,
        "age_over": ages_met(user.birth_date, age_thresholds(), now.astimezone(SEOUL).date()),
    }


# --- staff: cards -----------------------------------------------------------------------


def find_cards(session: Session, staff, query: str, limit: int = 50) -> list[Card]:
    """Staff search: by card number, card id, or the holder's e-mail."""
    require_role(staff, *STAFF_ROLES)
    from portal.accounts.models import User

    query = (query or "").strip()
    if not query:
        return []
    digits = re.sub(r"[\s-]", "", query)
    stmt = select(Card).join(User, User.id == Card.user_id)
    if digits.isdigit() and len(digits) == 16:
        stmt = stmt.where(Card.number == digits)
    elif "@" in query:
        stmt = stmt.where(User.email == query.lower())
    else:
        stmt = stmt.where(Card.public_id == query)
    return list(session.scalars(stmt.order_by(Card.issued_at.desc()).limit(limit)))


def _set_status(session, staff, public_id, reason, from_status, to_status, action, now=None):
    require_role(staff, *STAFF_ROLES)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(fields={"reason": _l("Please give a reason.")})
    if len(reason) > 200:
        raise Invalid(fields={"reason": _l("Too long: at most %(n)s characters.", n=200)})
    now = _now(now)
    card_id = session.execute(
        update(Card).where(Card.public_id == public_id, Card.status == from_status)
        .values(status=to_status, status_changed_at=now, status_reason=reason)
        .returning(Card.id)
    ).scalar()
    if card_id is None:
        session.rollback()
        if session.scalar(select(Card.id).where(Card.public_id == public_id)) is None:
            raise NotFound(_l("No such card."), code="no_card")
        raise Conflict(_l("The card is not in a state that allows this."), code="wrong_status")
    record(session, staff, action, "eid_card", public_id, reason=reason,
           from_status=from_status, to_status=to_status)
    session.commit()
    return session.get(Card, card_id)


def suspend_card(session: Session, staff, public_id: str, reason: str, now=None) -> Card:
    return _set_status(session, staff, public_id, reason, "active", "suspended",
                       "eid.card_suspended", now)


def resume_card(session: Session, staff, public_id: str, reason: str, now=None) -> Card:
    return _set_status(session, staff, public_id, reason, "suspended", "active",
                       "eid.card_resumed", now)


# --- status document and keys -------------------------------------------------------------


def status_document(session: Session, now: datetime | None = None) -> tuple[dict, str]:
    """Revoked (not yet past their validity) and suspended card ids, with a content ETag."""
    now = _now(now)
    rows = session.execute(
        select(Card.public_id, Card.status)
        .where((Card.status == "suspended") | ((Card.status == "revoked") & (Card.expires_at > now)))
        .order_by(Card.public_id)
    ).all()
    doc = {
        "revoked": [r.public_id for r in rows if r.status == "revoked"],
        "suspended": [r.public_id for r in rows if r.status == "suspended"],
    }
    body = json.dumps(doc, separators=(",", ":"), sort_keys=True)
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    return doc, etag


def jwks(session: Session, now: datetime | None = None) -> dict:
    return keys.jwks(session, now)


def rotate_key(session: Session, now: datetime | None = None):
    row = keys.rotate(session, fernet(), now)
    session.commit()
    return row


# --- facilities -------------------------------------------------------------------------

DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def parse_opening_hours(text: str | None) -> dict[str, str]:
    """``"mon-fri 09:00-18:00; sat 10:00-13:00"`` → ``{"0": "09:00-18:00", ..., "5": ...}``."""
    hours: dict[str, str] = {}
    for part in re.split(r"[;\n]+", text or ""):
        part = part.strip().lower()
        if not part:
            continue
        try:
            days, span = part.split()
            if "-" in days:
                a, b = days.split("-")
                first, last = DAY_CODES.index(a), DAY_CODES.index(b)
                day_list = range(first, last + 1)
                if first > last:
                    raise ValueError
            else:
                day_list = [DAY_CODES.index(d) for d in days.split(",")]
        except ValueError:
            raise Invalid(fields={"opening_hours": _l(
                'Write opening hours like "mon-fri 09:00-18:00; sat 10:00-13:00".')}) from None
        if not _HOURS.match(span) or span[:5] >= span[6:]:
            raise Invalid(fields={"opening_hours": _l(
                'Write opening hours like "mon-fri 09:00-18:00; sat 10:00-13:00".')})
        for d in day_list:
            hours[str(d)] = span
    return hours


def format_opening_hours(hours: dict | None) -> str:
    return "; ".join(f"{DAY_CODES[int(d)]} {span}" for d, span in sorted((hours or {}).items()))


@dataclass
class FacilityInput:
    code: str
    names: dict
    kind: str = "other"
    opening_hours: dict | str | None = None
    residents_only: bool = False
    districts: list | str | None = None
    min_age: int | None = None
    max_age: int | None = None
    resident_discount: int = 0
    active: bool = True


_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")


def _clean_facility(data: FacilityInput) -> dict:
    fields = {}
    code = (data.code or "").strip().lower()
    if not _CODE.match(code):
        fields["code"] = _l("2 to 40 lower-case letters, digits, - or _.")
    names = {k: (v or "").strip() for k, v in (data.names or {}).items() if k in ("ko", "en", "zh")}
    names = {k: v[:200] for k, v in names.items() if v}
    if not names.get("ko"):
        fields["name_ko"] = _l("This field is required.")
    if data.kind not in FACILITY_KINDS:
        fields["kind"] = _l("Not one of the allowed values.")
    hours = data.opening_hours
    if isinstance(hours, str) or hours is None:
        try:
            hours = parse_opening_hours(hours)
        except Invalid as exc:
            fields.update(exc.fields or {})
            hours = {}
    districts = data.districts
    if isinstance(districts, str) or districts is None:
        districts = [d.strip() for d in re.split(r"[,\n]+", districts or "") if d.strip()]
    thresholds = age_thresholds()
    if data.min_age is not None and data.min_age not in thresholds:
        fields["min_age"] = _l("Use one of the age thresholds: %(ages)s.",
                               ages=", ".join(map(str, thresholds)))
    if data.max_age is not None and data.max_age + 1 not in thresholds:
        fields["max_age"] = _l("Use one of: %(ages)s.",
                               ages=", ".join(str(t - 1) for t in thresholds))
    if data.min_age is not None and data.max_age is not None and data.min_age > data.max_age:
        fields["max_age"] = _l("Must be at least %(n)s.", n=data.min_age)
    discount = data.resident_discount or 0
    if not 0 <= discount <= 100:
        fields["resident_discount"] = _l("Between 0 and 100.")
    if fields:
        raise Invalid(fields=fields)
    return {"code": code, "names": names, "kind": data.kind, "opening_hours": hours,
            "residents_only": bool(data.residents_only), "districts": districts,
            "min_age": data.min_age, "max_age": data.max_age,
            "resident_discount": int(discount), "active": bool(data.active)}


def create_facility(session: Session, staff, data: FacilityInput) -> Facility:
    require_role(staff, *STAFF_ROLES)
    values = _clean_facility(data)
    facility = Facility(**values)
    try:
        with session.begin_nested():
            session.add(facility)
    except IntegrityError:
        session.rollback()
        raise Conflict(_l("A facility with this code exists."), code="facility_exists",
                       fields={"code": _l("A facility with this code exists.")}) from None
    record(session, staff, "eid.facility_created", "eid_facility", facility.code)
    session.commit()
    return facility


def update_facility(session: Session, staff, code: str, data: FacilityInput) -> Facility:
    require_role(staff, *STAFF_ROLES)
    facility = get_facility(session, code)
    values = _clean_facility(data)
    values.pop("code")
    for key, value in values.items():
        setattr(facility, key, value)
    record(session, staff, "eid.facility_updated", "eid_facility", facility.code)
    session.commit()
    _gate_cache.clear()  # gates carry the facility's policy
    return facility


def get_facility(session: Session, code: str) -> Facility:
    facility = session.scalar(select(Facility).where(Facility.code == code))
    if facility is None:
        raise NotFound(_l("No such facility."), code="no_facility")
    return facility


def facilities_stmt(include_inactive: bool = False):
    stmt = select(Facility)
    if not include_inactive:
        stmt = stmt.where(Facility.active.is_(True))
    return stmt


# --- gates ------------------------------------------------------------------------------


def hash_gate_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_gate(session: Session, staff, facility_code: str, name: str = "") -> tuple[Gate, str]:
    """Register a gate at a facility. Returns (gate, api_key); the key is shown only once.
    ``staff`` None means the command line (operator on the server)."""
    if staff is not None:
        require_role(staff, *STAFF_ROLES)
    facility = get_facility(session, facility_code)
    key = GATE_KEY_PREFIX + secrets.token_urlsafe(32)
    gate = Gate(facility_id=facility.id, name=(name or "").strip()[:100] or facility.code,
                key_hash=hash_gate_key(key), key_prefix=key[:12], active=True)
    session.add(gate)
    session.flush()
    record(session, staff, "eid.gate_created", "eid_gate", gate.id, facility=facility.code)
    session.commit()
    _gate_cache.clear()
    return gate, key


def deactivate_gate(session: Session, staff, gate_id: int) -> Gate:
    require_role(staff, *STAFF_ROLES)
    gate = session.get(Gate, gate_id)
    if gate is None:
        raise NotFound(_l("No such gate."), code="no_gate")
    gate.active = False
    record(session, staff, "eid.gate_deactivated", "eid_gate", gate.id)
    session.commit()
    _gate_cache.clear()
    return gate


@dataclass(frozen=True)
class GateInfo:
    id: int
    facility_id: int
    facility_code: str
    policy: dict


class _GateCache:
    """Gate keys seen recently, per process (a few seconds: a deactivated key stops working
    within ``TTL`` seconds on every process, at once on this one)."""

    TTL = 5.0

    def __init__(self):
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, GateInfo]] = {}

    def get(self, key_hash: str, now: float) -> GateInfo | None:
        item = self._items.get(key_hash)
        if item is not None and now - item[0] < self.TTL:
            return item[1]
        return None

    def put(self, key_hash: str, info: GateInfo, now: float) -> None:
        with self._lock:
            if len(self._items) > 1000:
                self._items.clear()
            self._items[key_hash] = (now, info)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_gate_cache = _GateCache()


def authenticate_gate(session: Session, api_key: str | None) -> GateInfo:
    """The gate holding this API key; 401 ``invalid_gate_key`` otherwise."""
    if not api_key or not api_key.startswith(GATE_KEY_PREFIX) or len(api_key) > 100:
        raise Unauthorized(_l("A valid gate key is required."), code="invalid_gate_key")
    key_hash = hash_gate_key(api_key)
    now = time.monotonic()
    info = _gate_cache.get(key_hash, now)
    if info is not None:
        return info
    row = session.execute(
        select(Gate.id, Gate.facility_id, Gate.key_hash, Facility.code, Facility.residents_only,
               Facility.districts, Facility.min_age, Facility.max_age, Facility.resident_discount)
        .join(Facility, Facility.id == Gate.facility_id)
        .where(Gate.key_hash == key_hash, Gate.active.is_(True), Facility.active.is_(True))
    ).first()
    if row is None or not hmac.compare_digest(row.key_hash, key_hash):
        raise Unauthorized(_l("A valid gate key is required."), code="invalid_gate_key")
    info = GateInfo(id=row.id, facility_id=row.facility_id, facility_code=row.code, policy={
        "residents_only": bool(row.residents_only), "districts": list(row.districts or []),
        "min_age": row.min_age, "max_age": row.max_age,
        "resident_discount": int(row.resident_discount or 0)})
    _gate_cache.put(key_hash, info, now)
    return info


# --- verify: the used token ids, the decision, the access log ------------------------------


class VerifyUnavailable(DomainError):
    """The database cannot be reached: the gate is told to try again (nothing is granted)."""

    status = 503
    code = "verify_unavailable"
    default_message = _l("Card checks are unavailable for a moment. Please try again.")


_used_token_stmts: dict = {}


def used_token_stmt(dialect_name: str):
    """``INSERT INTO eid_used_token ... ON CONFLICT (jti) DO NOTHING RETURNING jti``, built
    once per dialect; parameters from ``used_token_params``. A row back means the token id
    was new; none means another check already used it (or is using it: PostgreSQL makes the
    second insert wait for the first one's commit, then skips it)."""
    stmt = _used_token_stmts.get(dialect_name)
    if stmt is not None:
        return stmt
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    table = UsedToken.__table__
    stmt = (dialect_insert(table)
            .values(jti=bindparam("used_jti", type_=String()),
                    expires_at=bindparam("used_until", type_=UTCDateTime()))
            .on_conflict_do_nothing(index_elements=["jti"]).returning(table.c.jti))
    return _used_token_stmts.setdefault(dialect_name, stmt)


def used_until(claims: dict, now_s: float) -> datetime:
    """Until when a token id is remembered: until the token could not pass any more."""
    return datetime.fromtimestamp(now_s + verifier.replay_ttl(claims, now_s), tz=UTC)


def used_token_params(jti: str, until: datetime) -> dict:
    return {"used_jti": jti, "used_until": until}


def purge_used_tokens(session: Session, now: datetime | None = None) -> int:
    n = session.execute(delete(UsedToken).where(UsedToken.expires_at < _now(now))).rowcount
    session.commit()
    return n


def expire_cards(session: Session, now: datetime | None = None) -> int:
    now = _now(now)
    n = session.execute(update(Card).where(Card.status.in_(LIVE_STATUSES), Card.expires_at <= now)
                        .values(status="expired", status_changed_at=now)).rowcount
    session.commit()
    return n


# Reasons the verifier decides from the token alone, before the card's status matters.
TOKEN_REASONS = ("malformed", "bad_signature", "unknown_key", "expired", "not_yet_valid")
# Reasons the card's status (read when the decision is logged) may still replace.
STATUS_DECIDES = ("ok", "replayed", "policy")


_log_stmts: dict = {}


def _decision_columns(card, at, given, status_decides):
    """(card_status, reason, decision) as SQL expressions over the outer-joined ``card`` row:
    the card's status at ``at``; the verifier's reason ``given`` when the token was denied on
    its own, else "revoked"/"suspended" per the card's status, else ``given`` ("ok",
    "replayed" or "policy"): the verifier's order, card status before policy and replay.
    ``status_decides`` is a Python bool (one statement per shape) or a boolean column."""
    card_status = case(
        (card.c.id.is_(None), None),
        ((card.c.status == "active") & (card.c.expires_at <= at), "expired"),
        else_=card.c.status,
    )
    by_status = (
        (card.c.id.is_(None), "revoked"),
        (card_status == "suspended", "suspended"),
        (card_status != "active", "revoked"),
    )
    if status_decides is True:
        reason = case(*by_status, else_=given)
    elif status_decides is False:
        reason = given
    else:
        reason = case((status_decides.is_(False), given), *by_status, else_=given)
    decision = case((reason == "ok", "granted"), else_="denied")
    return card_status, reason, decision


def _log_decision_stmt(status_decides: bool):
    """One ``INSERT ... SELECT ... RETURNING`` that reads the card's status and logs the
    decision in the same statement. Parameters: ``at``, ``sub``, ``facility_id``,
    ``gate_id`` and ``reason``: the verifier's reason when the token was denied on its own
    (``status_decides`` False), else the reason for an active, unexpired card ("ok",
    "replayed" or "policy"), replaced by "revoked"/"suspended" per the card's status
    (``_decision_columns``). Built once per shape (so SQLAlchemy's compiled cache serves
    every call)."""
    key = status_decides
    stmt = _log_stmts.get(key)
    if stmt is not None:
        return stmt
    card = Card.__table__
    log = AccessEntry.__table__
    at = bindparam("at", type_=UTCDateTime())
    given = bindparam("reason", type_=String())
    one = select(literal(1).label("one")).subquery("one")
    card_status, reason, decision = _decision_columns(card, at, given, status_decides)
    rows = select(at, card.c.id, bindparam("facility_id", type_=Integer()),
                  bindparam("gate_id", type_=Integer()), decision, reason, card_status
                  ).select_from(one.outerjoin(card, card.c.public_id == bindparam("sub", type_=String())))
    stmt = insert(log).from_select(
        ["at", "card_id", "facility_id", "gate_id", "decision", "reason", "card_status"], rows
    ).returning(log.c.decision, log.c.reason, log.c.card_status)
    return _log_stmts.setdefault(key, stmt)


def log_decisions_stmt():
    """PostgreSQL: many gate checks decided and logged in one statement and one commit (the
    fast path's group commit, ``portal.eid.fastpath``). Row for row what ``remember_and_log``
    does for one check:

    1. each check that would pass (given "ok") uses up its ``jti``: ``INSERT INTO
       eid_used_token ... ON CONFLICT DO NOTHING``; of several checks of one token id in the
       batch only the first is inserted, and it is "ok" only if no earlier commit had it;
       the others are "replayed";
    2. the card's status is read and the decision logged with the same rules
       (``_decision_columns``).

    One parameter, ``checks``: a JSON array from ``batch_checks``. Returns (ord,
    decision, reason, card_status) per check."""
    stmt = _log_stmts.get("batch")
    if stmt is not None:
        return stmt
    from sqlalchemy import exists, func
    from sqlalchemy.dialects.postgresql import JSON
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    card = Card.__table__
    log = AccessEntry.__table__
    used_table = UsedToken.__table__
    v = func.json_to_recordset(bindparam("checks", type_=JSON())).table_valued(
        db_column("ord", Integer()), db_column("at", UTCDateTime()), db_column("sub", String()),
        db_column("facility_id", Integer()), db_column("gate_id", Integer()),
        db_column("given", String()), db_column("jti", String()), db_column("until", UTCDateTime()),
    ).render_derived(name="v", with_types=True)
    checks = select(v, func.row_number().over(partition_by=v.c.jti, order_by=v.c.ord)
                    .label("nth")).cte("checks")
    used = (pg_insert(used_table)
            .from_select(["jti", "expires_at"], select(checks.c.jti, checks.c.until)
                         .where(checks.c.given == "ok", checks.c.nth == 1)
                         # every batch takes the ids in one order: two batches racing on
                         # the same tokens wait for each other, never deadlock
                         .order_by(checks.c.jti))
            .on_conflict_do_nothing(index_elements=["jti"])
            .returning(used_table.c.jti).cte("used"))
    fresh = exists().where(used.c.jti == checks.c.jti)
    given = case((checks.c.given != "ok", checks.c.given),
                 ((checks.c.nth == 1) & fresh, "ok"), else_="replayed")
    replay_checked = select(checks.c.ord, checks.c.at, checks.c.sub, checks.c.facility_id,
                            checks.c.gate_id, given.label("given")).cte("replay_checked")
    g = replay_checked.c
    decides = g.given.in_([literal(r) for r in STATUS_DECIDES])  # not an expanding IN
    card_status, reason, decision = _decision_columns(card, g.at, g.given, decides)
    decided = (select(g.ord, g.at, card.c.id.label("card_id"), g.facility_id, g.gate_id,
                      decision.label("decision"), reason.label("reason"),
                      card_status.label("card_status"))
               .select_from(replay_checked.outerjoin(card, card.c.public_id == g.sub))
               .cte("decided"))
    written = insert(log).from_select(
        ["at", "card_id", "facility_id", "gate_id", "decision", "reason", "card_status"],
        select(decided.c.at, decided.c.card_id, decided.c.facility_id, decided.c.gate_id,
               decided.c.decision, decided.c.reason, decided.c.card_status)
        .order_by(decided.c.ord)).cte("written")
    stmt = (select(decided.c.ord, decided.c.decision, decided.c.reason, decided.c.card_status)
            .add_cte(written))
    return _log_stmts.setdefault("batch", stmt)


def batch_check(gate: GateInfo, reason: str, claims: dict, sub: str | None,
                now_s: float) -> dict:
    """One check for ``log_decisions_stmt``: JSON-ready (ISO 8601 times); ``batch_checks``
    numbers it in its batch."""
    ok = reason == "ok"
    return {"at": datetime.fromtimestamp(now_s, tz=UTC).isoformat(), "sub": sub,
            "facility_id": gate.facility_id, "gate_id": gate.id, "given": reason,
            "jti": claims["jti"] if ok else None,
            "until": used_until(claims, now_s).isoformat() if ok else None}


def batch_checks(checks: list[dict]) -> list[dict]:
    """``log_decisions_stmt``'s ``checks``: each ``batch_check`` with its place in the batch
    (``ord``), by which the statement orders the log rows and answers."""
    return [{**check, "ord": i} for i, check in enumerate(checks)]


def token_kid(token) -> str | None:
    """The ``kid`` in a token's header, unverified (None when there is none to read)."""
    if isinstance(token, str) and len(token) <= verifier.MAX_TOKEN_LENGTH:
        parsed = verifier.parse_unverified(token)
        if parsed is not None and isinstance(parsed[0].get("kid"), str):
            return parsed[0]["kid"]
    return None


def check_token(gate: GateInfo, token, public: dict, issuer_: str,
                now_s: float) -> tuple[str, dict, str | None]:
    """Step 1 of a gate check: the token alone against the keys and the facility policy.
    Returns (reason, claims, sub); ``sub`` only once the signature checked out."""
    result = verifier.verify(token, public, policy=gate.policy, issuer=issuer_, now=now_s)
    claims = result.claims or {}
    sub = claims.get("sub") if result.reason not in ("malformed", "bad_signature",
                                                      "unknown_key") else None
    return result.reason, claims, sub


def status_decides(given: str) -> bool:
    """Whether the card's status read by the log statement may still change the reason."""
    return given in STATUS_DECIDES


def log_params(gate: GateInfo, sub: str | None, given: str, now_s: float) -> dict:
    return {"at": datetime.fromtimestamp(now_s, tz=SEOUL), "sub": sub,
            "facility_id": gate.facility_id, "gate_id": gate.id, "reason": given}


def remember_and_log(session: Session, gate: GateInfo, reason: str, claims: dict,
                     sub: str | None, now_s: float):
    """Steps 2-3 of a gate check, committed together in the session's transaction: a token
    that would pass uses up its ``jti`` (``used_token_stmt``: the database decides which of
    two racing gates gets it), then one statement reads the card's status and logs the
    decision. One commit for both, so a token is used up if and only if its decision is
    logged, and the gate is answered only after that commit. Returns the log row
    (decision, reason, card_status); ``VerifyUnavailable`` when the database cannot be
    reached."""
    try:
        conn = session.connection()
        given = reason
        if reason == "ok":
            fresh = conn.execute(used_token_stmt(conn.dialect.name), used_token_params(
                claims["jti"], used_until(claims, now_s))).first()
            given = "ok" if fresh is not None else "replayed"
        row = conn.execute(_log_decision_stmt(status_decides(given)),
                           log_params(gate, sub, given, now_s)).one()
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise VerifyUnavailable() from exc
    return row


def gate_answer(gate: GateInfo, claims: dict, decision: str, reason: str,
                card_status: str | None, message: str) -> dict:
    """The gate's answer (no personal data)."""
    discount = 0
    if reason == "ok" and claims.get("resident"):
        discount = gate.policy.get("resident_discount", 0)
    return {
        "decision": decision,
        "reason": reason,
        "message": message,
        "facility": gate.facility_code,
        "card_status": card_status,
        "resident_discount": discount,
    }


def verify_at_gate(session: Session, gate: GateInfo, token, now: float | None = None) -> dict:
    """Check a presented token at ``gate`` and log the decision. Returns the gate's answer:
    decision, reason, message, facility, card_status, resident_discount (no personal data).

    1. the verifier checks the token alone against the cached keys and the facility policy;
    2. a token that would pass uses up its ``jti`` in the used-token table, and
    3. one statement reads the card's status and writes the access-log row with the final
       decision (a revoked or suspended card is denied even if steps 1-2 passed);
    2 and 3 commit together (``remember_and_log``). ``portal.eid.fastpath`` serves the same
    steps in front of Flask, many checks to a commit."""
    public = keys.public_keys(session, token_kid(token))
    now_s = time.time() if now is None else now
    reason, claims, sub = check_token(gate, token, public, issuer(), now_s)
    row = remember_and_log(session, gate, reason, claims, sub, now_s)
    return gate_answer(gate, claims, row.decision, row.reason, row.card_status,
                       str(REASON_MESSAGES[row.reason]))


# --- access log ---------------------------------------------------------------------------


def access_log_stmt(user):
    require_verified(user)
    return select(AccessEntry).join(Card, Card.id == AccessEntry.card_id).where(Card.user_id == user.id)


ACCESS_LOG_ORDER = ((AccessEntry.at, "desc"), (AccessEntry.id, "desc"))
