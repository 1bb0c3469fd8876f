"""OpenAPI paths of the welfare API (merged into /api/v1/openapi.json)."""

from welfare import limits

_err = {"$ref": "#/components/responses/Error"}
_tags = ["welfare"]
_code = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}]
_lang = {"name": "lang", "in": "query", "required": False, "schema": {"enum": ["ko", "en", "zh"]}}

_translations = {"type": "object", "properties": {"ko": {"type": "string"}, "en": {"type": "string"},
                                                  "zh": {"type": "string"}}}
_rule = {"type": "object", "description": (
    "Eligibility rule as data: exactly one key per object. all/any: [rule, ...]; not: rule; "
    "age, income_percentile, household_size, disability_grade: {min?, max?} (inclusive; "
    "disability_grade may also be true/false); lives_alone: bool; has_children_under: years; "
    "district: {in: [names]}. Malformed rules answer 422 invalid_rule with fields by path, "
    "e.g. rules.all[1].age.min.")}
_programme = {"type": "object", "properties": {
    "code": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"},
    "how_to_apply": {"type": "string"}, "lang": {"type": "string", "description": "language served"},
    "active_from": {"type": ["string", "null"], "format": "date"},
    "active_until": {"type": ["string", "null"], "format": "date"},
    "channels": {"type": "array", "items": {"enum": ["app", "email", "sms", "voice"]}},
    "callback_phone": {"type": ["string", "null"]}, "rules": _rule,
    "translations": {"type": "object", "properties": {"name": _translations, "description": _translations,
                                                      "how_to_apply": _translations}}}}
_day = {"type": ["string", "null"], "format": "date",
        "description": f"from {limits.CALENDAR[0]} to {limits.CALENDAR[1]}"}
_programme_in = {"type": "object", "required": ["code", "name", "rules"], "properties": {
    "code": {"type": "string", "pattern": limits.PROGRAMME_CODE_PATTERN},
    "name": _translations, "description": _translations, "how_to_apply": _translations,
    "active_from": _day, "active_until": _day,
    "channels": {"type": "array", "items": {"enum": ["app", "email", "sms", "voice"]},
                 "description": "in order of preference; the first is used for notices; empty = the resident's preferred channel"},
    "callback_phone": {"type": ["string", "null"]}, "rules": _rule}}
_profile = {"type": "object", "properties": {
    "user_id": {"type": "integer"}, "birth_date": {"type": ["string", "null"], "format": "date"},
    "income_percentile": {"type": ["integer", "null"], "minimum": limits.INCOME_PERCENTILE[0],
                          "maximum": limits.INCOME_PERCENTILE[1]},
    "household_size": {"type": "integer", "minimum": limits.HOUSEHOLD_SIZE[0]}, "lives_alone": {"type": "boolean"},
    "disability_grade": {"type": ["integer", "null"], "minimum": limits.DISABILITY_GRADE[0],
                         "maximum": limits.DISABILITY_GRADE[1]},
    "youngest_child_birth_date": {"type": ["string", "null"], "format": "date"},
    "district": {"type": ["string", "null"]}, "notices_opt_out": {"type": "boolean"},
    "consent_at": {"type": ["string", "null"], "format": "date-time"},
    "source": {"enum": ["import", "resident"]}, "updated_at": {"type": "string", "format": "date-time"}}}
