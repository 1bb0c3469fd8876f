"""Account pages: sign-in, registration, address confirmation, password reset, profile,
residency verification, API tokens; staff: residents, register import, register claims."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.accounts import roles, service, settings
from portal.accounts.forms import (
    ChangePasswordForm,
    ConfirmForm,
    EmailForm,
    EntryLookupForm,
    LanguageForm,
    LoginForm,
    ManualVerifyForm,
    NewPasswordForm,
    ProfileForm,
    RegisterForm,
    RegisterImportForm,
    ReleaseForm,
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


def _login_email_key() -> str:
    """Sign-in attempts per account (the address typed), beside the per-address limit."""
    return "login:" + service.normalise_email(request.form.get("email", ""))


def _account_key() -> str:
    return f"account:{current_user.get_id() if current_user.is_authenticated else '-'}"


def login_limits(view):
    """The sign-in limits: per client address and per account."""
    view = limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])(view)
    return limiter.limit(lambda: settings.LOGIN_ACCOUNT_RATE_LIMIT(), key_func=_login_email_key,
                         methods=["POST"])(view)


def verify_limits(view):
    """Residency verification attempts: per account and per client address."""
    view = limiter.limit(lambda: settings.VERIFY_RATE_LIMIT_CLIENT(), methods=["POST"])(view)
    return limiter.limit(lambda: settings.VERIFY_RATE_LIMIT_ACCOUNT(), key_func=_account_key,
                         methods=["POST"])(view)


@bp.route("/account/login", methods=["GET", "POST"])
@login_limits
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
            key = service.register(db.session, form.email.data, form.password.data, form.name.data,
                                   locale=_current_lang())
        except DomainError as exc:
            _form_errors(form, exc)
            return render_template("accounts/register.html", form=form), exc.status
        # The same answer whether or not the address already has an account; it says what
        # became of the mail (on its way, sent, not sent) and never "sent" before it was.
        from portal.notify import service as notify

        return render_template("accounts/check_email.html", email=form.email.data.strip(),
                               delivery=notify.delivery_state(db.session, key)), 200
    return render_template("accounts/register.html", form=form), 422 if form.errors else 200


@bp.post("/account/logout")
@login_required
def logout():
    service.log_out_everywhere(db.session, current_user)
    logout_user()
    flash(_("You have signed out."), "success")
    return redirect(url_for("home"))


def _current_lang() -> str:
    from portal.i18n import current_locale
    return current_locale()


def _link_token(key: str):
    """A link's ?t= goes into the session and out of the address bar (and so out of the
    browser history and of any Referer); returns a redirect, or the token kept before."""
    token = request.args.get("t")
    if token:
        session[key] = token[:100]
        return redirect(request.path), None
    return None, session.get(key)


@bp.route("/account/confirm", methods=["GET", "POST"])
def confirm():
    moved, token = _link_token("confirm_token")
    if moved:
        return moved
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        session.pop("confirm_token", None)
        service.confirm_email(db.session, token or "")
        flash(_("Your email address is confirmed."), "success")
        return redirect(url_for("accounts.profile" if current_user.is_authenticated else "accounts.login"))
    live = service.link_is_live(db.session, token or "", "confirm")
    return render_template("accounts/confirm.html", form=form, live=live), 200 if live else 410


@bp.post("/account/confirm/resend")
@login_required
def resend_confirmation():
    service.resend_confirmation(db.session, current_user)
    flash(_("If your address is not confirmed yet, a new link is on its way to %(email)s.",
            email=current_user.email), "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/account/password-reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def password_reset():
    form = EmailForm()
    if form.validate_on_submit():
        service.request_password_reset(db.session, form.email.data)
        return render_template("accounts/check_email.html", email=form.email.data.strip(), reset=True,
                               minutes=settings.RESET_LINK_MINUTES())
    return render_template("accounts/password_reset.html", form=form), 422 if form.errors else 200


@bp.route("/account/password-reset/new", methods=["GET", "POST"])
def password_reset_new():
    moved, token = _link_token("reset_token")
    if moved:
        return moved
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            service.reset_password(db.session, token or "", form.password.data)
        except DomainError as exc:
            _form_errors(form, exc)
            return render_template("accounts/password_new.html", form=form, live=True), exc.status
        session.pop("reset_token", None)
        logout_user()
        flash(_("Your password is changed. Every session of your account has ended: sign in again."),
              "success")
        return redirect(url_for("accounts.login"))
    live = service.link_is_live(db.session, token or "", "reset")
    status = 422 if form.errors else (200 if live else 410)
    return render_template("accounts/password_new.html", form=form, live=live), status


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@login_limits
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            service.change_password(db.session, current_user, form.current_password.data, form.password.data)
        except DomainError as exc:
            _form_errors(form, exc)
            return render_template("accounts/password_change.html", form=form), exc.status
        login_user(current_user._get_current_object())  # this session goes on; the others end
        flash(_("Your password is changed. Your other sessions have ended."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/password_change.html", form=form), 422 if form.errors else 200


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
@verify_limits
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
    new_token, status = None, 200
    if form.validate_on_submit():
        try:
            new_token, _row = service.create_token(db.session, current_user, form.name.data or "")
        except DomainError as exc:
            _form_errors(form, exc)
            status = exc.status
    elif form.errors:
        status = 422
    return render_template("accounts/tokens.html", form=form, new_token=new_token,
                           tokens=service.list_tokens(db.session, current_user)), status


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
    return render_template("accounts/staff_users.html", users=users, form=ManualVerifyForm(formdata=None),
                           q=request.args.get("q", ""))


@bp.route("/staff/users/<int:user_id>/verify", methods=["GET", "POST"])
@login_required
def staff_verify(user_id: int):
    service.require_role(current_user, roles.STAFF)
    target = service.get_user(db.session, user_id) if 0 < user_id < 2**31 else None
    if target is None:
        from portal.errors import NotFound
        raise NotFound()
    form = ManualVerifyForm()
    if form.validate_on_submit():
        try:
            service.verify_manually(db.session, current_user, user_id, reason=form.reason.data,
                                    name=form.name.data, birth_date=form.birth_date.data,
                                    district=form.district.data, document_number=form.document_number.data)
        except DomainError as exc:
            _form_errors(form, exc)
            return render_template("accounts/staff_verify.html", form=form, target=target), exc.status
        flash(_("The account is verified."), "success")
        return redirect(url_for("accounts.staff_users"))
    return render_template("accounts/staff_verify.html", form=form, target=target), 422 if form.errors else 200


@bp.route("/staff/register/claims", methods=["GET", "POST"])
@login_required
def staff_claims():
    """Look a register entry up by document number (POST: the number never goes in a URL)."""
    service.require_role(current_user, roles.STAFF)
    form = EntryLookupForm()
    entry = holder = None
    if form.validate_on_submit():
        try:
            entry, holder = service.register_entry(db.session, current_user, form.document_number.data)
        except DomainError as exc:
            flash(str(exc.message), "error")
            return render_template("accounts/staff_claims.html", form=form), exc.status
    return render_template("accounts/staff_claims.html", form=form, entry=entry, holder=holder,
                           release=ReleaseForm(formdata=None)), 422 if form.errors else 200


@bp.post("/staff/register/<int:entry_id>/release")
@login_required
def staff_release(entry_id: int):
    form = ReleaseForm()
    if not form.validate_on_submit():
        raise Invalid(fields={"reason": _("This field is required.")})
    service.release_entry(db.session, current_user, entry_id, form.reason.data)
    flash(_("The register entry is released. Its holder can verify their own account now."), "success")
    return redirect(url_for("accounts.staff_claims"))


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
            # the service keys its problems "line N" (as the CLI prints them); the page says each
            # in a sentence of its language
            errors = [(key.removeprefix("line "), problem) for key, problem in (exc.fields or {}).items()]
            return render_template("accounts/staff_register.html", form=form, errors=errors,
                                   message=exc.message), exc.status
        flash(_("%(n)s register rows imported.", n=count), "success")
        return redirect(url_for("accounts.staff_register"))
    return render_template("accounts/staff_register.html", form=form)


def language_form() -> LanguageForm:
    return LanguageForm(formdata=None)
