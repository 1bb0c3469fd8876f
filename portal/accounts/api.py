"""Accounts API: the signed-in user, residency verification, API tokens, password reset,
address confirmation; staff: manual verification and register claims."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify
from flask_babel import gettext as _
from flask_login import current_user, login_user

from portal.accounts import service
from portal.accounts.schemas import (
    EmailConfirmIn,
    EmailIn,
    EntryLookupIn,
    EntryOut,
    ManualVerificationIn,
    MessageOut,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    ProfilePatch,
    ReleaseIn,
    TokenCreatedOut,
    TokenIn,
    TokenListOut,
    UserOut,
    VerificationIn,
    entry_out,
    token_out,
    user_out,
)
from portal.accounts.views import verify_limits
from portal.api import api_login_required, parse_body
from portal.apidoc import doc
from portal.extensions import db, limiter

bp = Blueprint("accounts_api", __name__)


@bp.get("/me")
@doc(answers={200: UserOut}, tags=("accounts",))
@api_login_required
def me():
    return jsonify(user_out(current_user))


@bp.patch("/me")
@doc(body=ProfilePatch, answers={200: UserOut}, tags=("accounts",))
@api_login_required
def patch_me():
    body = parse_body(ProfilePatch)
    if body.locale is not None:
        service.set_locale(db.session, current_user, body.locale)
    if body.name is not None or body.phone is not None:
        service.update_profile(db.session, current_user,
                               name=body.name if body.name is not None else current_user.name,
                               phone=body.phone if body.phone is not None else current_user.phone,
                               birth_date=current_user.birth_date, district=current_user.district)
    return jsonify(user_out(current_user))


@bp.post("/me/verification")
@doc(body=VerificationIn, answers={200: UserOut, 409: "the register entry is claimed by another account (already_claimed)"}, tags=("accounts",))
@api_login_required
@verify_limits
def verify_me():
    body = parse_body(VerificationIn)
    user = service.verify_against_register(db.session, current_user, name=body.name,
                                           birth_date=body.birth_date, district=body.district,
                                           document_number=body.document_number)
    return jsonify(user_out(user))


@bp.put("/me/password")
@doc(body=PasswordChangeIn, answers={204: None, 403: "wrong_password (the current password)"}, tags=("accounts",))
@api_login_required
def change_password():
    body = parse_body(PasswordChangeIn)
    user = service.change_password(db.session, current_user._get_current_object(), body.current_password,
                                   body.new_password)
    if not g.get("bearer"):
        login_user(user)  # a browser session goes on; every other session has ended
    return "", 204


@bp.post("/me/email-confirmation")
@doc(answers={202: MessageOut}, tags=("accounts",))
@api_login_required
def resend_confirmation():
    service.resend_confirmation(db.session, current_user)
    return jsonify({"message": _("If your address is not confirmed yet, a new link is on its way to "
                                 "%(email)s.", email=current_user.email)}), 202


@bp.post("/email-confirmation")
@doc(body=EmailConfirmIn, answers={204: None, 410: "bad_link (unknown, used or expired)"}, public=True,
     tags=("accounts",))
def confirm_email():
    body = parse_body(EmailConfirmIn)
    service.confirm_email(db.session, body.token)
    return "", 204


@bp.post("/password-reset")
@doc(body=EmailIn, answers={202: MessageOut}, public=True, tags=("accounts",))
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
def password_reset():
    """202 whatever the address: whether it has an account is nobody's business."""
    body = parse_body(EmailIn)
    service.request_password_reset(db.session, body.email)
    return jsonify({"message": _("If an account uses this address, a link to choose a new password "
                                 "is on its way.")}), 202


@bp.post("/password-reset/confirm")
@doc(body=PasswordResetConfirmIn, answers={204: None, 410: "bad_link (unknown, used or expired)"},
     public=True, tags=("accounts",))
def password_reset_confirm():
    body = parse_body(PasswordResetConfirmIn)
    service.reset_password(db.session, body.token, body.password)
    return "", 204


@bp.get("/tokens")
@doc(answers={200: TokenListOut}, tags=("accounts",))
@api_login_required
def list_tokens():
    items = [token_out(t) for t in service.list_tokens(db.session, current_user)]
    return jsonify({"items": items, "next_cursor": None})


@bp.post("/tokens")
@doc(body=TokenIn, answers={201: TokenCreatedOut}, tags=("accounts",))
@api_login_required
def create_token():
    body = parse_body(TokenIn)
    plain, row = service.create_token(db.session, current_user, body.name)
    return jsonify({"id": row.id, "name": row.name, "token": plain}), 201


@bp.delete("/tokens/<int:token_id>")
@doc(answers={204: None}, tags=("accounts",))
@api_login_required
def revoke_token(token_id: int):
    service.revoke_token(db.session, current_user, token_id)
    return "", 204


@bp.post("/users/<int:user_id>/verification")
@doc(body=ManualVerificationIn, answers={200: UserOut, 409: "already verified, or the entry is claimed"}, tags=("accounts",))
@api_login_required
def verify_user(user_id: int):
    body = parse_body(ManualVerificationIn)
    user = service.verify_manually(db.session, current_user, user_id, reason=body.reason, name=body.name,
                                   birth_date=body.birth_date, district=body.district,
                                   document_number=body.document_number)
    return jsonify(user_out(user))


@bp.post("/register/lookup")
@doc(body=EntryLookupIn, answers={200: EntryOut}, tags=("accounts",))
@api_login_required
def register_lookup():
    """Staff: the register entry of a document number and who claimed it (a POST, so the
    number never lands in a URL or an access log)."""
    body = parse_body(EntryLookupIn)
    entry, holder = service.register_entry(db.session, current_user, body.document_number)
    return jsonify(entry_out(entry, holder))


@bp.post("/register/<int:entry_id>/release")
@doc(body=ReleaseIn, answers={200: EntryOut}, tags=("accounts",))
@api_login_required
def register_release(entry_id: int):
    body = parse_body(ReleaseIn)
    entry = service.release_entry(db.session, current_user, entry_id, body.reason)
    return jsonify(entry_out(entry, None))
