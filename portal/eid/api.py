"""The e-ID JSON API: a resident's card and token, public facilities, keys and status, gates.

``POST /verify`` is usually answered in front of Flask by ``portal.eid.verify.wsgi`` with the
same rules; this view answers what the fast path leaves to Flask, and fills its caches. Its
entry in the API document describes both (``schemas.VerifyBody``, ``schemas.GateAnswerOut``).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, make_response, request
from flask_login import current_user

from portal.api import api_login_required, paginate, parse_body, parse_query
from portal.apidoc import doc
from portal.eid import schemas, service
from portal.eid.models import Facility
from portal.eid.schemas import (
    AccessLogOut,
    CardOut,
    CredentialBody,
    CredentialOut,
    FacilitiesOut,
    GateAnswerOut,
    JwksOut,
    PageQuery,
    StatusOut,
    TokenOut,
    VerifyBody,
)
from portal.eid.verify import authenticate_gate, verify_at_gate
from portal.extensions import csrf, db, limiter

bp = Blueprint("eid_api", __name__)

_TAGS = ("eid",)
_NOT_VERIFIED = "not_verified: the account's residency is not verified"


def _header(name: str, description: str) -> dict:
    return {name: {"description": description, "schema": {"type": "string"}}}


def _retry_after_on_429(operation: dict) -> dict:
    operation["responses"]["429"].setdefault("headers", {}).update(
        {"Retry-After": {"description": "seconds until a card can be issued again",
                         "schema": {"type": "integer"}}})
    return operation


def _conditional(operation: dict) -> dict:
    operation["parameters"].append({"name": "If-None-Match", "in": "header", "required": False,
                                    "description": "the ETag of the document the gate holds",
                                    "schema": {"type": "string"}})
    for status in ("200", "304"):
        operation["responses"][status]["headers"] = _header("ETag", "the document's version")
    return operation


def _gate_key(operation: dict) -> dict:
    # A gate authenticates with its key as a bearer token; no session, no personal token.
    operation["security"] = [{"bearer": []}]
    return operation


@bp.post("/cards")
@doc(answers={201: CardOut, 403: _NOT_VERIFIED,
              409: "card_exists: a live card is held (active or suspended)",
              429: "card_issue_limit: EID_CARD_ISSUES_PER_DAY cards were issued in the last 24 "
                   "hours (Retry-After says when the next can be)"},
     amend=_retry_after_on_429, tags=_TAGS)
@api_login_required
def issue_card():
    """Issue my e-ID card (verified residents; at most EID_CARD_ISSUES_PER_DAY cards in any 24 hours)"""
    card = service.issue_card(db.session, current_user)
    return jsonify(schemas.card_json(card)), 201


@bp.get("/cards/me")
@doc(answers={200: CardOut, 403: _NOT_VERIFIED, 404: "no_card: no card was issued yet"}, tags=_TAGS)
@api_login_required
def my_card():
    """My card (the live one, else the latest)"""
    return jsonify(schemas.card_json(service.my_card(db.session, current_user)))


@bp.post("/cards/me/token")
@doc(answers={200: TokenOut, 403: _NOT_VERIFIED, 404: "no_active_card",
              409: "card_suspended",
              503: "signing_key_missing: no signing key exists yet (flask --app portal eid "
                   "ensure-key); or the database is unreachable (see Retry-After)"}, tags=_TAGS)
@api_login_required
def my_token():
    """A short-lived signed token (JWS, EdDSA) for the card's QR code (a read: Cache-Control: no-store)"""
    response = jsonify(schemas.token_json(*service.card_token(db.session, current_user)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/cards/me/credential")
@doc(body=CredentialBody,
     answers={201: CredentialOut, 403: _NOT_VERIFIED, 404: "no_active_card",
              409: "card_suspended; or device_limit: the card's credential is live on "
                   "EID_DEVICES_PER_CARD other phones",
              422: "invalid_device_key: not a public EC P-256 JWK",
              503: "signing_key_missing"}, tags=_TAGS)
@api_login_required
def my_credential():
    """A credential of my card for this phone's key (device-bound, valid at most 24 hours)

    The phone makes a non-extractable P-256 key and sends its public JWK; the credential names
    that key (cnf), so only a presentation signed on that phone passes a gate. Asking again from
    the same phone renews it. Cache-Control: no-store."""
    body = parse_body(CredentialBody)
    response = jsonify(schemas.credential_json(service.issue_credential(
        db.session, current_user, body.device_key.model_dump())))
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.post("/cards/me/revoke")
@doc(answers={200: CardOut, 403: _NOT_VERIFIED, 404: "no_active_card",
              409: "card_suspended: a suspended card is not revoked by its holder"}, tags=_TAGS)
@api_login_required
def revoke_my_card():
    """Report my card lost: it is revoked; a new one can be issued"""
    return jsonify(schemas.card_json(service.revoke_my_card(db.session, current_user)))


@bp.get("/access-log")
@doc(query=PageQuery, answers={200: AccessLogOut, 403: _NOT_VERIFIED}, tags=_TAGS)
@api_login_required
def access_log():
    """Where and when my card was used, newest first"""
    q = parse_query(PageQuery)
    rows, next_cursor = paginate(db.session, service.access_log_stmt(current_user),
                                 list(service.ACCESS_LOG_ORDER), q.cursor or None, q.limit)
    return jsonify(schemas.access_log_json(rows, next_cursor, request.args.get("lang")))


@bp.get("/facilities")
@doc(query=PageQuery, answers={200: FacilitiesOut}, public=True, tags=_TAGS)
def facilities():
    """Facilities that accept the card (public)"""
    q = parse_query(PageQuery)
    rows, next_cursor = paginate(db.session, service.facilities_stmt(), [(Facility.code, "asc")],
                                 q.cursor or None, q.limit)
    return jsonify(schemas.facilities_json(rows, next_cursor, request.args.get("lang")))


@bp.get("/keys")
@doc(answers={200: (JwksOut, "JWKS; retired keys stay until their tokens expired")}, public=True, tags=_TAGS)
def keys():
    """Public signing keys (JWKS), for offline gates

    Retired keys stay listed until the tokens they signed expired. Cache-Control: public,
    max-age=60."""
    response = jsonify(service.jwks(db.session))
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/status")
@doc(answers={200: StatusOut, 304: (None, "not modified since the ETag given")}, public=True, amend=_conditional, tags=_TAGS)
def status():
    """Revoked and suspended card ids, for offline gates

    Each card until 90 s after its validity ended. With If-None-Match: 304 (no body) while the
    document is the same."""
    doc, etag = service.status_document(db.session)
    if etag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = jsonify(doc)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/status-list")
@doc(answers={200: (None, "the status list: a signed JWT (typ statuslist+jwt, EdDSA, a kid of the JWKS)"),
              304: (None, "not modified since the ETag given"),
              503: "signing_key_missing"}, public=True, amend=_conditional, tags=_TAGS)
def status_list():
    """The cards' status list, for gates (draft-ietf-oauth-status-list)

    A signed JWT (Content-Type: application/statuslist+jwt): 2 bits a card at the position its
    credential names (0 valid, 1 invalid, 2 suspended), zlib-compressed, with exp (an offline
    gate refuses to decide on a list past it: status_stale) and ttl (how long to keep it before
    asking again). With If-None-Match: 304 (no body) while the list is the same."""
    token, etag = service.status_list(db.session)
    if etag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = make_response(token)
        response.mimetype = "application/statuslist+jwt"
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.post("/verify")
@doc(body=VerifyBody,
     answers={200: (GateAnswerOut, "the decision (every decision is logged)"),
              401: "invalid_gate_key: no gate key, or not a gate's (Authorization: Bearer <gate key>)",
              503: "verify_unavailable: the database cannot be reached or did not write the check "
                   "in time (EID_VERIFY_WAIT_SECONDS); nothing was granted, try again"},
     amend=_gate_key, tags=_TAGS)
@csrf.exempt
@limiter.exempt  # gates authenticate with their own key; many may share one address (NAT)
def verify():
    """A gate checks a presented token (Authorization: Bearer <gate key>)

    Every decision is 200 and logged, granted or denied with its reason (a token that is not
    one is denied, malformed). Answered by the gate fast path or, for what it leaves (a key not
    cached yet, an unknown field, a body it does not read), by the portal: the same answers.
    Cache-Control: no-store."""
    header = request.headers.get("Authorization", "")
    api_key = header[7:].strip() if header[:7].lower() == "bearer " else None
    gate = authenticate_gate(db.session, api_key)
    body = parse_body(VerifyBody)
    response = jsonify(verify_at_gate(db.session, gate, body.token))
    response.headers["Cache-Control"] = "no-store"
    return response
