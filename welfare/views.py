"""Welfare pages, under /welfare: residents and visitors, then welfare officers."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.errors import Conflict, Invalid, NotFound
from portal.extensions import db, limiter
from portal.i18n import pick
from welfare import callflow, forms, rules, service, settings

bp = Blueprint("welfare", __name__, template_folder="templates")


def _apply_errors(form, exc: Invalid) -> None:
    """Show the service's field errors next to the form's fields (rule paths under `rules`)."""
    for key, message in (exc.fields or {}).items():
        name = key.split(".")[0].split("[")[0]
        field = getattr(form, key.replace(".", "_"), None) if key.count(".") == 1 else None  # name.en
        if field is None:
            field = getattr(form, name, None)
        if field is None and hasattr(form, f"{name}_ko"):
            field = getattr(form, f"{name}_ko")
        if field is None:
            form.form_errors.append(str(message))
            continue
        text = f"{key}: {message}" if name == "rules" and key != "rules" else str(message)
        field.errors = [*list(field.errors or []), text]
    if not exc.fields:
        form.form_errors.append(str(exc.message))


@bp.app_template_global("welfare_pick")
def welfare_pick(translations):
    return pick(translations)[0]


# -- residents and visitors ----------------------------------------------------------------

@bp.get("/")
def index():
    profile, items = None, []
    if current_user.is_authenticated:
        profile, items = service.my_eligibility(db.session, current_user)
    return render_template("welfare/index.html", profile=profile, items=items)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    current = service.my_profile(db.session, current_user)
    form = forms.ProfileForm(obj=current if request.method == "GET" else None)
    if request.method == "GET" and current is not None:
        form.disability_grade.data = str(current.disability_grade or "")
        form.consent.data = current.consent_at is not None
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in (*service.PROFILE_FIELDS, "monthly_income")}
        try:
            saved = service.update_my_profile(db.session, current_user, data, consent=form.consent.data)
        except Invalid as exc:
            db.session.rollback()
            _apply_errors(form, exc)
        else:
            flash(_("Your profile was saved."), "success")
            if form.monthly_income.data is not None and saved.median_income_pct is not None:
                flash(_("Your household income is %(pct)d%% of the standard median income for a "
                        "household of your size.", pct=saved.median_income_pct), "success")
            return redirect(url_for("welfare.index"))
    return render_template("welfare/profile.html", form=form, profile=current,
                           withdraw_form=forms.WithdrawForm())


@bp.post("/profile/withdraw")
@login_required
def withdraw():
    form = forms.WithdrawForm()
    if form.validate_on_submit():
        outcome = service.withdraw_consent(db.session, current_user)
        if outcome == "deleted":
            flash(_("Your consent was withdrawn and your profile was deleted."), "success")
        elif outcome == "stopped":
            flash(_("Your consent was withdrawn: the city will not send you notices about benefits."),
                  "success")
    return redirect(url_for("welfare.profile"))


@bp.route("/screener", methods=["GET", "POST"])
@limiter.limit(settings.SCREENER_RATE_LIMIT, methods=["POST"])
def screener():
    """Self-check without an account: evaluates the rules on the answers, writes nothing."""
    form = forms.ScreenerForm()
    results = None
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in
                ("age", "median_income_pct", "monthly_income", "household_size", "lives_alone",
                 "youngest_child_age",
                 "district")}
        data["disability_grade"] = form.disability_grade.data or None
        try:
            results = service.screen(db.session, data)
        except Invalid as exc:
            _apply_errors(form, exc)
    return render_template("welfare/screener.html", form=form, results=results)


# -- welfare officers ----------------------------------------------------------------------

@bp.get("/officer/")
@login_required
def officer_programmes():
    stmt = service.list_programmes(db.session, current_user, include_inactive=True)
    programmes = db.session.scalars(stmt.order_by(service.Programme.id)).all()
    return render_template("welfare/officer_programmes.html", programmes=programmes,
                           today=service.seoul_today(), lookup_form=forms.ProfileLookupForm())


@bp.route("/officer/programmes/new", methods=["GET", "POST"])
@login_required
def programme_new():
    service.require_officer(current_user)
    form = forms.ProgrammeForm()
    if request.method == "GET":
        form.rules.data = json.dumps({"all": [{"age": {"min": 65}}]}, ensure_ascii=False)
    status = 200
    if form.validate_on_submit():
        try:
            prog = service.create_programme(db.session, current_user, form.to_data())
        except (Invalid, Conflict) as exc:  # a field's message, or a code taken: beside the form
            db.session.rollback()
            _apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The programme was created."), "success")
            return redirect(url_for("welfare.programme_edit", code=prog.code))
    return render_template("welfare/programme_form.html", form=form, programme=None), status


@bp.route("/officer/programmes/<code>", methods=["GET", "POST"])
@login_required
def programme_edit(code):
    service.require_officer(current_user)
    prog = service.get_programme(db.session, current_user, code)
    form = forms.ProgrammeForm()
    if request.method == "GET":
        form.code.data = prog.code
        for prefix in ("name", "description", "how_to_apply"):
            for lang in ("ko", "en", "zh"):
                getattr(form, f"{prefix}_{lang}").data = (getattr(prog, prefix) or {}).get(lang, "")
        form.active_from.data, form.active_until.data = prog.active_from, prog.active_until
        form.channels.data = list(prog.channels or [])
        form.callback_phone.data = prog.callback_phone
        form.rules.data = json.dumps(prog.rules, ensure_ascii=False, indent=2)
    status = 200
    if form.validate_on_submit():
        try:
            prog = service.update_programme(db.session, current_user, code, form.to_data(), partial=False)
        except (Invalid, Conflict) as exc:  # a code taken, or fixed by its notices: beside the form
            db.session.rollback()
            _apply_errors(form, exc)
            status = exc.status
            prog = service.get_programme(db.session, current_user, code)
        else:
            flash(_("The programme was saved."), "success")
            return redirect(url_for("welfare.programme_edit", code=prog.code))
    return render_template("welfare/programme_form.html", form=form, programme=prog,
                           call=callflow.preview(prog)), status


@bp.get("/officer/reach")
@login_required
def reach():
    rows = service.reach(db.session, current_user)
    return render_template("welfare/reach.html", rows=rows, scan_form=forms.ScanForm())


@bp.post("/officer/scan")
@login_required
def scan():
    service.require_officer(current_user)
    form = forms.ScanForm()
    if form.validate_on_submit():
        result = service.scan(db.session, current_user)
        flash(_("Scan finished: %(n)d new notices queued.", n=result.new_notices), "success")
    return redirect(url_for("welfare.reach"))


@bp.route("/officer/profiles", methods=["GET", "POST"])
@login_required
def officer_profile():
    """The lookup form (GET), and a look by email (POST: it is audited, and the email stays out
    of the URL and so of the access log)."""
    service.require_officer(current_user)
    form = forms.ProfileLookupForm()
    profile = facts = None
    status = 200
    if form.validate_on_submit():
        try:
            profile = service.look_up_profile(db.session, current_user, email=form.email.data)
        except (Invalid, NotFound) as exc:  # no such address, no profile: said beside the form
            _apply_errors(form, exc)
            status = exc.status
        else:
            facts = rules.Facts.from_profile(profile, service.seoul_today())
    elif form.errors:
        status = 422
    return render_template("welfare/officer_profile.html", form=form, profile=profile, facts=facts), status
