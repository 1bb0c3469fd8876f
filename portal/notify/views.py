"""The notification queue's pages under /notify: a resident's inbox and preferences, the
officers' dashboard."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.errors import Invalid
from portal.extensions import db

from . import service
from .forms import PreferencesForm
from .labels import (
    CHANNEL_LABELS,
    STATUS_LABELS,
    channel_list,
    delivery_label,
    delivery_sentence,
    family_label,
    reason_label,
    template_label,
)
from .linkify import foreign_texts, linkify
from .models import CHANNELS, STATUSES

bp = Blueprint("notify", __name__, template_folder="templates")


@bp.app_context_processor
def _labels():
    # every page may name a channel, a notice or a delivery state in words (never a raw code):
    # other services' pages too (the welfare officer's channels, tourism's confirmation)
    return {"notify_channel_labels": CHANNEL_LABELS, "notify_status_labels": STATUS_LABELS,
            "notify_reason": reason_label, "notify_family": family_label,
            "notify_template": template_label, "notify_channels": channel_list,
            "notify_delivery": delivery_label, "notify_delivery_sentence": delivery_sentence}


@bp.app_template_filter("notify_links")
def _notify_links(text, message=None):
    """A notice's text with its links, and (given its message) what its context wrote in
    another language marked lang= (a proposal's title)."""
    return linkify(text, foreign_texts(message.context, message.locale) if message is not None else None)


# -- residents -------------------------------------------------------------------------------

@bp.get("/")
@login_required
def inbox():
    rows, next_cursor = service.notices(db.session, current_user, cursor=request.args.get("cursor"))
    items = [(m, service.rendered(m), service.state_of(m)) for m in rows]
    next_url = url_for(".inbox", cursor=next_cursor) if next_cursor else None
    return render_template("notify/inbox.html", items=items, next_url=next_url,
                           unread=service.unread_count(db.session, current_user),
                           show_dashboard_link=current_user.has_role(*service.OFFICER_ROLES))


@bp.post("/inbox/<int:message_id>/read")
@login_required
def mark_read(message_id: int):
    service.mark_read(db.session, current_user, message_id)
    return redirect(url_for(".inbox", _anchor=f"message-{message_id}"))


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    form = PreferencesForm()
    if request.method == "GET":
        current = service.get_preferences(db.session, current_user)
        form.preferred_channel.data = current["preferred_channel"] or ""
        form.opted_out.data = current["opted_out"]
    elif form.validate_on_submit():
        try:
            service.update_preferences(db.session, current_user,
                                       preferred_channel=form.preferred_channel.data or None,
                                       opted_out=form.opted_out.data or [])
        except Invalid as exc:
            for name, message in (exc.fields or {}).items():
                field = getattr(form, name, None)
                if field is not None:
                    field.errors = [message]
            return render_template("notify/preferences.html", form=form), 422
        flash(_("Your notification settings were saved."), "success")
        return redirect(url_for(".preferences"))
    status = 422 if form.errors else 200
    return render_template("notify/preferences.html", form=form), status


# -- officers --------------------------------------------------------------------------------

@bp.get("/dashboard")
@login_required
def dashboard():
    data = service.stats(db.session, current_user)
    return render_template("notify/dashboard.html", stats=data, channels=CHANNELS, statuses=STATUSES,
                           full=service.sees_recipients(current_user))


@bp.post("/messages/<int:message_id>/retry")
@login_required
def retry(message_id: int):
    service.retry(db.session, current_user, message_id)
    flash(_("The message was queued again."), "success")
    return redirect(url_for(".dashboard"))
