"""Welfare API, under /api/v1/welfare: parse, call the service, answer with welfare.schemas."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from portal.api import api_login_required, paginate, parse_body, parse_limit
from portal.extensions import db, limiter
from portal.i18n import current_locale
from welfare import schemas, service, settings
from welfare.models import Programme

bp = Blueprint("welfare_api", __name__)


def _lang():
    return request.args.get("lang") or current_locale()


# -- public --------------------------------------------------------------------------------

@bp.get("/programmes")
def list_programmes():
    include_all = request.args.get("all") in ("1", "true")
    stmt = service.list_programmes(db.session, current_user, include_inactive=include_all)
    rows, next_cursor = paginate(db.session, stmt, [(Programme.id, "asc")],
                                 request.args.get("cursor"), parse_limit())
    return jsonify(schemas.programme_list_json(rows, next_cursor, _lang()))


@bp.get("/programmes/<code>")
def get_programme(code):
    return jsonify(schemas.programme_json(service.get_programme(db.session, current_user, code), _lang()))


@bp.post("/screener")
@limiter.limit(settings.SCREENER_RATE_LIMIT, methods=["POST"])
def screener():
    body = parse_body(schemas.ScreenerIn)
    return jsonify(schemas.screener_json(service.screen(db.session, body.model_dump()), _lang()))


# -- resident ------------------------------------------------------------------------------

@bp.get("/eligibility/me")
@api_login_required
def my_eligibility():
    profile, items = service.my_eligibility(db.session, current_user)
    return jsonify(schemas.my_eligibility_json(profile, items, _lang()))


@bp.get("/profile/me")
@api_login_required
def get_my_profile():
    return jsonify(schemas.profile_json(service.own_profile(db.session, current_user)))


@bp.put("/profile/me")
@api_login_required
def put_my_profile():
    body = parse_body(schemas.ProfileIn)
    data = body.model_dump(exclude={"consent"})
    profile = service.update_my_profile(db.session, current_user, data, consent=body.consent)
    return jsonify(schemas.profile_json(profile))


@bp.delete("/profile/me")
@api_login_required
def delete_my_profile():
    service.withdraw_consent(db.session, current_user)
    return "", 204


# -- welfare officer -----------------------------------------------------------------------

@bp.post("/programmes")
@api_login_required
def create_programme():
    body = parse_body(schemas.ProgrammeIn)
    prog = service.create_programme(db.session, current_user, body.model_dump())
    return jsonify(schemas.programme_json(prog, _lang())), 201


@bp.patch("/programmes/<code>")
@api_login_required
def update_programme(code):
    body = parse_body(schemas.ProgrammePatch)
    prog = service.update_programme(db.session, current_user, code, body.model_dump(exclude_unset=True))
    return jsonify(schemas.programme_json(prog, _lang()))


@bp.delete("/programmes/<code>")
@api_login_required
def delete_programme(code):
    service.delete_programme(db.session, current_user, code)
    return "", 204


@bp.post("/scans")
@api_login_required
def start_scan():
    # No body is a scan of today; a body must be a JSON object (parse_body: 422 otherwise).
    body = parse_body(schemas.ScanIn, None if request.get_data(cache=True).strip() else {})
    if body.run_async:
        task_id = service.queue_scan(db.session, current_user, body.scan_date)
        return jsonify(schemas.scan_queued_json(task_id)), 202
    result = service.scan(db.session, current_user, today=body.scan_date)
    return jsonify(schemas.scan_json(result)), 201


@bp.post("/profiles/lookup")
@api_login_required
def look_up_profile():
    """A POST although it reads: the look is audited, and who is looked up stays out of URLs."""
    body = parse_body(schemas.ProfileLookupIn)
    profile = service.look_up_profile(db.session, current_user, user_id=body.user_id, email=body.email)
    return jsonify(schemas.profile_json(profile))


@bp.get("/reach")
@api_login_required
def reach():
    return jsonify(schemas.reach_json(service.reach(db.session, current_user)))
