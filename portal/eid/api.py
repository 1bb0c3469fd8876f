"""The e-ID JSON API: a resident's card and token, public facilities, keys and status, gates.

``POST /verify`` is usually answered in front of Flask by ``portal.eid.verify.wsgi`` with the
same rules; this view answers what the fast path leaves to Flask, and fills its caches.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, make_response, request
from flask_login import current_user

from portal.api import api_login_required, paginate, parse_body, parse_limit
from portal.eid import schemas, service
from portal.eid.models import Facility
from portal.eid.verify import authenticate_gate, verify_at_gate
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
    response = jsonify(schemas.token_json(*service.card_token(db.session, current_user)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/cards/me/revoke")
@api_login_required
def revoke_my_card():
    return jsonify(schemas.card_json(service.revoke_my_card(db.session, current_user)))


@bp.get("/access-log")
@api_login_required
def access_log():
    rows, next_cursor = paginate(db.session, service.access_log_stmt(current_user),
                                 list(service.ACCESS_LOG_ORDER), request.args.get("cursor"),
                                 parse_limit())
    return jsonify(schemas.access_log_json(rows, next_cursor, request.args.get("lang")))


@bp.get("/facilities")
def facilities():
    rows, next_cursor = paginate(db.session, service.facilities_stmt(), [(Facility.code, "asc")],
                                 request.args.get("cursor"), parse_limit())
    return jsonify(schemas.facilities_json(rows, next_cursor, request.args.get("lang")))


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
    gate = authenticate_gate(db.session, api_key)
    body = parse_body(schemas.VerifyBody)
    response = jsonify(verify_at_gate(db.session, gate, body.token))
    response.headers["Cache-Control"] = "no-store"
    return response