_eligibility = {"type": "object", "properties": {"items": {"type": "array", "items": {
    "type": "object", "properties": {"programme": _programme, "eligible": {"type": "boolean"},
                                     "explanation": {"type": "string",
                                                     "example": "eligible because: age 71 ≥ 65, lives alone"}}}}}}


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PATHS = {
    "/api/v1/welfare/programmes": {
        "get": {"summary": "Active programmes (public); officers may add ?all=1 for ended ones", "tags": _tags,
                "parameters": [_lang, {"name": "all", "in": "query", "schema": {"type": "string"}},
                               {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                               {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": _json({"type": "object", "properties": {
                    "items": {"type": "array", "items": _programme},
                    "next_cursor": {"type": ["string", "null"]}}}, "Programmes"), "401": _err,
                    "403": _err, "422": _err}},
        "post": {"summary": "Officer: create a programme (audited)", "tags": _tags,
                 "requestBody": {"content": {"application/json": {"schema": _programme_in}}},
                 "responses": {"201": _json(_programme, "Created"), "401": _err, "403": _err,
                               "409": _err, "422": _err}},
    },
    "/api/v1/welfare/programmes/{code}": {
        "get": {"summary": "One programme (inactive ones for officers only)", "tags": _tags,
                "parameters": [*_code, _lang],
                "responses": {"200": _json(_programme, "Programme"), "404": _err}},
        "patch": {"summary": "Officer: change a programme (audited)", "tags": _tags, "parameters": _code,
                  "requestBody": {"content": {"application/json": {"schema": {
                      **_programme_in, "required": []}}}},
                  "responses": {"200": _json(_programme, "Programme"), "401": _err, "403": _err,
                                "404": _err, "422": _err,
                                "409": {"$ref": "#/components/responses/Error",
                                        "description": "programme_code_taken: another programme has the "
                                                       "code; programme_code_fixed: residents were told "
                                                       "about this programme, so its code cannot change"}}},
        "delete": {"summary": "Officer: delete a programme nobody was told about", "tags": _tags,
                   "parameters": _code,
                   "responses": {"204": {"description": "Deleted"}, "401": _err, "403": _err,
                                 "404": _err, "409": _err}},
    },
    "/api/v1/welfare/screener": {
        "post": {"summary": "Anonymous self-check against every active programme; nothing is stored",
                 "tags": _tags,
                 "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                     "age": {"type": "integer"}, "income_percentile": {"type": "integer"},
                     "household_size": {"type": "integer"}, "lives_alone": {"type": "boolean"},
                     "disability_grade": {"type": "integer"}, "youngest_child_age": {"type": "integer"},
                     "district": {"type": "string"}}}}}},
                 "responses": {"200": _json(_eligibility, "Programmes these answers qualify for"),
                               "422": _err}},
    },
    "/api/v1/welfare/eligibility/me": {
        "get": {"summary": "The signed-in resident's eligible programmes, with the explanation", "tags": _tags,
                "parameters": [_lang],
                "responses": {"200": _json({**_eligibility, "properties": {
                    **_eligibility["properties"], "has_profile": {"type": "boolean"}}}, "Eligibility"),
                    "401": _err}},
    },
    "/api/v1/welfare/profile/me": {
        "get": {"summary": "My welfare profile", "tags": _tags,
                "responses": {"200": _json(_profile, "Profile"), "401": _err, "404": _err}},
        "put": {"summary": "Write my welfare profile (consent: true required)", "tags": _tags,
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "required": ["consent"], "properties": {
                        "consent": {"type": "boolean"},
                        **{k: v for k, v in _profile["properties"].items()
                           if k not in ("user_id", "consent_at", "source", "updated_at")}}}}}},
                "responses": {"200": _json(_profile, "Profile"), "401": _err, "422": _err}},
        "delete": {"summary": "Withdraw consent: delete the profile I gave", "tags": _tags,
                   "responses": {"204": {"description": "Deleted (or nothing to delete)"}, "401": _err}},
    },
    "/api/v1/welfare/profiles/lookup": {
        "post": {"summary": "Officer: a resident's profile, by user id or email (every look is audited)",
                 "description": "A POST although it reads: the look writes its audit row, and whom an "
                                "officer looks up stays out of URLs (and so of the access log).",
                 "tags": _tags,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "additionalProperties": False,
                     "description": "exactly one of user_id and email",
                     "properties": {"user_id": {"type": "integer", "minimum": 1, "maximum": limits.USER_ID_MAX},
                                    "email": {"type": "string", "maxLength": limits.EMAIL_MAX}}}}}},
                 "responses": {"200": _json(_profile, "Profile"), "401": _err, "403": _err,
                               "404": {"$ref": "#/components/responses/Error",
                                       "description": "no_user: no account has this email; "
                                                      "no_profile: the resident has no profile"},
                               "422": _err}},
    },
    "/api/v1/welfare/scans": {
        "post": {"summary": "Officer: run the eligibility scan now (201 with counts) or in the background "
                            "({\"async\": true}: 202 with the task id)", "tags": _tags,
                 "requestBody": {"required": False, "content": {"application/json": {"schema": {
                     "type": "object", "properties": {"async": {"type": "boolean"}, "date": _day}}}}},
                 "responses": {
                     "201": _json({"type": "object", "properties": {
                         "status": {"const": "done"}, "programmes": {"type": "integer"},
                         "batches": {"type": "integer"}, "new_notices": {"type": "integer"},
                         "queued_messages": {"type": "integer"},
                         "by_programme": {"type": "object", "additionalProperties": {"type": "integer"}}}},
                         "Scan finished"),
                     "202": _json({"type": "object", "properties": {"status": {"const": "queued"},
                                                                   "task_id": {"type": "string"}}},
                                  "Scan queued"),
                     "401": _err, "403": _err, "422": _err}},
    },
    "/api/v1/welfare/reach": {
        "get": {"summary": "Officer: notices and delivered messages per programme", "tags": _tags,
                "responses": {"200": _json({"type": "object", "properties": {"items": {"type": "array", "items": {
                    "type": "object", "properties": {"programme": {"type": "string"},
                                                     "notices": {"type": "integer"},
                                                     "delivered": {"type": ["integer", "null"]},
                                                     "updated_at": {"type": ["string", "null"],
                                                                    "format": "date-time"}}}}}},
                    "Reach"), "401": _err, "403": _err}},
    },
}
