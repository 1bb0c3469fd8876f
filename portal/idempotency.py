"""Idempotency keys for POSTs that take an ``Idempotency-Key`` header, as the IETF draft
(draft-ietf-httpapi-idempotency-key-header) and Stripe use them.

- A key belongs to its caller: the signed-in user (scope ``user:<id>``) or, for a guest, the
  request itself: guests share the scope ``guest``, and a guest's key answers only a request
  with the same fingerprint, so another guest's request with the key and another body never
  sees the first answer.
- A key is bound to the request's fingerprint (SHA-256 of the method, the path and the
  canonical JSON body): the same key and body replay the first answer (same status, same body,
  ``Idempotent-Replayed: true``); the same key with another request is 422
  ``idempotency_key_reused``; a request with the key still in flight is 409
  ``idempotency_key_in_use`` (the draft's conflict), with Retry-After.
- Only a success is kept. An error answer leaves nothing done in this portal's services (they
  roll their change back when they refuse), so the key is released and a retry runs again.
- A key is kept ``IDEMPOTENCY_KEY_HOURS`` (24 h); an older one is new again. The beat task and
  ``flask --app portal idempotency purge`` delete the old ones.

One row per (scope, key) in ``idempotency_key``, claimed by an INSERT ... ON CONFLICT DO NOTHING
committed before the work runs: of racing requests with one key exactly one claims it and the
others find its row (in flight: 409; answered: the replay). A row with no answer (``status`` NULL)
is in flight. A claim whose request died before answering (a killed worker) is taken over after
``IDEMPOTENCY_IN_FLIGHT_SECONDS`` with the same row id, so a service that records
``Claim.token`` with what it made (tourism: the booking) finds it again instead of making a
second one.

Views use the ``idempotent`` decorator (JSON APIs) or ``begin``/``finish``/``release``
(a form that carries its own key).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from celery import shared_task
from flask import Flask, current_app, g, request
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Integer, String, Text, UniqueConstraint, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.db import insert_ignoring
from portal.errors import Conflict, Invalid
from portal.extensions import db
from portal.settings import Setting
from portal.types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX = 255  # characters of a key (Stripe's limit)
SCOPE_MAX = 40
GUEST = "guest"

# environ=True: read from the environment too (portal.config passes only the services' prefixes).
KEEP_HOURS = Setting(
    "IDEMPOTENCY_KEY_HOURS", 24, int, minimum=1, environ=True,
    doc="how long an Idempotency-Key and its first answer are kept; an older key is new again")
IN_FLIGHT_SECONDS = Setting(
    "IDEMPOTENCY_IN_FLIGHT_SECONDS", 60, int, minimum=5, environ=True,
    doc="after this long without an answer a request holding a key is taken for dead, and a "
        "retry with the key runs again (before: 409 idempotency_key_in_use)")


class IdempotencyKey(db.Model):
    """A key a caller sent, what request it came with, and the first answer (once there is one)."""

    __tablename__ = "idempotency_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(SCOPE_MAX))  # "user:<id>" or "guest"
    key: Mapped[str] = mapped_column(String(KEY_MAX))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 hex of method, path, body
    status: Mapped[int | None] = mapped_column(Integer)  # None while the request is in flight
    response_body: Mapped[str | None] = mapped_column(Text)
    # When the key was claimed (or a dead claim taken over): it is kept KEEP_HOURS from then.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    # Ids are never used twice (SQLite too: AUTOINCREMENT), as Claim.token is made of them.
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_key_scope_key"),
                      {"sqlite_autoincrement": True})


# --- errors -------------------------------------------------------------------------------------


class KeyReused(Invalid):
    code = "idempotency_key_reused"
    default_message = _l("This Idempotency-Key was already used for another request. "
                         "Use a new key for a new request.")


class KeyInUse(Conflict):
    code = "idempotency_key_in_use"
    default_message = _l("A request with this Idempotency-Key is still being processed. "
                         "Try again in a moment.")
    retry_after = 1


def bad_key() -> Invalid:
    return Invalid(fields={HEADER: _l("Use 1 to %(n)d printable ASCII characters.", n=KEY_MAX)})


# --- the rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """This request holds the key: it runs the work, then finish() or release()."""

    id: int

    @property
    def token(self) -> str:
        """What a service may record with what it makes, to find it again when a retry takes
        over a dead claim: unique per claim, and new when an expired key is used again."""
        return f"idem:{self.id}"


@dataclass(frozen=True)
class Replay:
    """The first answer given with the key."""

    status: int
    body: str


def caller_scope(user) -> str:
    """Whose keys these are: the signed-in user's, or a guest's (bound to the fingerprint)."""
    if getattr(user, "is_authenticated", False) and getattr(user, "id", None) is not None:
        return f"user:{user.id}"
    return GUEST


def fingerprint(method: str, path: str, body) -> str:
    """SHA-256 of the method, the path and the body: canonical JSON for a parsed document (keys
    sorted, no spaces, ASCII escapes), the bytes as sent otherwise."""
    if isinstance(body, bytes | bytearray):
        payload = bytes(body)
    else:
        payload = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode("utf-8", "surrogatepass"), payload):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def valid_key(key: str | None) -> bool:
    return bool(key) and len(key) <= KEY_MAX and all(" " <= ch <= "~" for ch in key)


def _read(session: Session, scope: str, key: str):
    return session.execute(
        select(IdempotencyKey.id, IdempotencyKey.fingerprint, IdempotencyKey.status,
               IdempotencyKey.response_body, IdempotencyKey.created_at)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)).one_or_none()


def begin(session: Session, scope: str, key: str, digest: str, *, now: datetime | None = None,
          wait: float = 0.0) -> Claim | Replay:
    """Claim `key` for this request, or find the first answer given with it.

    Commits (the claim must be seen by racing requests before the work runs). Raises KeyReused
    when the key came with another fingerprint, KeyInUse when its request is still in flight
    after waiting up to `wait` seconds for it to answer.
    """
    deadline = time.monotonic() + wait
    for _attempt in range(1000):
        moment = now or utcnow()
        # Exactly one of racing requests inserts the row (UNIQUE (scope, key)); PostgreSQL makes
        # the others wait for its commit, then they find it.
        claimed = session.execute(
            insert_ignoring(session, IdempotencyKey.__table__)
            .values(scope=scope, key=key, fingerprint=digest, created_at=moment)
            .returning(IdempotencyKey.id)).scalar()
        session.commit()
        if claimed is not None:
            return Claim(claimed)
        row = _read(session, scope, key)
        session.commit()
        if row is None:  # released or purged meanwhile: claim it again
            continue
        expired = moment - timedelta(hours=KEEP_HOURS())
        if row.created_at <= expired:
            # Older than the keeping time: the key is new again (whether or not purged yet).
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id,
                                                         IdempotencyKey.created_at <= expired))
            session.commit()
            continue
        if row.fingerprint != digest:
            raise KeyReused()
        if row.status is not None:
            return Replay(row.status, row.response_body or "")
        lapsed = moment - timedelta(seconds=IN_FLIGHT_SECONDS())
        if row.created_at <= lapsed:
            # In flight for longer than any request lives: its request died. Taken over by one
            # retry only (the UPDATE checks the claim is still as old), with the same id.
            taken = session.execute(
                update(IdempotencyKey).where(IdempotencyKey.id == row.id, IdempotencyKey.status.is_(None),
                                             IdempotencyKey.created_at <= lapsed)
                .values(created_at=moment).execution_options(synchronize_session=False)).rowcount
            session.commit()
            if taken == 1:
                log.warning("idempotency key %s taken over after its request died", row.id)
                return Claim(row.id)
            continue
        if time.monotonic() >= deadline:
            raise KeyInUse()
        time.sleep(0.05)
    raise KeyInUse()


def finish(session: Session, claim: Claim, status: int, body: str) -> None:
    """Keep the first answer given with the claimed key (commits)."""
    session.execute(update(IdempotencyKey).where(IdempotencyKey.id == claim.id, IdempotencyKey.status.is_(None))
                    .values(status=status, response_body=body).execution_options(synchronize_session=False))
    session.commit()


def release(session: Session, claim: Claim) -> None:
    """Forget a claim whose request did not succeed, so that a retry runs again. Rolls back what
    the request left unfinished; never raises (a claim it cannot release is taken over later)."""
    try:
        session.rollback()
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim.id,
                                                     IdempotencyKey.status.is_(None)))
        session.commit()
    except Exception:  # noqa: BLE001 - the database is away; IN_FLIGHT_SECONDS frees the key
        log.warning("idempotency key %s not released", claim.id, exc_info=True)
        session.rollback()


def purge(session: Session, now: datetime | None = None) -> int:
    """Delete the keys older than the keeping time; returns how many."""
    cutoff = (now or utcnow()) - timedelta(hours=KEEP_HOURS())
    deleted = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)
                              .execution_options(synchronize_session=False)).rowcount
    session.commit()
    return deleted


# --- for views ----------------------------------------------------------------------------------


def request_key() -> str | None:
    """The request's Idempotency-Key (an sf-string: its quotes are not part of it), None when
    absent; 422 when it is empty, longer than KEY_MAX or not printable ASCII."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not valid_key(key):
        raise bad_key()
    return key


