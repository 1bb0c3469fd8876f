"""The notification queue's JSON API under /api/v1/notify: a resident's inbox and preferences,
the officers' message list, retry and statistics (whom a notice was for: welfare officers only)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from portal.api import api_login_required, parse_body, parse_limit
from portal.extensions import db

from . import service
from .limits import INBOX_PAGE, MESSAGES_PAGE
from .schemas import PreferencesIn, inbox_json, message_json, page_json, stats_json

bp = Blueprint("notify_api", __name__)


# -- residents -------------------------------------------------------------------------------

@bp.get("/inbox")
@api_login_required
def inbox():
    rows, next_cursor = service.inbox(db.session, current_user, cursor=request.args.get("cursor"),
                                      limit=parse_limit(INBOX_PAGE))
    return jsonify(page_json([inbox_json(m, service.rendered(m)) for m in rows], next_cursor))


@bp.post("/inbox/<int:message_id>/read")
@api_login_required
def mark_read(message_id: int):
    message = service.mark_read(db.session, current_user, message_id)
    return jsonify(inbox_json(message, service.rendered(message)))


@bp.get("/preferences")
@api_login_required
def get_preferences():
    return jsonify(service.get_preferences(db.session, current_user))


@bp.put("/preferences")
@api_login_required
def put_preferences():
    body = parse_body(PreferencesIn)
    prefs = service.update_preferences(db.session, current_user,
                                       preferred_channel=body.preferred_channel,
                                       opted_out=list(body.opted_out))
    return jsonify(prefs)


# -- officers --------------------------------------------------------------------------------

@bp.get("/messages")
@api_login_required
def messages():
    rows, next_cursor = service.list_messages(
        db.session, current_user, status=request.args.get("status") or None,
        channel=request.args.get("channel") or None, cursor=request.args.get("cursor"),
        limit=parse_limit(MESSAGES_PAGE))
    full = service.sees_recipients(current_user)
    return jsonify(page_json([message_json(m, full) for m in rows], next_cursor))


@bp.post("/messages/<int:message_id>/retry")
@api_login_required
def retry(message_id: int):
    message = service.retry(db.session, current_user, message_id)
    return jsonify(message_json(message, service.sees_recipients(current_user)))


@bp.get("/stats")
@api_login_required
def stats():
    return jsonify(stats_json(service.stats(db.session, current_user), service.sees_recipients(current_user)))
