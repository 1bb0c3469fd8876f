"""Welfare API, under /api/v1/welfare: parse, call the service, answer with welfare.schemas."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from portal.api import api_login_required, paginate, parse_body, parse_query
from portal.apidoc import doc
from portal.extensions import db, limiter
from portal.i18n import current_locale
from welfare import schemas, service, settings
from welfare.models import Programme

bp = Blueprint("welfare_api", __name__)
TAGS = ("welfare",)


def _lang():
    return request.args.get("lang") or current_locale()


def _credentials_optional(operation: dict) -> dict:
    """Public, and a token or session is read when sent (OpenAPI's optional security: ``{}``
    beside the schemes): all=1 is for welfare officers, hence its 401 and 403."""
    operation["security"] = [{}, {"bearer": []}, {"cookie": []}]
    return operation


# -- public --------------------------------------------------------------------------------

@bp.get("/programmes")
@doc(query=schemas.ProgrammeListQuery, answers={
    200: schemas.ProgrammeListOut, 401: "all=1 without signing in", 403: "all=1: welfare officers only"},
     public=True, amend=_credentials_optional, tags=TAGS)
def list_programmes():
    """Active programmes; welfare officers may add all=1 for ended and future ones"""
    args = parse_query(schemas.ProgrammeListQuery)
    stmt = service.list_programmes(db.session, current_user, include_inactive=args.all in ("1", "true"))
    rows, next_cursor = paginate(db.session, stmt, [(Programme.id, "asc")], args.cursor or None, args.limit)
    return jsonify(schemas.programme_list_json(rows, next_cursor, _lang()))


@bp.get("/programmes/<code>")
@doc(answers={200: schemas.ProgrammeOut, 404: "no_programme (an inactive one is found by officers only)"},
     public=True, tags=TAGS)
def get_programme(code):
    """One programme"""
    return jsonify(schemas.programme_json(service.get_programme(db.session, current_user, code), _lang()))


@bp.post("/screener")
@doc(body=schemas.ScreenerIn, answers={200: schemas.ScreenerOut}, public=True, tags=TAGS)
@limiter.limit(settings.SCREENER_RATE_LIMIT, methods=["POST"])
def screener():
    """Anonymous self-check against every active programme; nothing is stored"""
    body = parse_body(schemas.ScreenerIn)
    return jsonify(schemas.screener_json(service.screen(db.session, body.model_dump()), _lang()))


# -- resident ------------------------------------------------------------------------------

@bp.get("/eligibility/me")
@doc(answers={200: schemas.MyEligibilityOut}, tags=TAGS)
@api_login_required
def my_eligibility():
    """The signed-in resident's programmes, each with why they are eligible or not"""
    profile, items = service.my_eligibility(db.session, current_user)
    return jsonify(schemas.my_eligibility_json(profile, items, _lang()))


@bp.get("/profile/me")
@doc(answers={200: schemas.ProfileOut, 404: "no_profile"}, tags=TAGS)
@api_login_required
def get_my_profile():
    """My welfare profile"""
    return jsonify(schemas.profile_json(service.own_profile(db.session, current_user)))


@bp.put("/profile/me")
@doc(body=schemas.ProfileIn, answers={200: schemas.ProfileOut,
                                      422: "invalid input (see fields); consent_required: consent must be true"},
     tags=TAGS)
@api_login_required
def put_my_profile():
    """Write my welfare profile (with consent: true)"""
    body = parse_body(schemas.ProfileIn)
    data = body.model_dump(exclude={"consent"})
    profile = service.update_my_profile(db.session, current_user, data, consent=body.consent)
    return jsonify(schemas.profile_json(profile))


@bp.delete("/profile/me")
@doc(answers={204: None}, tags=TAGS)
@api_login_required
def delete_my_profile():
    """Withdraw consent: delete the profile I gave (204 also when there was none)"""
    service.withdraw_consent(db.session, current_user)
    return "", 204


# -- welfare officer -----------------------------------------------------------------------

@bp.post("/programmes")
@doc(body=schemas.ProgrammeIn, answers={201: schemas.ProgrammeOut, 403: "welfare officers only",
                                        409: "programme_code_taken: another programme has the code"},
     tags=TAGS)
@api_login_required
def create_programme():
    """Officer: create a programme (audited)"""
    body = parse_body(schemas.ProgrammeIn)
    prog = service.create_programme(db.session, current_user, body.model_dump())
    return jsonify(schemas.programme_json(prog, _lang())), 201


