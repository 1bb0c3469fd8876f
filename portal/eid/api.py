"""e-ID API.

Residents (session cookie with CSRF, or a personal bearer token):
POST   /api/v1/eid/cards                 -> 201 {card_id, status, expires_at}; 403 not_verified; 409 card_exists
GET    /api/v1/eid/cards/me              -> the card (live one, else the latest)
POST   /api/v1/eid/cards/me/token        -> {token, expires_in}
POST   /api/v1/eid/cards/me/revoke       -> the card, status "revoked"
GET    /api/v1/eid/access-log            -> {items, next_cursor}: where and when my card was used
Public:
GET    /api/v1/eid/facilities?lang=      -> {items: [{code, name, kind, policy, ...}], next_cursor}
GET    /api/v1/eid/keys                  -> JWKS (cacheable)
GET    /api/v1/eid/status                -> {revoked, suspended} with ETag; If-None-Match -> 304
Gates (Authorization: Bearer <gate key>; no cookies, no CSRF):
POST   /api/v1/eid/verify                {token} -> 200 {decision, reason, ...}; 401 bad gate key
                                         (usually answered before Flask by portal/eid/fastpath.py,
                                         with the same rules; this view fills its caches)
"""

from __future__ import annotations

from flask import Blueprint, jsonify, make_response, request
from flask_login import current_user

from portal.api import api_login_required, paginate, parse_body, parse_limit
from portal.eid import schemas, service
from portal.eid.models import Facility
from portal.extensions import csrf, db, limiter

bp = Blueprint("eid_api", __name__)


@bp.post("/cards")
@api_login_required
def issue_card():
    card = service.issue_card(db.session, current_user)
    return jsonify(schemas.card_json(card)), 201


@bp.get("/cards/me")
@api_login_required
def my_card():
    return jsonify(schemas.card_json(service.my_card(db.session, current_user)))


@bp.post("/cards/me/token")
@api_login_required
def my_token():
    token, expires_in = service.card_token(db.session, current_user)
    response = jsonify({"token": token, "expires_in": expires_in})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/cards/me/revoke")
@api_login_required
def revoke_my_card():
    return jsonify(schemas.card_json(service.revoke_my_card(db.session, current_user)))


@bp.get("/access-log")
@api_login_required
def access_log():
    lang = request.args.get("lang")
    rows, next_cursor = paginate(db.session, service.access_log_stmt(current_user),
                                 list(service.ACCESS_LOG_ORDER), request.args.get("cursor"),
                                 parse_limit())
    return jsonify({"items": [schemas.access_json(r, lang) for r in rows], "next_cursor": next_cursor})


@bp.get("/facilities")
def facilities():
    lang = request.args.get("lang")
    rows, next_cursor = paginate(db.session, service.facilities_stmt(), [(Facility.code, "asc")],
                                 request.args.get("cursor"), parse_limit())
    return jsonify({"items": [schemas.facility_json(f, lang) for f in rows],
                    "next_cursor": next_cursor})


@bp.get("/keys")
def keys():
    response = jsonify(service.jwks(db.session))
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/status")
def status():
    doc, etag = service.status_document(db.session)
    if etag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = jsonify(doc)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.post("/verify")
@csrf.exempt
@limiter.exempt  # gates authenticate with their own key; many may share one address (NAT)
def verify():
    header = request.headers.get("Authorization", "")
    api_key = header[7:].strip() if header[:7].lower() == "bearer " else None
    gate = service.authenticate_gate(db.session, api_key)
    body = parse_body(schemas.VerifyBody)
    response = jsonify(service.verify_at_gate(db.session, gate, body.token))
    response.headers["Cache-Control"] = "no-store"
    return response
