"""Accounts API.

GET    /api/v1/accounts/me
PATCH  /api/v1/accounts/me                      {name?, phone?, locale?}
POST   /api/v1/accounts/me/verification         {name, birth_date, district, document_number}
GET    /api/v1/accounts/tokens
POST   /api/v1/accounts/tokens                  {name?} -> 201 {id, token}
DELETE /api/v1/accounts/tokens/<id>             -> 204
POST   /api/v1/accounts/users/<id>/verification {reason} (staff) -> 200
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, jsonify
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from portal.accounts import service
from portal.api import api_login_required, iso, parse_body
from portal.extensions import db

bp = Blueprint("accounts_api", __name__)


def user_json(user) -> dict:
    return {
        "id": user.id, "email": user.email, "name": user.name, "locale": user.locale,
        "roles": sorted(user.roles), "verified": user.is_verified,
        "verified_at": iso(user.verified_at), "district": user.district,
    }


class ProfilePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=30)
    locale: str | None = None


class VerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    birth_date: date
    district: str = Field(min_length=1, max_length=50)
    document_number: str = Field(min_length=6, max_length=32)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=100)


class ManualVerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200)


@bp.get("/me")
@api_login_required
def me():
    return jsonify(user_json(current_user))


@bp.patch("/me")
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
    return jsonify(user_json(current_user))


@bp.post("/me/verification")
@api_login_required
def verify_me():
    body = parse_body(VerificationIn)
    user = service.verify_against_register(db.session, current_user, name=body.name,
                                           birth_date=body.birth_date, district=body.district,
                                           document_number=body.document_number)
    return jsonify(user_json(user))


@bp.get("/tokens")
@api_login_required
def list_tokens():
    items = [{"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": iso(t.created_at),
              "last_used_at": iso(t.last_used_at), "revoked": t.revoked_at is not None}
             for t in service.list_tokens(db.session, current_user)]
    return jsonify({"items": items, "next_cursor": None})


@bp.post("/tokens")
@api_login_required
def create_token():
    body = parse_body(TokenIn)
    plain, row = service.create_token(db.session, current_user, body.name)
    return jsonify({"id": row.id, "name": row.name, "token": plain}), 201


@bp.delete("/tokens/<int:token_id>")
@api_login_required
def revoke_token(token_id: int):
    service.revoke_token(db.session, current_user, token_id)
    return "", 204


@bp.post("/users/<int:user_id>/verification")
@api_login_required
def verify_user(user_id: int):
    body = parse_body(ManualVerificationIn)
    user = service.verify_manually(db.session, current_user, user_id, reason=body.reason)
    return jsonify(user_json(user))


