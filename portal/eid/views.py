"""e-ID pages: the resident's card and access log, and the staff desk (facilities, gates, cards)."""

from __future__ import annotations

import segno
from babel.dates import get_day_names
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from portal.api import json_error, paginate
from portal.eid import keys, presentation, service, settings
from portal.eid.errors import CardIssueLimit, NoSigningKey, in_time
from portal.eid.forms import ActionForm, CardStatusForm, FacilityForm, GateForm
from portal.eid.models import Facility, Gate
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.i18n import format_date, format_datetime, pick

bp = Blueprint("eid", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")


@bp.app_template_filter("eid_pick")
def _pick(names):
    return pick(names)[0]


@bp.context_processor
def _helpers():
    return {"eid_reason": lambda r: service.REASON_MESSAGES.get(r, r),
            "eid_status": lambda s: service.STATUS_LABELS.get(s, s),
            "eid_decision": lambda d: service.DECISION_LABELS.get(d, d),
            "eid_kind": lambda k: service.KIND_LABELS.get(k, k),
            "eid_hours": opening_hours_lines,
            "eid_date": lambda dt: format_date(dt, "medium"),
            # a time of entry: CLDR without seconds, and whose clock it is
            "eid_datetime": lambda dt: format_datetime(dt, "short", zone=True),
            "age_thresholds": settings.AGE_THRESHOLDS(),
            "max_ages": [t - 1 for t in settings.AGE_THRESHOLDS()]}


def opening_hours_lines(hours: dict | None) -> list[str]:
    """[("월", "09:00-18:00"), ...] in the current locale, Monday first; closed days left out."""
    names = get_day_names("abbreviated", locale=get_locale())
    return [f"{names[int(d)]} {span}" for d, span in sorted((hours or {}).items())]


def qr_svg(token: str) -> Markup:
    qr = segno.make(token, error="m", micro=False)
    svg = qr.svg_inline(scale=1, border=4, dark="#000", light="#fff", omitsize=True,
                        svgclass="eid-qr-svg", title=_("Card code"))
    return Markup(svg)  # noqa: S704 - produced by segno from a token of base64url characters


def _flash_error(exc: DomainError, form=None):
    """The error's field messages on ``form``'s fields, else flashed (the page after a
    redirect shows them), else its message."""
    placed = False
    for name, message in (exc.fields or {}).items():
        field = getattr(form, name, None) if form is not None else None
        if field is not None:
            field.errors = [*field.errors, message]
            placed = True
    if not placed:
        for message in (exc.fields or {}).values() or [exc.message]:
            flash(str(message), "error")


# --- residents ------------------------------------------------------------------------------


def _card_page(status: int = 200, retry_after: int | None = None):
    """The holder's card page; a read. The page carries no token: its script makes the QR
    codes on the phone (``static/eid/card.js``), or asks ``/eid/qr`` on a browser too old for
    that."""
    card = holder = None
    if current_user.is_verified:
        holder = service.holder_facts(db.session, current_user)
        try:
            card = service.my_card(db.session, current_user)
        except NotFound:
            card = None
        if card is not None and card.status == "active" and keys.active_key(db.session) is None:
            raise NoSigningKey()  # 503: no credential can be issued, the page says why
    page = render_template("eid/card.html", card=card, holder=holder, form=ActionForm(),
                           credential_url=url_for("eid_api.my_credential"),
                           refresh_seconds=presentation.REFRESH_SECONDS)
    headers = {"Cache-Control": "no-store"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return page, status, headers


@bp.get("/")
@login_required
def card():
    return _card_page()


@bp.post("/issue")
@login_required
def issue():
    form = ActionForm()
    if form.validate_on_submit():
        try:
            service.issue_card(db.session, current_user)
            flash(_("Your e-ID card is ready."), "success")
        except CardIssueLimit as exc:
            flash(str(exc.message), "error")
            return _card_page(exc.status, exc.retry_after)
        except DomainError as exc:
            _flash_error(exc)
    return redirect(url_for("eid.card"), 303)


@bp.post("/report-lost")
@login_required
def report_lost():
    form = ActionForm()
    if form.validate_on_submit():
        try:
            report = service.report_lost(db.session, current_user)
        except DomainError as exc:
            _flash_error(exc)
            return redirect(url_for("eid.card"), 303)
        if report.new_card is None:  # revoked all the same; the new card has to wait
            flash(_("Your card is revoked. You can have a new card issued %(when)s.",
                    when=in_time(report.retry_after)), "error")
            return _card_page(CardIssueLimit.status, report.retry_after)
        flash(_("The old card is revoked and a new card is issued."), "success")
    return redirect(url_for("eid.card"), 303)


@bp.post("/qr")
@login_required
def qr():
    """A fresh QR for the card page (called by its script with the CSRF header)."""
    try:
        token, expires_in = service.card_token(db.session, current_user)
    except DomainError as exc:
        return json_error(exc.code, exc.message, exc.status)
    response = jsonify({"svg": str(qr_svg(token)), "expires_in": expires_in})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/access-log")
@login_required
def access_log():
    rows, next_cursor = paginate(db.session, service.access_log_stmt(current_user),
                                 list(service.ACCESS_LOG_ORDER), request.args.get("cursor"), 30)
    next_url = url_for("eid.access_log", cursor=next_cursor) if next_cursor else None
    return render_template("eid/access_log.html", rows=rows, next_url=next_url)


# --- staff --------------------------------------------------------------------------------


def _facility_input(form: FacilityForm, code: str | None = None) -> service.FacilityInput:
    return service.FacilityInput(
        code=code or form.code.data or "",
        names={"ko": form.name_ko.data, "en": form.name_en.data, "zh": form.name_zh.data},
        kind=form.kind.data, opening_hours=form.opening_hours.data or "",
        residents_only=form.residents_only.data, districts=[d for d in form.districts.data or [] if d],
        min_age=form.min_age.data, max_age=form.max_age.data,
        resident_discount=form.resident_discount.data or 0, active=form.active.data)


@bp.route("/staff/facilities", methods=["GET", "POST"])
@login_required
def staff_facilities():
    service.require_staff(current_user)
    form = FacilityForm()
    status = 200
    if form.validate_on_submit():
        try:
            facility = service.create_facility(db.session, current_user, _facility_input(form))
            flash(_("Facility saved."), "success")
            return redirect(url_for("eid.staff_facility", code=facility.code), 303)
        except DomainError as exc:
            _flash_error(exc, form)
            status = exc.status
    elif form.errors:
        status = 422
    facilities = list(db.session.scalars(
        service.facilities_stmt(include_inactive=True).order_by(Facility.code)))
    return render_template("eid/staff_facilities.html", form=form, facilities=facilities), status


def _form_for(facility) -> FacilityForm:
    """The facility form filled from the stored facility (nothing read from the request)."""
    form = FacilityForm(formdata=None)
    names = facility.names or {}
    form.code.data = facility.code
    form.name_ko.data, form.name_en.data, form.name_zh.data = (
        names.get("ko"), names.get("en"), names.get("zh"))
    form.kind.data = facility.kind
    form.opening_hours.data = service.format_opening_hours(facility.opening_hours)
    form.residents_only.data = facility.residents_only
    form.districts.data = list(facility.districts or [])
    form.min_age.data, form.max_age.data = facility.min_age, facility.max_age
    form.resident_discount.data, form.active.data = facility.resident_discount, facility.active
    return form


def _facility_page(facility, form, new_key=None, status=200, gate_form=None):
    gates = list(db.session.scalars(db.select(Gate).where(
        Gate.facility_id == facility.id).order_by(Gate.id)))
    return render_template("eid/staff_facility.html", facility=facility, form=form, gates=gates,
                           gate_form=gate_form or GateForm(formdata=None),
                           action_form=ActionForm(), new_key=new_key), status, {
        "Cache-Control": "no-store"}


@bp.route("/staff/facilities/<code>", methods=["GET", "POST"])
@login_required
def staff_facility(code):
    service.require_staff(current_user)
    facility = service.get_facility(db.session, code)
    if request.method == "GET":
        return _facility_page(facility, _form_for(facility))
    form = FacilityForm()
    form.code.data = facility.code  # the code cannot change
    status = 422
    if form.validate_on_submit():
        try:
            service.update_facility(db.session, current_user, code, _facility_input(form, code))
            flash(_("Facility saved."), "success")
            return redirect(url_for("eid.staff_facility", code=code), 303)
        except DomainError as exc:
            _flash_error(exc, form)
            status = exc.status
    return _facility_page(facility, form, status=status)


@bp.post("/staff/facilities/<code>/gates")
@login_required
def staff_gate_create(code):
    """Register a gate; the page shows its key this once (only a hash is stored)."""
    service.require_staff(current_user)
    facility = service.get_facility(db.session, code)
    gate_form = GateForm()
    if not gate_form.validate_on_submit():
        flash(_("The gate could not be registered. Please try again."), "error")
        return redirect(url_for("eid.staff_facility", code=code), 303)
    try:
        _gate, new_key = service.create_gate(db.session, current_user, code, gate_form.name.data)
    except DomainError as exc:  # a name only of invisible characters
        _flash_error(exc, gate_form)
        return _facility_page(facility, _form_for(facility), status=exc.status,
                              gate_form=gate_form)
    return _facility_page(facility, _form_for(facility), new_key=new_key, status=201)


@bp.post("/staff/gates/<int:gate_id>/deactivate")
@login_required
def staff_gate_deactivate(gate_id):
    form = ActionForm()
    service.require_staff(current_user)
    if form.validate_on_submit():
        gate = service.deactivate_gate(db.session, current_user, gate_id)
        flash(_("The gate is switched off; its key no longer works."), "success")
        return redirect(url_for("eid.staff_facility", code=gate.facility.code), 303)
    return redirect(url_for("eid.staff_facilities"), 303)


@bp.get("/staff/cards")
@login_required
def staff_cards():
    service.require_staff(current_user)
    query = request.args.get("q", "")
    cards = service.find_cards(db.session, current_user, query)
    return render_template("eid/staff_cards.html", cards=cards, query=query,
                           form=CardStatusForm(formdata=None))


def _staff_card_action(card_id: str, action):
    service.require_staff(current_user)
    service.check_card_id(card_id)  # 404 for an id no card can have
    form = CardStatusForm()
    query = request.form.get("q", "")
    if form.validate_on_submit():
        try:
            action(db.session, current_user, card_id, form.reason.data)
            flash(_("Card status changed."), "success")
        except DomainError as exc:
            _flash_error(exc)
    else:
        flash(_("Please give a reason."), "error")
    return redirect(url_for("eid.staff_cards", q=query or card_id), 303)


@bp.post("/staff/cards/<card_id>/suspend")
@login_required
def staff_card_suspend(card_id):
    return _staff_card_action(card_id, service.suspend_card)


@bp.post("/staff/cards/<card_id>/resume")
@login_required
def staff_card_resume(card_id):
    return _staff_card_action(card_id, service.resume_card)
