"""OpenAPI paths of the e-ID API (merged into /api/v1/openapi.json)."""

_err = {"$ref": "#/components/responses/Error"}
_json = "application/json"

_card = {"description": "A card", "content": {_json: {"schema": {
    "type": "object", "required": ["card_id", "status", "expires_at"],
    "properties": {
        "card_id": {"type": "string", "description": "Pseudonymous card id (the token's sub)"},
        "status": {"enum": ["active", "suspended", "revoked", "expired"]},
        "number": {"type": "string", "description": "Masked card number"},
        "issued_at": {"type": "string", "format": "date-time"},
        "expires_at": {"type": "string", "format": "date-time"},
    }}}}}

_reasons = ["ok", "malformed", "bad_signature", "expired", "not_yet_valid", "replayed", "revoked",
            "suspended", "unknown_key", "policy"]

_policy = {"type": "object", "properties": {
    "residents_only": {"type": "boolean"},
    "districts": {"type": "array", "items": {"type": "string"}},
    "min_age": {"type": ["integer", "null"]},
    "max_age": {"type": ["integer", "null"]},
    "resident_discount": {"type": "integer", "description": "percent"},
}}

_lang = {"name": "lang", "in": "query", "required": False, "schema": {"enum": ["ko", "en", "zh"]}}
_cursor = {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}
_limit = {"name": "limit", "in": "query", "required": False,
          "schema": {"type": "integer", "minimum": 1, "maximum": 100}}

PATHS = {
    "/api/v1/eid/cards": {
        "post": {"summary": "Issue my e-ID card (verified residents; at most EID_CARD_ISSUES_PER_DAY "
                            "cards in any 24 hours)", "tags": ["eid"],
                 "responses": {"201": _card, "401": _err, "403": _err, "409": _err,
                               "429": {"description": "card_issue_limit: the day's cards were "
                                                      "issued; Retry-After says when the next can be",
                                       "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                                       "content": {_json: {"schema": {
                                           "$ref": "#/components/schemas/Error"}}}}}},
    },
    "/api/v1/eid/cards/me": {
        "get": {"summary": "My card (the live one, else the latest)", "tags": ["eid"],
                "responses": {"200": _card, "401": _err, "403": _err, "404": _err}},
    },
    "/api/v1/eid/cards/me/token": {
        "post": {"summary": "A short-lived signed token (JWS, EdDSA) for the card's QR code",
                 "tags": ["eid"],
                 "responses": {"200": {"description": "Token", "content": {_json: {"schema": {
                     "type": "object", "required": ["token", "expires_in"],
                     "properties": {"token": {"type": "string"},
                                    "expires_in": {"type": "integer", "maximum": 60}}}}}},
                     "401": _err, "403": _err, "404": _err, "409": _err,
                     "503": {"description": "signing_key_missing: no signing key exists yet "
                                            "(flask --app portal eid ensure-key)",
                             "content": {_json: {"schema": {"$ref": "#/components/schemas/Error"}}}}}},
    },
    "/api/v1/eid/cards/me/revoke": {
        "post": {"summary": "Report my card lost: it is revoked; a new one can be issued",
                 "tags": ["eid"],
                 "responses": {"200": _card, "401": _err, "403": _err, "404": _err, "409": _err}},
    },
    "/api/v1/eid/access-log": {
        "get": {"summary": "Where and when my card was used", "tags": ["eid"],
                "parameters": [_lang, _cursor, _limit],
                "responses": {"200": {"description": "{items: [{at, facility, facility_name, "
                                                     "decision, reason}], next_cursor}"},
                              "401": _err, "403": _err, "422": _err}},
    },
    "/api/v1/eid/facilities": {
        "get": {"summary": "Facilities that accept the card (public)", "tags": ["eid"], "security": [],
                "parameters": [_lang, _cursor, _limit],
                "responses": {"200": {"description": "Facilities", "content": {_json: {"schema": {
                    "type": "object", "properties": {
                        "items": {"type": "array", "items": {"type": "object", "properties": {
                            "code": {"type": "string"}, "name": {"type": "string"},
                            "lang": {"type": "string"}, "names": {"type": "object"},
                            "kind": {"type": "string"},
                            "opening_hours": {"type": "object",
                                              "additionalProperties": {"type": "string"}},
                            "policy": _policy}}},
                        "next_cursor": {"type": ["string", "null"]}}}}}},
                    "422": _err}},
    },
    "/api/v1/eid/keys": {
        "get": {"summary": "Public signing keys (JWKS: kty OKP, crv Ed25519, x, kid)",
                "tags": ["eid"], "security": [],
                "responses": {"200": {"description": "JWKS; retired keys stay until their tokens expired"}}},
    },
    "/api/v1/eid/status": {
        "get": {"summary": "Revoked and suspended card ids, for offline gates (each until 90 s "
                           "after its card's validity ended)", "tags": ["eid"], "security": [],
                "parameters": [{"name": "If-None-Match", "in": "header", "required": False,
                                "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "Status document (ETag header)", "content": {_json: {"schema": {
                        "type": "object", "properties": {
                            "revoked": {"type": "array", "items": {"type": "string"}},
                            "suspended": {"type": "array", "items": {"type": "string"}}}}}}},
                    "304": {"description": "Not modified since the ETag given"}}},
    },
    "/api/v1/eid/verify": {
        "post": {"summary": "A gate checks a presented token (Authorization: Bearer <gate key>)",
                 "tags": ["eid"], "security": [{"bearer": []}],
                 "requestBody": {"required": True, "content": {_json: {"schema": {
                     "type": "object", "required": ["token"], "additionalProperties": False,
                     "properties": {"token": {"type": "string", "maxLength": 2048}}}}}},
                 "responses": {
                     "200": {"description": "Decision (every decision is logged)", "content": {_json: {"schema": {
                         "type": "object", "required": ["decision", "reason"], "properties": {
                             "decision": {"enum": ["granted", "denied"]},
                             "reason": {"enum": _reasons},
                             "message": {"type": "string", "description": "For the gate display"},
                             "facility": {"type": "string"},
                             "card_status": {"type": ["string", "null"]},
                             "resident_discount": {"type": "integer"}}}}}},
                     "400": _err, "401": _err, "413": _err, "422": _err,
                     "503": {"description": "verify_unavailable: the database cannot be reached or "
                                            "did not write the check in time "
                                            "(EID_VERIFY_WAIT_SECONDS); nothing was granted, "
                                            "try again",
                             "content": {_json: {"schema": {"$ref": "#/components/schemas/Error"}}}}}},
    },
}
