from portal.accounts import schemas

_err = {"$ref": "#/components/responses/Error"}
_me = {"description": "The signed-in user",
       "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}}

def _body(model) -> dict:
    return {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}


_msg = {"description": "Accepted", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"message": {"type": "string"}}}}}}
_entry = {"description": "A register entry and the account that claimed it", "content": {"application/json": {
    "schema": {"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "birth_date": {"type": "string", "format": "date"},
        "district": {"type": "string"}, "source": {"enum": ["import", "counter"]},
        "claimed_by": {"type": ["object", "null"]}}}}}}
_public: list = []

PATHS = {
    "/api/v1/accounts/me/password": {
        "put": {"summary": "Change my password (every other session ends)", "tags": ["accounts"],
                "requestBody": _body(schemas.PasswordChangeIn),
                "responses": {"204": {"description": "Changed"}, "401": _err, "422": _err, "429": _err}},
    },
    "/api/v1/accounts/me/email-confirmation": {
        "post": {"summary": "Send a new link to confirm my address", "tags": ["accounts"],
                 "responses": {"202": _msg, "401": _err}},
    },
    "/api/v1/accounts/email-confirmation": {
        "post": {"summary": "Confirm an address with the token of its link", "tags": ["accounts"],
                 "security": _public, "requestBody": _body(schemas.EmailConfirmIn),
                 "responses": {"204": {"description": "Confirmed"}, "422": _err}},
    },
    "/api/v1/accounts/password-reset": {
        "post": {"summary": "Mail a password reset link (202 whatever the address)", "tags": ["accounts"],
                 "security": _public, "requestBody": _body(schemas.EmailIn),
                 "responses": {"202": _msg, "422": _err, "429": _err}},
    },
    "/api/v1/accounts/password-reset/confirm": {
        "post": {"summary": "Set a new password with a reset link's token (every session and API token ends)",
                 "tags": ["accounts"], "security": _public,
                 "requestBody": _body(schemas.PasswordResetConfirmIn),
                 "responses": {"204": {"description": "Changed"}, "422": _err}},
    },
    "/api/v1/accounts/register/lookup": {
        "post": {"summary": "Staff: the register entry of a document number, and who claimed it",
                 "tags": ["accounts"], "requestBody": _body(schemas.EntryLookupIn),
                 "responses": {"200": _entry, "401": _err, "403": _err, "404": _err, "422": _err}},
    },
    "/api/v1/accounts/register/{entry_id}/release": {
        "post": {"summary": "Staff: release a register entry from the account that claimed it (audited)",
                 "tags": ["accounts"],
                 "parameters": [{"name": "entry_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                 "requestBody": _body(schemas.ReleaseIn),
                 "responses": {"200": _entry, "401": _err, "403": _err, "404": _err, "422": _err}},
    },
    "/api/v1/accounts/me": {
        "get": {"summary": "The signed-in user", "tags": ["accounts"],
                "responses": {"200": _me, "401": _err}},
        "patch": {"summary": "Update name, phone or language", "tags": ["accounts"],
                  "requestBody": {"content": {"application/json": {"schema": {
                      "type": "object", "properties": {"name": {"type": "string"},
                                                       "phone": {"type": "string"},
                                                       "locale": {"enum": ["ko", "en", "zh"]}}}}}},
                  "responses": {"200": _me, "401": _err, "422": _err}},
    },
    "/api/v1/accounts/me/verification": {
        "post": {"summary": "Verify residency against the resident register", "tags": ["accounts"],
                 "requestBody": {"content": {"application/json": {"schema": {
                     "type": "object", "required": ["name", "birth_date", "district", "document_number"],
                     "properties": {"name": {"type": "string"}, "birth_date": {"type": "string", "format": "date"},
                                    "district": {"type": "string"}, "document_number": {"type": "string"}}}}}},
                 "responses": {"200": _me, "401": _err, "409": _err, "422": _err, "429": _err}},
    },
    "/api/v1/accounts/tokens": {
        "get": {"summary": "My personal API tokens", "tags": ["accounts"],
                "responses": {"200": {"description": "Token list (no secrets)"}, "401": _err}},
        "post": {"summary": "Create a personal API token (shown once)", "tags": ["accounts"],
                 "responses": {"201": {"description": "{id, name, token}"}, "401": _err, "422": _err}},
    },
    "/api/v1/accounts/tokens/{token_id}": {
        "delete": {"summary": "Revoke one of my tokens", "tags": ["accounts"],
                   "parameters": [{"name": "token_id", "in": "path", "required": True,
                                   "schema": {"type": "integer"}}],
                   "responses": {"204": {"description": "Revoked"}, "401": _err, "404": _err}},
    },
    "/api/v1/accounts/users/{user_id}/verification": {
        "post": {"summary": "Staff: verify a resident by hand (audited)", "tags": ["accounts"],
                 "parameters": [{"name": "user_id", "in": "path", "required": True,
                                 "schema": {"type": "integer"}}],
                 "requestBody": _body(schemas.ManualVerificationIn),
                 "responses": {"200": _me, "401": _err, "403": _err, "404": _err, "409": _err,
                               "422": _err}},
    },
}
