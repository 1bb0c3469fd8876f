_err = {"$ref": "#/components/responses/Error"}
_me = {"description": "The signed-in user",
       "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}}

PATHS = {
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
                 "responses": {"200": _me, "401": _err, "422": _err}},
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
                 "requestBody": {"content": {"application/json": {"schema": {
                     "type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}}}},
                 "responses": {"200": _me, "401": _err, "403": _err, "404": _err, "409": _err,
                               "422": _err}},
    },
}
