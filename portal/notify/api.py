"""The notification queue's JSON API under /api/v1/notify: a resident's inbox and preferences,
the officers' message list, retry and statistics (whom a notice was for: welfare officers only),
and the events providers report back (signed, no session)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from portal.api import api_login_required, parse_body, parse_query
from portal.apidoc import doc
from portal.extensions import csrf, db, limiter

from . import service
from .errors import UnknownChannel
from .limits import PROVIDER_EVENT_SKEW
from .schemas import (
    InboxItemOut,
    InboxPageOut,
    InboxQuery,
    MessageAnyOut,
    MessagePageOut,
    MessagesQuery,
    PreferencesIn,
    PreferencesOut,
    ProviderEventIn,
    StatsOut,
    inbox_json,
    message_json,
    page_json,
    stats_json,
)
from .service import receipts

bp = Blueprint("notify_api", __name__)

_TAGS = ("notify",)
_OFFICERS_ONLY = "not a welfare officer, staff or admin"
_NOT_IN_INBOX = "message_not_found: no such delivered notice in my inbox (another's is the same)"


# -- residents -------------------------------------------------------------------------------

@bp.get("/inbox")
@doc(query=InboxQuery, answers={200: InboxPageOut}, tags=_TAGS)
@api_login_required
def inbox():
    """My delivered notices, newest first"""
    q = parse_query(InboxQuery)
    rows, next_cursor = service.inbox(db.session, current_user, cursor=q.cursor or None, limit=q.limit)
    return jsonify(page_json([inbox_json(m, service.rendered(m)) for m in rows], next_cursor))


@bp.post("/inbox/<int:message_id>/read")
@doc(answers={200: InboxItemOut, 404: _NOT_IN_INBOX}, tags=_TAGS)
@api_login_required
def mark_read(message_id: int):
    """Mark one of my notices read"""
    message = service.mark_read(db.session, current_user, message_id)
    return jsonify(inbox_json(message, service.rendered(message)))


@bp.get("/preferences")
@doc(answers={200: PreferencesOut}, tags=_TAGS)
@api_login_required
def get_preferences():
    """My preferred channel and the channels I switched off"""
    return jsonify(service.get_preferences(db.session, current_user))


@bp.put("/preferences")
@doc(body=PreferencesIn, answers={200: PreferencesOut, 409: "invalid_preferences: a phone channel, but no phone "
                                                              "number in the profile"}, tags=_TAGS)
@api_login_required
def put_preferences():
    """Set my preferred channel and opt-outs (the portal inbox stays on)

    422 ``invalid_preferences`` also for what the body's shape cannot say: a preferred channel
    that is switched off, or sms and voice without a phone number in the profile."""
    body = parse_body(PreferencesIn)
    prefs = service.update_preferences(db.session, current_user,
                                       preferred_channel=body.preferred_channel,
                                       opted_out=list(body.opted_out))
    return jsonify(prefs)


# -- officers --------------------------------------------------------------------------------

@bp.get("/messages")
@doc(query=MessagesQuery, answers={200: MessagePageOut, 403: _OFFICERS_ONLY}, tags=_TAGS)
@api_login_required
def messages():
    """Officers and staff: all notices, newest first

    Welfare officers and admin get each notice's recipient (user_id), template and idempotency
    key (MessageOut); other staff only what the queue did with it (MessageSummaryOut: family,
    status, failure code). A read: it writes nothing."""
    q = parse_query(MessagesQuery)
    rows, next_cursor = service.list_messages(
        db.session, current_user, status=q.status or None, channel=q.channel or None,
        cursor=q.cursor or None, limit=q.limit)
    full = service.sees_recipients(current_user)
    return jsonify(page_json([message_json(m, full) for m in rows], next_cursor))


@bp.post("/messages/<int:message_id>/retry")
@doc(answers={200: MessageAnyOut, 403: _OFFICERS_ONLY,
              409: "not_retryable: the notice has not failed; sealed_gone: it failed for good and "
                   "its one-time link was erased with it"}, tags=_TAGS)
@api_login_required
def retry(message_id: int):
    """Officers and staff: queue a failed notice again (attempts start over)

    Welfare officers and admin get the notice as MessageOut, other staff as MessageSummaryOut."""
    message = service.retry(db.session, current_user, message_id)
    return jsonify(message_json(message, service.sees_recipients(current_user)))


@bp.get("/stats")
@doc(answers={200: StatsOut, 403: _OFFICERS_ONLY}, tags=_TAGS)
@api_login_required
def stats():
    """Officers and staff: queue depth by status and channel, delivery rate, failures by status,
    channel, family and reason

    The recent failures as on the message list: MessageOut for welfare officers and admin,
    MessageSummaryOut for other staff."""
    return jsonify(stats_json(service.stats(db.session, current_user), service.sees_recipients(current_user)))



# -- providers -------------------------------------------------------------------------------

def _signed_by_provider(operation: dict) -> dict:
    # No session and no personal token: the provider signs each event with the channel's secret.
    operation["security"] = [{"providerSignature": []}]
    operation.setdefault("parameters", []).append({
        "name": receipts.TIMESTAMP_HEADER, "in": "header", "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
        "description": f"Unix seconds when the provider signed the event; more than {PROVIDER_EVENT_SKEW} "
                       "seconds from the portal's clock (either way) is refused (401)"})
    for parameter in operation["parameters"]:
        if parameter["in"] == "path" and parameter["name"] == "channel":
            parameter["schema"] = {"type": "string", "enum": list(receipts.RECEIPT_CHANNELS)}
    return operation


@bp.post("/providers/<channel>/events")
@doc(body=ProviderEventIn,
     answers={204: None,
              401: "bad_signature: no <CHANNEL>_PROVIDER_SECRET set, no or a wrong X-Provider-Signature, or an "
                   "X-Provider-Timestamp more than five minutes away",
              404: "unknown_channel: no provider reports on this channel; unknown_reference: no notice of the "
                   "channel has this reference (or its hand-over is not recorded yet: post it again)",
              409: "not_sent_yet: the notice is being handed to the provider again; post the event again "
                   "in a moment (nothing was stored)"},
     amend=_signed_by_provider, tags=_TAGS)
@csrf.exempt
@limiter.exempt  # providers authenticate with their signature and post at the rate notices go out
def provider_event(channel: str):
    """A provider reports what became of a notice it accepted (signed; 204, no body)

    Signed as Stripe signs its webhooks: X-Provider-Signature is ``sha256=`` and the hex
    HMAC-SHA256 of ``<X-Provider-Timestamp>.<raw body>`` under ``<CHANNEL>_PROVIDER_SECRET``
    (e.g. VOICE_PROVIDER_SECRET). A notice is delivered only on its receipt (delivered for SMS
    and e-mail, answered for voice); until then it is sent. The same event posted again, or
    one for a notice already delivered or failed for good, changes nothing (still 204)."""
    if channel not in receipts.RECEIPT_CHANNELS:
        raise UnknownChannel()
    receipts.verify_signature(channel, request.headers.get(receipts.TIMESTAMP_HEADER),
                              request.headers.get(receipts.SIGNATURE_HEADER), request.get_data(cache=True))
    body = parse_body(ProviderEventIn)
    retries = receipts.record_event(db.session, channel, body.reference, body.event, body.at,
                                    body.digits)
    db.session.commit()
    receipts.queue_retries(channel, retries)
    return "", 204
