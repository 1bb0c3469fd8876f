"""The officers' follow-up queue, under /welfare/officer/follow-ups: the open follow-ups, overdue
first, each with a form to assign it and one to record its outcome (welfare.service.follow_ups).
Routes of the welfare pages' blueprint (welfare.views.bp), kept here beside their forms."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField

from portal.api import DEFAULT_LIMIT, paginate
from portal.errors import Invalid
from portal.extensions import db
from portal.types import utcnow
from welfare import service
from welfare.views import bp

KIND_LABELS = {"callback": _l("Callback to help apply"), "health_check": _l("Cognitive health check referral"),
               "unreachable": _l("Could not reach")}
OUTCOME_LABELS = {"reached": _l("Reached"), "applied": _l("Applied"), "declined": _l("Declined"),
                  "unreachable": _l("Could not reach")}


class AssignForm(FlaskForm):
    action = HiddenField(default="assign")
    assignee = SelectField(_l("Assigned to"), choices=[], validate_choice=True)


class OutcomeForm(FlaskForm):
    action = HiddenField(default="close")
    outcome = SelectField(_l("Outcome"), choices=[], validate_choice=True)


def _assign_form(officers, current=None) -> AssignForm:
    form = AssignForm(formdata=None)
    form.assignee.choices = [("", _("Nobody"))] + [(str(i), name or f"#{i}") for i, name in officers]
    form.assignee.data = "" if current is None else str(current)
    return form


def _outcome_form() -> OutcomeForm:
    form = OutcomeForm(formdata=None)
    form.outcome.choices = [(code, str(label)) for code, label in OUTCOME_LABELS.items()]
    return form


@bp.app_template_global("follow_up_kind")
def follow_up_kind(code: str) -> str:
    return str(KIND_LABELS.get(code, code))


@bp.get("/officer/follow-ups")
@login_required
def follow_ups():
    """The open follow-ups, overdue first (a GET: reads only)."""
    stmt = service.list_follow_ups(db.session, current_user, "open", for_page=True)
    rows, next_cursor = paginate(db.session, stmt, service.FOLLOW_UP_ORDER, request.args.get("cursor") or None,
                                 DEFAULT_LIMIT, rows=True)
    officers = service.officers(db.session, current_user)
    items = [{"row": r, "assign": _assign_form(officers, r.assignee_id), "close": _outcome_form()} for r in rows]
    next_url = url_for("welfare.follow_ups", cursor=next_cursor) if next_cursor else None
    return render_template("welfare/follow_ups.html", items=items, now=utcnow(), next_url=next_url)


@bp.post("/officer/follow-ups/<int:follow_up_id>")
@login_required
def follow_up_update(follow_up_id: int):
    """Assign a follow-up (it stays open) or record its outcome (done); audited."""
    service.require_officer(current_user)
    officers = service.officers(db.session, current_user)
    action = request.form.get("action")
    if action == "assign":
        form = AssignForm()
        form.assignee.choices = [("", "")] + [(str(i), "") for i, _name in officers]
    else:
        form = OutcomeForm()
        form.outcome.choices = [(code, "") for code in OUTCOME_LABELS]
    if not form.validate_on_submit():
        flash(_("The follow-up was not changed: choose one of the options."), "error")
        return redirect(url_for("welfare.follow_ups"), code=303)
    try:
        if action == "assign":
            service.update_follow_up(db.session, current_user, follow_up_id, status="open", outcome=None,
                                     assignee=int(form.assignee.data) if form.assignee.data else None)
            flash(_("The follow-up was assigned."), "success")
        else:
            service.update_follow_up(db.session, current_user, follow_up_id, status="done",
                                     outcome=form.outcome.data)
            flash(_("The follow-up was closed."), "success")
    except Invalid:
        db.session.rollback()
        flash(_("The follow-up was not changed: choose one of the options."), "error")
    return redirect(url_for("welfare.follow_ups"), code=303)
