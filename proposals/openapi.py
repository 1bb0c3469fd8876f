"""OpenAPI 3.1 paths of /api/v1/proposals (merged into /api/v1/openapi.json by the shell)."""

from __future__ import annotations

from portal.inputs import MAX_ID

from .limits import (
    BODY_MAX,
    BODY_MIN,
    COMMENT_MAX,
    REASON_MAX,
    RECEIPT_LENGTH,
    TITLE_MAX,
    TITLE_MIN,
    VOTE_DAYS_MAX,
)
from .vocabulary import CATEGORIES, CHOICES, SORTS, STATUSES

_ID = {"name": "proposal_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_ERR = {"description": 'Error: {"error": {"code", "message", "fields"?}}'}

_PROPOSAL = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "district": {"type": ["string", "null"]},
        "status": {"type": "string", "enum": list(STATUSES)},
        "endorsement_count": {"type": "integer"},
        "endorse_until": {"type": "string", "format": "date-time"},
        "vote_ends_at": {"type": ["string", "null"], "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
        "department": {"type": ["string", "null"]},
        "merged_into": {"type": ["integer", "null"]},
    },
}
_DETAIL = {
    "allOf": [_PROPOSAL, {"type": "object", "properties": {
        "body": {"type": "string"},
        "location": {"type": ["string", "null"]},
        "answer": {"type": ["string", "null"]},
        "answer_lang": {"type": ["string", "null"]},
        "tally": {"type": ["object", "null"], "description": "null until the ballots are counted (every "
                                                             "minute, after the vote ends)",
                  "properties": {"for": {"type": "integer"}, "against": {"type": "integer"}}},
        "history": {"type": "array", "items": {"type": "object"},
                    "description": "changes of status; the note of a hiding (its reason) only for staff"},
    }}],
}
_RECEIPT = {"type": "object", "required": ["receipt"], "properties": {
    "receipt": {"type": "string", "pattern": f"^[0-9a-f]{{{RECEIPT_LENGTH}}}$",
                "description": "SHA-256 (hex) of the sealed ballot; listed once the ballots are counted"}}}
_RECEIPTS = {"type": "object", "properties": {"items": {"type": "array", "items": _RECEIPT["properties"]["receipt"]},
                                              "next_cursor": {"type": ["string", "null"]}}}
_LIST = {"type": "object", "properties": {"items": {"type": "array", "items": _PROPOSAL},
                                          "next_cursor": {"type": ["string", "null"]}}}


def _json(schema):
    return {"content": {"application/json": {"schema": schema}}}


def _ok(desc, schema=None):
    return {"description": desc, **(_json(schema) if schema else {})}


_errors = {str(code): _ERR for code in (401, 403, 404, 409, 422)}

