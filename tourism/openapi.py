"""OpenAPI paths of /api/v1/tourism (merged into /api/v1/openapi.json)."""

from __future__ import annotations

from portal.idempotency import openapi_operation as _idempotent
from portal.inputs import MAX_ID

from .limits import DAY_MIN, GUEST_NAME_MAX, PHONE_MAX, QUANTITY_MAX, QUANTITY_MIN

_ERR = {"$ref": "#/components/responses/Error"}
_MONEY = {"$ref": "#/components/schemas/Money"}
_LANG = {"name": "lang", "in": "query", "schema": {"enum": ["ko", "en", "zh"]},
         "description": "Language of translated fields; Accept-Language when absent"}
_REF = {"name": "reference", "in": "path", "required": True, "schema": {"type": "string"}}

SLOT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "starts_at": {"type": "string", "format": "date-time"},
    "capacity": {"type": "integer"}, "available": {"type": "integer"}, "price": _MONEY}}

LISTING = {"type": "object", "properties": {
    "id": {"type": "integer"}, "kind": {"enum": ["event", "lodging", "restaurant", "transport"]},
    "area": {"type": "string", "description": "area key, the value for ?area= (same in every language)"},
    "area_name": {"type": "string", "description": "the area's name in the served language "
                  "(falls back like the other texts, then to the key)"},
    "name": {"type": "string"}, "description": {"type": "string"},
    "address": {"type": "string"}, "policy": {"type": "string"},
    "lang": {"enum": ["ko", "en", "zh"], "description": "language actually served"},
    "cancellation": {"type": "object"}, "missing_locales": {"type": "array", "items": {"type": "string"}}}}

BOOKING = {"type": "object", "properties": {
    "reference": {"type": "string"}, "status": {"enum": ["held", "confirmed", "cancelled", "expired"]},
    "hold_expires_at": {"type": ["string", "null"], "format": "date-time"}, "total": _MONEY,
    "quantity": {"type": "integer"}, "locale": {"type": "string"}, "slot": SLOT, "listing": {"type": "object"},
    "refund": _MONEY, "payment": {"type": ["object", "null"]}, "links": {"type": "object"}}}

GUEST = {"type": "object", "required": ["name", "email"], "properties": {
    "name": {"type": "string", "maxLength": GUEST_NAME_MAX}, "email": {"type": "string", "format": "email"},
    "phone": {"type": "string", "maxLength": PHONE_MAX}}}


def _json(schema):
    return {"content": {"application/json": {"schema": schema}}}


def _ok(description, schema, code="200"):
    return {code: {"description": description, **_json(schema)}}


