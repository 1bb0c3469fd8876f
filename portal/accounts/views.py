"""Account pages.

Pages:  /account/login, /account/register, /account/logout (POST), /account/ (profile),
        /account/language (POST), /account/verify, /account/tokens, /account/tokens/<id>/revoke (POST)
Staff:  /staff/users, /staff/users/<id>/verify (POST), /staff/register (CSV import)
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.accounts import roles, service
from portal.accounts.forms import (
    LanguageForm,
    LoginForm,
    ManualVerifyForm,
    ProfileForm,
    RegisterForm,
    RegisterImportForm,
    TokenForm,
    VerifyForm,
)
from portal.errors import DomainError, Invalid
from portal.extensions import db, limiter

bp = Blueprint("accounts", __name__, template_folder="templates")


def _safe_next(default: str) -> str:
    target = request.args.get("next") or request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


def _form_errors(form, exc: DomainError) -> None:
    """Put a domain error's field messages on the form, or flash its message."""
    placed = False
    for name, message in (exc.fields or {}).items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
            placed = True
    if not placed:
        flash(str(exc.message), "error")


@bp.route("/account/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = service.authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            flash(_("Wrong email or password."), "error")
            return render_template("accounts/login.html", form=form), 401
        login_user(user)
        session["lang"] = user.locale
        flash(_("Welcome, %(name)s.", name=user.name), "success")
        return redirect(_safe_next(url_for("home")))
    status = 422 if form.errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.route("/account/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = service.register(db.session, form.email.data, form.password.data, form.name.data,
                                    locale=_current_lang())
        except DomainError as exc:
            _form_errors(form, exc)
            return render_template("accounts/register.html", form=form), exc.status
        login_user(user)
        flash(_("Your account is ready. Verify your residency to endorse, vote and get an e-ID card."),
              "success")
        return redirect(url_for("accounts.verify"))
    return render_template("accounts/register.html", form=form), 422 if form.errors else 200


@bp.post("/account/logout")
@login_required
def logout():
    logout_user()
    flash(_("You have signed out."), "success")
    return redirect(url_for("home"))


def _current_lang() -> str:
    from portal.i18n import current_locale
    return current_locale()


@bp.post("/account/language")
def set_language():
    lang = request.form.get("lang", "")
    try:
        service.set_locale(db.session, current_user, lang)
    except Invalid as exc:
        flash(str(exc.message), "error")
        return redirect(_safe_next(url_for("home"))), 303
    session["lang"] = lang
    # Drop a ?lang= from the page we go back to, so the new choice shows.
    target = _safe_next(url_for("home"))
    parts = urlsplit(target)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("lang="))
    return redirect(parts.path + ("?" + query if query else "")), 303


@bp.route("/account/", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        try:
            service.update_profile(db.session, current_user, name=form.name.data, phone=form.phone.data,
                                   birth_date=form.birth_date.data, district=form.district.data)
        except DomainError as exc:
            _form_errors(form, exc)
            return render_template("accounts/profile.html", form=form), exc.status
        flash(_("Saved."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form), 422 if form.errors else 200


@bp.route("/account/verify", methods=["GET", "POST"])
@login_required
def verify():
    form = VerifyForm()
    if form.validate_on_submit():
        try:
            service.verify_against_register(
                db.session, current_user, name=form.name.data, birth_date=form.birth_date.data,
                district=form.district.data, document_number=form.document_number.data)
        except DomainError as exc:
            _form_errors(form, exc)
            return render_template("accounts/verify.html", form=form), exc.status
        flash(_("Your residency is verified."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/verify.html", form=form), 422 if form.errors else 200


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        new_token, _row = service.create_token(db.session, current_user, form.name.data or "")
    return render_template("accounts/tokens.html", form=form, new_token=new_token,
                           tokens=service.list_tokens(db.session, current_user))


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    service.revoke_token(db.session, current_user, token_id)
    flash(_("The token is revoked."), "success")
    return redirect(url_for("accounts.tokens"))


# -- staff -----------------------------------------------------------------------------------

@bp.get("/staff/users")
@login_required
def staff_users():
    users = service.search_users(db.session, current_user, request.args.get("q", ""))
    return render_template("accounts/staff_users.html", users=users, form=ManualVerifyForm(),
                           q=request.args.get("q", ""))


@bp.post("/staff/users/<int:user_id>/verify")
@login_required
def staff_verify(user_id: int):
    form = ManualVerifyForm()
    if not form.validate_on_submit():
        raise Invalid(fields={"reason": _("This field is required.")})
    service.verify_manually(db.session, current_user, user_id, reason=form.reason.data)
    flash(_("The account is verified."), "success")
    return redirect(url_for("accounts.staff_users"))


@bp.route("/staff/register", methods=["GET", "POST"])
@login_required
def staff_register():
    service.require_role(current_user, roles.STAFF)
    form = RegisterImportForm()
    if form.validate_on_submit():
        try:
            text = form.file.data.read().decode("utf-8-sig")
            count = service.import_register(db.session, csv.DictReader(io.StringIO(text)), current_user)
        except UnicodeDecodeError:
            flash(_("The file must be UTF-8 CSV."), "error")
            return render_template("accounts/staff_register.html", form=form), 422
        except DomainError as exc:
            return render_template("accounts/staff_register.html", form=form, errors=exc.fields,
                                   message=exc.message), exc.status
        flash(_("%(n)s register rows imported.", n=count), "success")
        return redirect(url_for("accounts.staff_register"))
    return render_template("accounts/staff_register.html", form=form)


def language_form() -> LanguageForm:
    return LanguageForm(formdata=None)
