"""OpenAPI paths of /api/v1/notify (merged into /api/v1/openapi.json)."""

_err = {"$ref": "#/components/responses/Error"}
_tags = ["notify"]
_id = [{"name": "message_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_cursor = {"name": "cursor", "in": "query", "schema": {"type": "string"},
           "description": "next_cursor of the previous page"}
_limit = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}
_channel = {"enum": ["app", "email", "sms", "voice"]}
_status = {"enum": ["queued", "sending", "delivered", "temporary_failure", "permanent_failure"]}
_ts = {"type": ["string", "null"], "format": "date-time"}

_summary_props = {
    "id": {"type": "integer"}, "channel": _channel,
    "family": {"type": "string", "description": "the service that sent it: accounts, proposals, tourism, welfare, ..."},
    "status": _status, "attempts": {"type": "integer"},
    "last_error": {"type": ["string", "null"], "description": "machine code, e.g. smtp_550, http_503, opted_out"},
    "created_at": _ts, "queued_at": _ts, "sending_at": _ts, "delivered_at": _ts, "failed_at": _ts,
    "next_attempt_at": _ts}
_summary = {"type": "object", "additionalProperties": False, "properties": _summary_props,
            "description": "A notice as staff outside welfare see it: no recipient, template or key"}
_full = {"type": "object", "additionalProperties": False, "properties": {
    **_summary_props, "user_id": {"type": ["integer", "null"]}, "locale": {"enum": ["ko", "en", "zh"]},
    "template": {"type": "string"}, "idempotency_key": {"type": "string"}},
    "description": "A notice as welfare officers and admin see it"}
_message = {"oneOf": [_full, _summary]}
_roles = ("Welfare officers and admin get each notice's recipient (user_id), template and "
          "idempotency key; other staff only what the queue did with it (family, status, failure code).")
_inbox_item = {"type": "object", "properties": {
    "id": {"type": "integer"}, "subject": {"type": "string"}, "body": {"type": "string"},
    "channel": _channel, "locale": {"enum": ["ko", "en", "zh"]}, "template": {"type": "string"},
    "created_at": _ts, "delivered_at": _ts, "read_at": _ts, "read": {"type": "boolean"}}}
_prefs = {"type": "object", "properties": {
    "preferred_channel": {"anyOf": [_channel, {"type": "null"}]},
    "opted_out": {"type": "array", "items": {"enum": ["email", "sms", "voice"]}}}}


def _json(description, schema):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _page(item):
    return {"type": "object", "properties": {"items": {"type": "array", "items": item},
                                             "next_cursor": {"type": ["string", "null"]}}}


PATHS = {
    "/api/v1/notify/inbox": {
        "get": {"summary": "My delivered notices, newest first", "tags": _tags,
                "parameters": [_cursor, _limit],
                "responses": {"200": _json("A page of notices", _page(_inbox_item)), "401": _err,
                              "422": _err}},
    },
    "/api/v1/notify/inbox/{message_id}/read": {
        "post": {"summary": "Mark one of my notices read", "tags": _tags, "parameters": _id,
                 "responses": {"200": _json("The notice", _inbox_item), "401": _err, "404": _err}},
    },
    "/api/v1/notify/preferences": {
        "get": {"summary": "My preferred channel and the channels I switched off", "tags": _tags,
                "responses": {"200": _json("Preferences", _prefs), "401": _err}},
        "put": {"summary": "Set my preferred channel and opt-outs (the portal inbox stays on)",
                "tags": _tags,
                "requestBody": {"content": {"application/json": {"schema": _prefs}}},
                "responses": {"200": _json("Preferences", _prefs), "401": _err, "422": _err}},
    },
    "/api/v1/notify/messages": {
        "get": {"summary": "Officers and staff: all notices, newest first", "tags": _tags,
                "description": _roles + " A read: it writes nothing.",
                "parameters": [{"name": "status", "in": "query", "schema": _status},
                               {"name": "channel", "in": "query", "schema": _channel},
                               _cursor, _limit],
                "responses": {"200": _json("A page of notices", _page(_message)), "401": _err,
                              "403": _err, "422": _err}},
    },
    "/api/v1/notify/messages/{message_id}/retry": {
        "post": {"summary": "Officers and staff: queue a failed notice again (attempts start over)",
                 "tags": _tags, "parameters": _id, "description": _roles,
                 "responses": {"200": _json("The notice, queued", _message), "401": _err,
                               "403": _err, "404": _err,
                               "409": {"$ref": "#/components/responses/Error",
                                       "description": "not_retryable: the notice has not failed; "
                                                      "sealed_gone: it failed for good and its one-time "
                                                      "link was erased with it"}}},
    },
    "/api/v1/notify/stats": {
        "get": {"summary": "Officers and staff: queue depth by status and channel, delivery rate, "
                           "failures by status, channel, family and reason",
                "tags": _tags, "description": _roles,
                "responses": {"200": _json("Statistics", {"type": "object", "properties": {
                    "depth": {"type": "object"}, "totals": {"type": "object"},
                    "delivery_rate": {"type": ["number", "null"]},
                    "failures": {"type": "array", "items": {"type": "object", "properties": {
                        "status": _status, "channel": _channel, "family": {"type": "string"},
                        "reason": {"type": "string"}, "count": {"type": "integer"}}}},
                    "recent_failures": {"type": "array", "items": _message}}}),
                    "401": _err, "403": _err}},
    },
}
