"""The proposal pages, under /proposals (`flask --app portal routes` lists them)."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from portal.errors import Invalid
from portal.extensions import db
from portal.i18n import current_locale

from . import limits, service, settings
from .errors import NoSuchProposal
from .forms import (
    ActionForm,
    BallotForm,
    CommentForm,
    DepartmentForm,
    FlagForm,
    MergeForm,
    ProposalForm,
    TransitionForm,
)
from .vocabulary import (
    CATEGORIES,
    CATEGORY_LABELS,
    CHOICE_LABELS,
    PUBLIC_STATUSES,
    SORTS,
    STATUS_LABELS,
    STATUSES,
)

bp = Blueprint("proposals", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")


RECEIPT_KEY = "proposals.receipt"  # the cookie session's [proposal id, receipt] after a ballot


def _flash_invalid(exc: Invalid) -> None:
    if exc.fields:
        for message in exc.fields.values():
            flash(str(message), "error")
    else:
        flash(str(exc.message), "error")


def _to_detail(proposal_id: int):
    return redirect(url_for("proposals.detail", proposal_id=proposal_id))


def _in_seoul(value):
    """A form's date and time (no offset: a person means the city's clock) as that time in
    Asia/Seoul; the service checks its range before converting it to UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))


# -- pages ---------------------------------------------------------------------------------

# A per-process micro-cache of the rendered listing for anonymous visitors: the public list may
# lag a few seconds (settings.LIST_CACHE_SECONDS, 0 = off; the tests turn it off).
# Signed-in residents, the API and every detail page always read the database.
_listing_cache: dict[tuple, tuple[float, Markup]] = {}
_LISTING_CACHE_MAX = 1024


def _listing_html() -> Markup:
    query = service.parse_list_query(request.args)
    cursor = request.args.get("cursor") or None
    rows, next_cursor = service.list_proposals(db.session, current_user, query, cursor, limits.PAGE_SIZE)
    next_url = None
    if next_cursor:
        args = {k: v for k, v in request.args.items() if k != "cursor" and v}
        next_url = url_for("proposals.index", cursor=next_cursor, **args)
    # labels turned to text once per page, not once per row
    return Markup(render_template(  # noqa: S704 - autoescaped template output
        "proposals/_listing.html", proposals=rows, query=query, next_url=next_url, limits=limits,
        categories=CATEGORIES, statuses=PUBLIC_STATUSES, sorts=SORTS,
        category_labels={k: str(v) for k, v in CATEGORY_LABELS.items()},
        status_labels={k: str(v) for k, v in STATUS_LABELS.items()}))


@bp.get("/")
def index():
    ttl = settings.LIST_CACHE_SECONDS()
    if ttl <= 0 or current_user.is_authenticated:
        listing = _listing_html()
    else:
        key = (current_locale(), tuple(sorted(request.args.items(multi=True))))
        now = time.monotonic()
        hit = _listing_cache.get(key)
        if hit is not None and hit[0] > now:
            listing = hit[1]
        else:
            listing = _listing_html()
            if len(_listing_cache) >= _LISTING_CACHE_MAX:
                _listing_cache.clear()
            _listing_cache[key] = (now + ttl, listing)
    return render_template("proposals/index.html", listing=listing)


@bp.route("/new", methods=["GET", "POST"])
def new():
    # Only residents with a voice (verified, address confirmed) may submit: the service says so
    # (401/403 with what to do) before any form is shown.
    from portal.accounts import service as accounts

    accounts.require_voice(current_user)
    form = ProposalForm()
    if form.validate_on_submit():
        try:
            proposal = service.create_proposal(db.session, current_user, {
                "title": form.title.data, "body": form.body.data, "category": form.category.data,
                "district": form.district.data, "location": form.location.data})
        except Invalid as exc:
            for name, message in (exc.fields or {}).items():
                field = getattr(form, name, None)
                if field is not None:
                    field.errors = [*field.errors, str(message)]
            return _new_page(form), 422
        flash(_("Your proposal is published. Residents can now endorse it."), "success")
        return _to_detail(proposal.id)
    return _new_page(form), 422 if form.errors else 200