def request_fingerprint() -> str:
    """The fingerprint of the current request: its JSON document when it is one, its bytes
    otherwise (400 too_deep for JSON nested deeper than the portal reads)."""
    from portal.api import json_body

    body = json_body()
    if body is None:
        body = request.get_data(cache=True)
    return fingerprint(request.method, request.path, body)


def current_token() -> str | None:
    """Claim.token of the key this request holds (see ``idempotent``), or None."""
    claim = g.get("idempotency_claim")
    return claim.token if claim is not None else None


def idempotent(view):
    """A POST view that honours an optional Idempotency-Key: the first success is kept and
    replayed (``Idempotent-Replayed: true``), another request with the key is 422, one still in
    flight 409. The view may record ``current_token()`` with what it makes."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request_key()
        if key is None:
            return view(*args, **kwargs)
        outcome = begin(db.session, caller_scope(current_user), key, request_fingerprint())
        if isinstance(outcome, Replay):
            response = current_app.response_class(outcome.body, status=outcome.status,
                                                  mimetype="application/json")
            response.headers[REPLAYED_HEADER] = "true"
            return response
        g.idempotency_claim = outcome
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            release(db.session, outcome)
            raise
        finally:
            g.pop("idempotency_claim", None)
        if 200 <= response.status_code < 300:
            finish(db.session, outcome, response.status_code, response.get_data(as_text=True))
        else:
            release(db.session, outcome)
        return response

    return wrapper


# --- OpenAPI ------------------------------------------------------------------------------------

OPENAPI_PARAMETER = {
    "name": HEADER, "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX, "pattern": "^[\\x20-\\x7e]+$"},
    "description": "A key the client makes up (a UUID) to retry this request safely: the same key and "
                   "body replay the first success (same status and body, with `Idempotent-Replayed: "
                   "true`); the key is the caller's (a guest's is bound to the request) and kept 24 h. "
                   "An error answer does not keep the key.",
}
_REUSED = "idempotency_key_reused: the Idempotency-Key came with another request"
_IN_USE = "idempotency_key_in_use: a request with this Idempotency-Key is still in flight (Retry-After)"


def openapi_operation(operation: dict) -> dict:
    """`operation` (an OpenAPI operation) with the Idempotency-Key header and its 409 and 422."""
    responses = dict(operation.get("responses", {}))
    for status, text in (("409", _IN_USE), ("422", _REUSED)):
        before = responses.get(status, {})
        described = before.get("description")
        responses[status] = {
            "description": f"{described}; {text}" if described else text,
            "headers": before.get("headers", {}),
            "content": before.get("content", {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}),
        }
    responses["409"]["headers"] = {**responses["409"]["headers"], "Retry-After": {
        "description": "seconds after which the request in flight may have answered", "schema": {"type": "integer"}}}
    for status, answer in responses.items():
        if status.startswith("2") and "$ref" not in answer:
            responses[status] = {**answer, "headers": {**answer.get("headers", {}), REPLAYED_HEADER: {
                "description": "true when this is the first answer given with the Idempotency-Key, replayed",
                "schema": {"const": "true"}}}}
    return {**operation, "parameters": [*operation.get("parameters", []), OPENAPI_PARAMETER],
            "responses": responses}


# --- housekeeping: the beat task and the command --------------------------------------------------

@shared_task(name="portal.idempotency.purge")
def purge_task() -> int:
    return purge(db.session)


BEAT_SCHEDULE = {
    "portal-idempotency-purge": {"task": "portal.idempotency.purge", "schedule": 3600.0},
}

idempotency_cli = AppGroup("idempotency", help="Idempotency keys of API requests.")


@idempotency_cli.command("purge")
def purge_command():
    """Delete the keys older than IDEMPOTENCY_KEY_HOURS (the beat task does it every hour)."""
    click.echo(f"purged {purge(db.session)} idempotency keys")


def init_app(app: Flask) -> None:
    """The command (the table is known once this module is imported); safe to call twice."""
    if "idempotency" not in app.cli.commands:
        app.cli.add_command(idempotency_cli)