PATHS = {
    "/api/v1/proposals": {
        "get": {
            "summary": "List, search, filter and sort proposals",
            "tags": ["proposals"],
            "parameters": [
                {"name": n, "in": "query", "schema": {"type": "string"}}
                for n in ("status", "category", "district", "q", "cursor")
            ] + [
                {"name": "sort", "in": "query", "schema": {"type": "string", "enum": list(SORTS)}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
            ],
            "responses": {"200": _ok("A page of proposals", _LIST), "422": _ERR},
        },
        "post": {
            "summary": "Submit a proposal (verified residents with a confirmed address; 403 not_verified, "
                       "email_not_confirmed)",
            "tags": ["proposals"],
            "requestBody": _json({"type": "object", "required": ["title", "body", "category"], "properties": {
                "title": {"type": "string", "minLength": TITLE_MIN, "maxLength": TITLE_MAX},
                "body": {"type": "string", "minLength": BODY_MIN, "maxLength": BODY_MAX},
                "category": _PROPOSAL["properties"]["category"],
                "district": {"type": "string"}, "location": {"type": "string"}}}),
            "responses": {"201": _ok("Created", _DETAIL), **_errors},
        },
    },
    "/api/v1/proposals/similar": {
        "get": {"summary": "Up to five proposals with similar titles", "tags": ["proposals"],
                "parameters": [{"name": "title", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": _ok("Similar proposals", _LIST)}},
    },
    "/api/v1/proposals/export.csv": {
        "get": {"summary": "Open data: public fields of public proposals as CSV", "tags": ["proposals"],
                "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}}},
    },
    "/api/v1/proposals/triage": {
        "get": {"summary": "Staff: proposals under review, oldest first", "tags": ["proposals"],
                "responses": {"200": _ok("Queue", _LIST), **_errors}},
    },
    "/api/v1/proposals/{proposal_id}": {
        "get": {"summary": "One proposal with its history; tally null until the ballots are counted",
                "tags": ["proposals"], "parameters": [_ID], "responses": {"200": _ok("Proposal", _DETAIL), "404": _ERR}},
    },
    "/api/v1/proposals/{proposal_id}/endorsement": {
        "post": {"summary": "Endorse (verified residents with a confirmed address, not the author)",
                 "tags": ["proposals"],
                 "parameters": [_ID],
                 "responses": {"201": _ok("Endorsed", _PROPOSAL), "200": _ok("Already endorsed", _PROPOSAL),
                               **_errors}},
        "delete": {"summary": "Withdraw an endorsement", "tags": ["proposals"], "parameters": [_ID],
                   "responses": {"204": {"description": "Withdrawn"}, **_errors}},
    },
    "/api/v1/proposals/{proposal_id}/ballot": {
        "post": {"summary": "Cast a secret ballot (verified residents with a confirmed address): the choice "
                            "is sealed with the vote's public key; the answer is its receipt",
                 "tags": ["proposals"], "parameters": [_ID],
                 "requestBody": _json({"type": "object", "required": ["choice"],
                                       "properties": {"choice": {"type": "string", "enum": list(CHOICES)}}}),
                 "responses": {"201": _ok("Sealed and recorded", _RECEIPT), **_errors}},
    },
    "/api/v1/proposals/{proposal_id}/ballots": {
        "get": {"summary": "The receipts of the counted ballots, sorted (409 not_counted before the count, "
                           "not_voting for a proposal never voted on)",
                "tags": ["proposals"],
                "parameters": [_ID, {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                               {"name": "limit", "in": "query",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
                "responses": {"200": _ok("A page of receipts", _RECEIPTS), "404": _ERR, "409": _ERR,
                              "422": _ERR}},
    },
    "/api/v1/proposals/{proposal_id}/transitions": {
        "post": {"summary": "Change status (staff; the author may withdraw)", "tags": ["proposals"],
                 "parameters": [_ID],
                 "requestBody": _json({"type": "object", "required": ["to"], "properties": {
                     "to": _PROPOSAL["properties"]["status"],
                     "answer": {"type": ["string", "object"], "description": "required to accept or reject"},
                     "department": {"type": "string"},
                     "vote_ends_at": {"type": "string", "format": "date-time",
                                      "description": "to put to a vote: with its offset (a time without "
                                                     "one is 422), in the future, within "
                                                     f"{VOTE_DAYS_MAX} days"},
                     "reason": {"type": "string", "description": "required to hide"}}}),
                 "responses": {"200": _ok("Changed", _DETAIL), **_errors}},
    },
    "/api/v1/proposals/{proposal_id}/comments": {
        "get": {"summary": "Comments, oldest first", "tags": ["proposals"], "parameters": [_ID],
                "responses": {"200": _ok("Comments"), "404": _ERR}},
        "post": {"summary": "Comment (verified residents)", "tags": ["proposals"], "parameters": [_ID],
                 "requestBody": _json({"type": "object", "required": ["body"],
                                       "properties": {"body": {"type": "string", "maxLength": COMMENT_MAX}}}),
                 "responses": {"201": _ok("Created"), **_errors}},
    },
    "/api/v1/proposals/{proposal_id}/flags": {
        "post": {"summary": "Report abuse", "tags": ["proposals"], "parameters": [_ID],
                 "requestBody": _json({"type": "object", "required": ["reason"], "properties": {
                     "reason": {"type": "string", "maxLength": REASON_MAX}}}),
                 "responses": {"201": _ok("Reported"), "200": _ok("Already reported"), **_errors}},
    },
    "/api/v1/proposals/{proposal_id}/follow": {
        "put": {"summary": "Follow", "tags": ["proposals"], "parameters": [_ID],
                "responses": {"201": _ok("Following"), "200": _ok("Already following"), **_errors}},
        "delete": {"summary": "Stop following", "tags": ["proposals"], "parameters": [_ID],
                   "responses": {"204": {"description": "Stopped"}, **_errors}},
    },
    "/api/v1/proposals/{proposal_id}/merge": {
        "post": {"summary": "Staff: merge this duplicate into another proposal", "tags": ["proposals"],
                 "parameters": [_ID],
                 "requestBody": _json({"type": "object", "required": ["into"],
                                       "properties": {"into": {"type": "integer", "minimum": 1,
                                                               "maximum": MAX_ID}}}),
                 "responses": {"200": _ok("The target proposal", _DETAIL), **_errors}},
    },
}