def _new_page(form: ProposalForm) -> str:
    return render_template("proposals/new.html", form=form, endorsement_days=settings.ENDORSEMENT_DAYS())


@bp.get("/<int:proposal_id>")
def detail(proposal_id: int):
    return _detail_page(proposal_id)


def _status_choices(moves: list[str]) -> list[SelectChoice]:
    """The moves this person may make, after a neutral first choice: nothing is preselected (the
    first move, often "put to a resident vote", was applied by a careless click)."""
    return [SelectChoice("", _("Choose…")), *(SelectChoice(m, STATUS_LABELS[m]) for m in moves)]


def _detail_page(proposal_id: int, transition_form: TransitionForm | None = None, status: int = 200):
    """The proposal page; with `transition_form`, the staff form as it was sent (its values and
    the service's messages beside their fields)."""
    session = db.session
    p = service.get_proposal(session, current_user, proposal_id)
    shown = flask_session.get(RECEIPT_KEY) or [None, None]
    receipt = flask_session.pop(RECEIPT_KEY)[1] if shown[0] == p.id else None
    comments, next_comments = service.comments_page(session, p.id, request.args.get("comments") or None)
    answer, answer_lang = service.public_answer(p, current_locale())
    moves = service.allowed_moves(session, current_user, p) if current_user.is_authenticated else []
    form = transition_form or TransitionForm(formdata=None)
    form.to.choices = _status_choices(moves) if moves else []
    return render_template(
        "proposals/detail.html", p=p, answer=answer, answer_lang=answer_lang,
        tally=service.tally(session, p), history=service.history(session, current_user, p.id),
        comments=comments,
        next_comments=url_for("proposals.detail", proposal_id=p.id, comments=next_comments)
        if next_comments else None,
        endorsed=service.has_endorsed(session, current_user, p.id),
        endorse_why=service.why_not_endorse(current_user, p),
        following=service.is_following(session, current_user, p.id),
        voted=service.has_voted(session, current_user, p.id),
        vote_why=service.why_not_vote(session, current_user, p),
        receipt=receipt, counted=service.is_counted(session, p),
        vote_ended=service.vote_ended(p), threshold=settings.ENDORSEMENT_THRESHOLD(),
        is_author=current_user.is_authenticated and current_user.id == p.author_id,
        is_staff=service.is_staff(current_user),
        action_form=ActionForm(), comment_form=CommentForm(), flag_form=FlagForm(),
        ballot_form=BallotForm(), transition_form=form, department_form=DepartmentForm(obj=p),
        merge_form=MergeForm(), category_labels=CATEGORY_LABELS,
        status_labels=STATUS_LABELS, choice_labels=CHOICE_LABELS), status


# -- resident actions ----------------------------------------------------------------------

@bp.post("/<int:proposal_id>/endorse")
def endorse(proposal_id: int):
    if ActionForm().validate_on_submit():
        _p, created = service.endorse(db.session, current_user, proposal_id)
        flash(_("Thank you: your endorsement counts.") if created else _("You had already endorsed it."),
              "success")
    return _to_detail(proposal_id)


@bp.post("/<int:proposal_id>/unendorse")
def unendorse(proposal_id: int):
    if ActionForm().validate_on_submit():
        service.withdraw_endorsement(db.session, current_user, proposal_id)
        flash(_("Your endorsement is withdrawn."), "success")
    return _to_detail(proposal_id)


@bp.post("/<int:proposal_id>/follow")
def follow(proposal_id: int):
    if ActionForm().validate_on_submit():
        service.follow(db.session, current_user, proposal_id)
        flash(_("You will be told when this proposal changes."), "success")
    return _to_detail(proposal_id)


@bp.post("/<int:proposal_id>/unfollow")
def unfollow(proposal_id: int):
    if ActionForm().validate_on_submit():
        service.unfollow(db.session, current_user, proposal_id)
        flash(_("You no longer follow this proposal."), "success")
    return _to_detail(proposal_id)


@bp.post("/<int:proposal_id>/comments")
def comment(proposal_id: int):
    form = CommentForm()
    try:
        service.add_comment(db.session, current_user, proposal_id, form.body.data)
    except Invalid as exc:
        _flash_invalid(exc)
    return _to_detail(proposal_id)