@bp.patch("/programmes/<code>")
@doc(body=schemas.ProgrammePatch, answers={
    200: schemas.ProgrammeOut, 403: "welfare officers only", 404: "no_programme",
    409: "programme_code_taken: another programme has the code; programme_code_fixed: residents were "
         "told about this programme, so its code cannot change"}, tags=TAGS)
@api_login_required
def update_programme(code):
    """Officer: change a programme (audited)"""
    body = parse_body(schemas.ProgrammePatch)
    prog = service.update_programme(db.session, current_user, code, body.model_dump(exclude_unset=True))
    return jsonify(schemas.programme_json(prog, _lang()))


@bp.delete("/programmes/<code>")
@doc(answers={204: None, 403: "welfare officers only", 404: "no_programme",
              409: "programme_has_notices: residents were told about it"}, tags=TAGS)
@api_login_required
def delete_programme(code):
    """Officer: delete a programme nobody was told about"""
    service.delete_programme(db.session, current_user, code)
    return "", 204


@bp.post("/scans")
@doc(body=schemas.ScanIn, body_required=False, answers={201: schemas.ScanOut, 202: schemas.ScanQueuedOut,
                                                        403: "welfare officers only"}, tags=TAGS)
@api_login_required
def start_scan():
    """Officer: run the eligibility scan now (201 with its counts) or in the background (202)

    No body is a scan of today, now."""
    # No body is a scan of today; a body must be a JSON object (parse_body: 422 otherwise).
    body = parse_body(schemas.ScanIn, None if request.get_data(cache=True).strip() else {})
    if body.run_async:
        task_id = service.queue_scan(db.session, current_user, body.scan_date)
        return jsonify(schemas.scan_queued_json(task_id)), 202
    result = service.scan(db.session, current_user, today=body.scan_date)
    return jsonify(schemas.scan_json(result)), 201


@bp.post("/profiles/lookup")
@doc(body=schemas.ProfileLookupIn, answers={
    200: schemas.ProfileOut, 403: "welfare officers only",
    404: "no_user: no account has this email; no_profile: the resident has no profile"}, tags=TAGS)
@api_login_required
def look_up_profile():
    """Officer: a resident's profile, by user id or email (exactly one; every look is audited)

    A POST although it reads: the look is audited, and who is looked up stays out of URLs (and
    so of the access log)."""
    body = parse_body(schemas.ProfileLookupIn)
    profile = service.look_up_profile(db.session, current_user, user_id=body.user_id, email=body.email)
    return jsonify(schemas.profile_json(profile))


@bp.get("/reach")
@doc(answers={200: schemas.ReachOut, 403: "welfare officers only"}, tags=TAGS)
@api_login_required
def reach():
    """Officer: notices and delivered messages per programme"""
    return jsonify(schemas.reach_json(service.reach(db.session, current_user)))


@bp.get("/follow-ups")
@doc(query=schemas.FollowUpListQuery, answers={200: schemas.FollowUpListOut, 403: "welfare officers only"},
     tags=TAGS)
@api_login_required
def list_follow_ups():
    """Officer: follow-ups of notices (callbacks, health checks, could not reach), due first

    Ordered by due date, so the overdue ones come first."""
    args = parse_query(schemas.FollowUpListQuery)
    stmt = service.list_follow_ups(db.session, current_user, args.status or None)
    rows, next_cursor = paginate(db.session, stmt, service.FOLLOW_UP_ORDER, args.cursor or None, args.limit,
                                 rows=True)
    return jsonify(schemas.follow_up_list_json(rows, next_cursor))


@bp.patch("/follow-ups/<int:follow_up_id>")
@doc(body=schemas.FollowUpPatch, answers={
    200: schemas.FollowUpOut, 403: "welfare officers only", 404: "no_follow_up",
    422: "invalid input (see fields): done without an outcome, open with one, an assignee who is not "
         "a welfare officer"}, tags=TAGS)
@api_login_required
def update_follow_up(follow_up_id):
    """Officer: a follow-up's status, outcome and assignee (audited)"""
    body = parse_body(schemas.FollowUpPatch)
    assignee = body.assignee if "assignee" in body.model_fields_set else service.KEEP
    service.update_follow_up(db.session, current_user, follow_up_id, status=body.status, outcome=body.outcome,
                             assignee=assignee)
    return jsonify(schemas.follow_up_json(service.follow_up_row(db.session, current_user, follow_up_id)))
