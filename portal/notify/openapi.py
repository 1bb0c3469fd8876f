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

_message = {"type": "object", "properties": {
    "id": {"type": "integer"}, "user_id": {"type": ["integer", "null"]}, "channel": _channel,
    "locale": {"enum": ["ko", "en", "zh"]}, "template": {"type": "string"},
    "idempotency_key": {"type": "string"}, "status": _status, "attempts": {"type": "integer"},
    "last_error": {"type": ["string", "null"], "description": "machine code, e.g. smtp_550, http_503, opted_out"},
    "created_at": _ts, "queued_at": _ts, "sending_at": _ts, "delivered_at": _ts, "failed_at": _ts,
    "next_attempt_at": _ts}}
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
        "get": {"summary": "Officers: all notices, newest first", "tags": _tags,
                "parameters": [{"name": "status", "in": "query", "schema": _status},
                               {"name": "channel", "in": "query", "schema": _channel},
                               _cursor, _limit],
                "responses": {"200": _json("A page of notices", _page(_message)), "401": _err,
                              "403": _err, "422": _err}},
    },
    "/api/v1/notify/messages/{message_id}/retry": {
        "post": {"summary": "Officers: queue a failed notice again (attempts start over)",
                 "tags": _tags, "parameters": _id,
                 "responses": {"200": _json("The notice, queued", _message), "401": _err,
                               "403": _err, "404": _err,
                               "409": {"$ref": "#/components/responses/Error",
                                       "description": "not_retryable: the notice has not failed"}}},
    },
    "/api/v1/notify/stats": {
        "get": {"summary": "Officers: queue depth by status and channel, delivery rate, failures",
                "tags": _tags,
                "responses": {"200": _json("Statistics", {"type": "object", "properties": {
                    "depth": {"type": "object"}, "totals": {"type": "object"},
                    "delivery_rate": {"type": ["number", "null"]},
                    "failures": {"type": "array"}, "recent_failures": {"type": "array", "items": _message}}}),
                    "401": _err, "403": _err}},
    },
}