PATHS = {
    "/api/v1/tourism/listings": {"get": {
        "summary": "Search listings", "tags": ["tourism"],
        "parameters": [
            {"name": "kind", "in": "query", "schema": {"enum": ["event", "lodging", "restaurant", "transport"]}},
            {"name": "area", "in": "query", "schema": {"type": "string"},
             "description": "area key as in a listing's `area` (e.g. Dolsan), not its translated name"},
            {"name": "date", "in": "query", "schema": {"type": "string", "format": "date"},
             "description": f"listings with a slot on this day (Asia/Seoul), from {DAY_MIN} to 5 years "
                            "ahead (422 otherwise)"},
            {"name": "q", "in": "query", "schema": {"type": "string"}}, _LANG,
            {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}],
        "responses": {**_ok("Listings", {"type": "object", "properties": {
            "items": {"type": "array", "items": LISTING}, "next_cursor": {"type": ["string", "null"]}}}),
            "422": _ERR}}},
    "/api/v1/tourism/listings/{listing_id}": {"get": {
        "summary": "A listing with its upcoming slots", "tags": ["tourism"],
        "parameters": [{"name": "listing_id", "in": "path", "required": True, "schema": {"type": "integer"}}, _LANG],
        "responses": {**_ok("Listing", {"allOf": [LISTING, {"type": "object", "properties": {
            "slots": {"type": "array", "items": SLOT}}}]}), "404": _ERR}}},
    "/api/v1/tourism/bookings": {"post": _idempotent({
        "summary": "Hold seats (guest or signed in)", "tags": ["tourism"],
        "requestBody": {"required": True, **_json({"type": "object", "required": ["slot_id", "quantity", "guest"],
                                                   "properties": {"slot_id": {"type": "integer", "minimum": 1,
                                                                              "maximum": MAX_ID},
                                                                  "quantity": {"type": "integer", "minimum": QUANTITY_MIN,
                                                                               "maximum": QUANTITY_MAX},
                                                                  "guest": GUEST,
                                                                  "locale": {"enum": ["ko", "en", "zh"]}}})},
        "responses": {**_ok("Held", BOOKING, "201"), "404": _ERR,
                      "409": {"description": "sold_out, slot_closed"}, "422": _ERR,
                      "429": {"description": "hold_limit: the guest's email or client address already "
                                             "holds as many unpaid seats as allowed at once "
                                             "(BOOKING_MAX_HELD_SEATS_PER_EMAIL, ..._PER_CLIENT)",
                              "headers": {"Retry-After": {
                                  "description": "seconds until the first of those holds ends",
                                  "schema": {"type": "integer"}}},
                              **_json({"$ref": "#/components/schemas/Error"})}}})},
    "/api/v1/tourism/bookings/{reference}": {"get": {
        "summary": "A booking, for the signed-in booker or staff (guests: POST .../lookup)",
        "tags": ["tourism"], "security": [{"bearer": []}, {"cookie": []}],
        "parameters": [_REF, _LANG],
        "responses": {**_ok("Booking", BOOKING), "401": _ERR, "404": _ERR,
                      "422": {"description": "an email in the query string (send it to .../lookup)"}}}},
    "/api/v1/tourism/bookings/{reference}/lookup": {"post": {
        "summary": "A booking, for the guest who gives the email it was booked with (writes nothing)",
        "tags": ["tourism"], "parameters": [_REF, _LANG],
        "requestBody": {"required": True, **_json({"type": "object", "required": ["email"], "properties": {
            "email": {"type": "string", "format": "email"}}})},
        "responses": {**_ok("Booking", BOOKING), "404": _ERR, "422": _ERR}}},
    "/api/v1/tourism/bookings/{reference}/payment": {"post": _idempotent({
        "summary": "Pay a held booking; the sandbox completes at once", "tags": ["tourism"],
        "parameters": [_REF],
        "requestBody": {"required": True, **_json({"type": "object", "required": ["provider"], "properties": {
            "provider": {"enum": ["sandbox"]}, "sandbox_outcome": {"enum": ["pay", "fail"], "default": "pay"},
            "email": {"type": "string"}}})},
        "responses": {**_ok("The booking (confirmed, or still held when the payment failed)", BOOKING),
                      "404": _ERR, "409": {"description": "already_paid, not_payable"}, "422": _ERR}})},
    "/api/v1/tourism/bookings/{reference}/cancel": {"post": _idempotent({
        "summary": "Cancel; refund per the listing's policy (exactly once)", "tags": ["tourism"],
        "parameters": [_REF],
        "requestBody": {"required": True, **_json({"type": "object", "properties": {"email": {"type": "string"}}})},
        "responses": {**_ok("The cancelled booking", BOOKING), "404": _ERR,
                      "409": {"description": "not_cancellable, already_started"}, "422": _ERR}})},
    "/api/v1/tourism/slots/{slot_id}/waitlist": {"post": _idempotent({
        "summary": "Join a sold-out slot's waiting list", "tags": ["tourism"],
        "parameters": [{"name": "slot_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "requestBody": {"required": True, **_json({"type": "object", "required": ["quantity", "guest"], "properties": {
            "quantity": {"type": "integer"}, "guest": GUEST, "locale": {"enum": ["ko", "en", "zh"]}}})},
        "responses": {**_ok("On the list", {"type": "object"}, "201"), "404": _ERR,
                      "409": {"description": "seats_available, already_waiting"}, "422": _ERR}})},
    "/api/v1/tourism/payments/{provider}/callback": {"post": {
        "summary": "Payment gateway callback (HMAC-SHA256 of the body in X-Sandbox-Signature)",
        "tags": ["tourism"],
        "parameters": [{"name": "provider", "in": "path", "required": True, "schema": {"enum": ["sandbox"]}}],
        "requestBody": {"required": True, **_json({"type": "object", "properties": {
            "payment_id": {"type": "string"}, "status": {"enum": ["paid", "failed"]},
            "amount": {"type": "integer"}, "transaction_id": {"type": "string"}}})},
        "responses": {**_ok("Handled (a repeated callback changes nothing)", {"type": "object"}),
                      "403": {"description": "bad_signature"}, "404": _ERR, "422": _ERR}}},
    "/api/v1/tourism/slots/{slot_id}/check-in": {"post": _idempotent({
        "summary": "Staff: check a confirmed booking in by its reference (scanned or typed)", "tags": ["tourism"],
        "security": [{"bearer": []}, {"cookie": []}],
        "parameters": [{"name": "slot_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "requestBody": {"required": True, **_json({"type": "object", "required": ["reference"],
                                                   "properties": {"reference": {"type": "string"}}})},
        "responses": {**_ok("The checked-in booking", BOOKING), "401": _ERR, "403": _ERR, "404": _ERR,
                      "409": {"description": "already_checked_in, not_confirmed"}, "422": _ERR}})},
}
