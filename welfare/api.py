"""Welfare API, under /api/v1/welfare.

Public (anyone, no sign-in):
GET    /programmes                      active programmes (officers: ?all=1 lists ended ones too)
GET    /programmes/<code>               one active programme (officers: any)
POST   /screener                        anonymous self-check; stores nothing -> 200 {items}
Resident (signed in):
GET    /eligibility/me                  my eligible programmes, each with the explanation
GET    /profile/me                      my welfare profile (404 no_profile)
PUT    /profile/me                      {consent: true, ...fields} -> 200
DELETE /profile/me                      withdraw consent: deletes the profile I gave -> 204
Welfare officer (or admin):
POST   /programmes                      -> 201
PATCH  /programmes/<code>               -> 200
DELETE /programmes/<code>               -> 204 (409 programme_has_notices)
POST   /scans                           {async?, date?} -> 201 counts, or 202 when queued
GET    /profiles/<user_id>              a resident's profile (audited)
GET    /reach                           notices and deliveries per programme
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from portal.api import api_login_required, iso, paginate, parse_body, parse_limit
from portal.extensions import db, limiter
from portal.i18n import current_locale
from welfare import schemas, service
from welfare.models import Programme

bp = Blueprint("welfare_api", __name__)


def _lang():
    return request.args.get("lang") or current_locale()


def _eligibility_json(items) -> list[dict]:
    return [{"programme": service.programme_json(e.programme, _lang(), full=False),
             "eligible": e.eligible, "explanation": e.explanation} for e in items]


# -- public --------------------------------------------------------------------------------

@bp.get("/programmes")
def list_programmes():
    include_all = request.args.get("all") in ("1", "true")
    stmt = service.list_programmes(db.session, current_user, include_inactive=include_all)
    rows, next_cursor = paginate(db.session, stmt, [(Programme.id, "asc")],
                                 request.args.get("cursor"), parse_limit())
    return jsonify({"items": [service.programme_json(p, _lang()) for p in rows],
                    "next_cursor": next_cursor})


@bp.get("/programmes/<code>")
def get_programme(code):
    return jsonify(service.programme_json(service.get_programme(db.session, current_user, code), _lang()))


@bp.post("/screener")
@limiter.limit(lambda: current_app.config.get("WELFARE_SCREENER_RATE_LIMIT", "60 per minute"),
               methods=["POST"])
def screener():
    body = parse_body(schemas.ScreenerIn)
    return jsonify({"items": _eligibility_json(service.screen(db.session, body.model_dump()))})


# -- resident ------------------------------------------------------------------------------

@bp.get("/eligibility/me")
@api_login_required
def my_eligibility():
    profile, items = service.my_eligibility(db.session, current_user)
    return jsonify({"has_profile": profile is not None, "items": _eligibility_json(items)})


@bp.get("/profile/me")
@api_login_required
def get_my_profile():
    return jsonify(service.profile_json(service.view_profile(db.session, current_user, current_user.id)))


@bp.put("/profile/me")
@api_login_required
def put_my_profile():
    body = parse_body(schemas.ProfileIn)
    data = body.model_dump(exclude={"consent"})
    profile = service.update_my_profile(db.session, current_user, data, consent=body.consent)
    return jsonify(service.profile_json(profile))


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
    return jsonify(service.programme_json(prog, _lang())), 201


@bp.patch("/programmes/<code>")
@api_login_required
def update_programme(code):
    body = parse_body(schemas.ProgrammePatch)
    prog = service.update_programme(db.session, current_user, code, body.model_dump(exclude_unset=True))
    return jsonify(service.programme_json(prog, _lang()))


@bp.delete("/programmes/<code>")
@api_login_required
def delete_programme(code):
    service.delete_programme(db.session, current_user, code)
    return "", 204


@bp.post("/scans")
@api_login_required
def start_scan():
    body = parse_body(schemas.ScanIn, request.get_json(silent=True) or {})
    if body.run_async:
        task_id = service.queue_scan(db.session, current_user, body.scan_date)
        return jsonify({"status": "queued", "task_id": task_id}), 202
    result = service.scan(db.session, current_user, today=body.scan_date)
    return jsonify({"status": "done", **result.as_json()}), 201


@bp.get("/profiles/<int:user_id>")
@api_login_required
def officer_profile(user_id):
    profile = service.view_profile(db.session, current_user, user_id)
    return jsonify(service.profile_json(profile))


@bp.get("/reach")
@api_login_required
def reach():
    return jsonify({"items": [{"programme": r["programme"].code, "notices": r["notices"],
                               "delivered": r["delivered"],
                               "updated_at": iso(r["programme"].updated_at)}
                              for r in service.reach(db.session, current_user)]})