@bp.post("/<int:proposal_id>/flag")
def flag(proposal_id: int):
    form = FlagForm()
    try:
        service.flag(db.session, current_user, proposal_id, form.reason.data)
        flash(_("Thank you. Staff will look at your report."), "success")
    except Invalid as exc:
        _flash_invalid(exc)
    return _to_detail(proposal_id)


@bp.post("/<int:proposal_id>/ballot")
def ballot(proposal_id: int):
    form = BallotForm()
    try:
        receipt = service.cast_ballot(db.session, current_user, proposal_id, form.choice.data)
        # Shown once, by the next detail page (the cookie session, as a flash): nothing in the
        # database links a voter to their receipt, so nobody can show it again.
        flask_session[RECEIPT_KEY] = [proposal_id, receipt]
        flash(_("Your vote is sealed and recorded. It is secret: nobody can see what you chose."),
              "success")
    except Invalid as exc:
        _flash_invalid(exc)
    return _to_detail(proposal_id)


@bp.get("/<int:proposal_id>/ballots")
def ballots(proposal_id: int):
    """The receipts of a counted vote, and a check of one receipt (?receipt=)."""
    session = db.session
    p = service.get_proposal(session, current_user, proposal_id)
    receipt = (request.args.get("receipt") or "").strip()
    receipts, next_cursor = service.receipts_page(session, current_user, p.id,
                                                  request.args.get("cursor") or None)
    return render_template(
        "proposals/ballots.html", p=p, receipts=receipts, tally=service.tally(session, p),
        receipt=receipt, found=service.receipt_counted(session, current_user, p.id, receipt) if receipt else None,
        next_url=url_for("proposals.ballots", proposal_id=p.id, cursor=next_cursor) if next_cursor else None,
        choice_labels=CHOICE_LABELS)


# -- staff (and the author's withdrawal) ---------------------------------------------------

@bp.post("/<int:proposal_id>/transition")
def transition(proposal_id: int):
    form = TransitionForm()
    form.to.choices = [SelectChoice(s) for s in STATUSES]
    if not form.to.data:  # the neutral first choice: nothing to apply
        form.to.errors = [_("Choose the new status.")]
        return _detail_page(proposal_id, form, 422)
    try:
        service.transition(db.session, current_user, proposal_id, form.to.data,
                           answer=form.answer.data or None, department=form.department.data or None,
                           vote_ends_at=_in_seoul(form.vote_ends_at.data), reason=form.reason.data)
    except Invalid as exc:
        # The form comes back as sent, each message beside its field ("answer required" beside
        # the answer, not only at the top of the page), nothing changed.
        for name, message in (exc.fields or {}).items():
            field = getattr(form, name.split(".")[0], None)
            if field is not None:
                field.errors = [*(e for e in field.errors if isinstance(e, str)), str(message)]
            else:
                flash(str(message), "error")
        if not exc.fields:
            flash(str(exc.message), "error")
        return _detail_page(proposal_id, form, 422)
    flash(_("The status is changed."), "success")
    return _to_detail(proposal_id)


@bp.post("/<int:proposal_id>/department")
def department(proposal_id: int):
    form = DepartmentForm()
    try:
        service.assign_department(db.session, current_user, proposal_id,
                                  form.department.data)
        flash(_("The department is assigned."), "success")
    except Invalid as exc:
        _flash_invalid(exc)
    return _to_detail(proposal_id)


@bp.post("/<int:proposal_id>/merge")
def merge(proposal_id: int):
    form = MergeForm()
    try:
        target = service.merge(db.session, current_user, proposal_id, form.into.data)
    except (Invalid, NoSuchProposal) as exc:
        if not exc.fields:  # the duplicate itself does not exist: not found
            raise
        _flash_invalid(exc)
        return _to_detail(proposal_id)
    flash(_("The duplicate is merged; its endorsers now count here."), "success")
    return _to_detail(target.id)


@bp.get("/staff/triage")
def triage():
    queue = service.triage_queue(db.session, current_user)
    flagged = service.flagged(db.session, current_user)
    return render_template("proposals/triage.html", queue=queue, flagged=flagged,
                           category_labels=CATEGORY_LABELS, status_labels=STATUS_LABELS)
