"""The tourism API's entry in /api/v1/openapi.json is generated from the models the views
validate with and answer by: what it documents is what the endpoints accept and send."""

from __future__ import annotations

import pytest

from tourism import schemas
from tourism.models import KINDS

from .conftest import booking_body

PRIVATE = {("get", "/api/v1/tourism/bookings/{reference}"), ("post", "/api/v1/tourism/slots/{slot_id}/check-in")}
IDEMPOTENT = {"/api/v1/tourism/bookings", "/api/v1/tourism/bookings/{reference}/payment",
              "/api/v1/tourism/bookings/{reference}/cancel", "/api/v1/tourism/slots/{slot_id}/waitlist",
              "/api/v1/tourism/slots/{slot_id}/check-in"}


def resolved(document: dict, schema: dict) -> dict:
    """A schema with its ``$ref`` followed (the document names each model once)."""
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


def test_guests_endpoints_are_public_and_the_others_not(client, document):
    ops = {(method, path): op for path, by_method in document["paths"].items()
           if path.startswith("/api/v1/tourism/") for method, op in by_method.items()}
    assert len(ops) == 10 and PRIVATE <= set(ops)
    for (method, path), op in ops.items():
        public = (method, path) not in PRIVATE
        assert (op.get("security") == []) is public, path
        assert ("401" in op["responses"]) is not public, path
    assert client.get("/api/v1/tourism/listings").status_code == 200
    assert client.get("/api/v1/tourism/bookings/ABC123").status_code == 401
    assert client.post("/api/v1/tourism/slots/1/check-in", json={"reference": "ABC123"}).status_code == 401


def test_every_post_that_changes_something_documents_its_idempotency_key(document):
    for path in IDEMPOTENT:
        op = document["paths"][path]["post"]
        assert "Idempotency-Key" in [p["name"] for p in op["parameters"] if p["in"] == "header"], path
        assert "idempotency_key_in_use" in op["responses"]["409"]["description"], path
        assert "Retry-After" in op["responses"]["409"]["headers"], path
        assert "idempotency_key_reused" in op["responses"]["422"]["description"], path
    booking = document["paths"]["/api/v1/tourism/bookings"]["post"]["responses"]
    assert "sold_out" in booking["409"]["description"] and "hold_limit" in booking["429"]["description"]
    assert "Retry-After" in booking["429"]["headers"] and "Idempotent-Replayed" in booking["201"]["headers"]
    lookup = document["paths"]["/api/v1/tourism/bookings/{reference}/lookup"]["post"]
    assert "Idempotency-Key" not in [p["name"] for p in lookup["parameters"]]  # a read


def test_the_listing_search_takes_what_the_document_says(client, document, make_listing):
    make_listing()
    op = document["paths"]["/api/v1/tourism/listings"]["get"]
    params = {p["name"]: p["schema"] for p in op["parameters"] if p["in"] == "query"}
    assert {"kind", "area", "date", "q", "cursor", "limit", "lang"} <= set(params)
    assert params["kind"]["enum"] == ["", *KINDS] and params["date"]["format"] == "date"
    assert (params["limit"]["minimum"], params["limit"]["maximum"]) == (1, 100)
    for query, status in [("kind=event", 200), ("kind=", 200), ("kind=castle", 422), ("limit=100", 200),
                          ("limit=101", 422), ("limit=0", 422), ("date=2000-01-01", 200),
                          ("date=1999-12-31", 422), ("date=someday", 422), ("area=Dolsan&q=walk", 200)]:
        assert client.get(f"/api/v1/tourism/listings?{query}").status_code == status, query
    assert client.get("/api/v1/tourism/listings?cursor=bm9wZQ").get_json()["error"]["code"] == "bad_cursor"
    page = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert resolved(document, page)["title"] == "ListingsOut"
    schemas.ListingsOut.model_validate(client.get("/api/v1/tourism/listings").get_json())


def test_bodies_are_the_models_the_views_parse(client, document, make_listing):
    _listing, slot = make_listing()
    booking = document["paths"]["/api/v1/tourism/bookings"]["post"]
    body = resolved(document, booking["requestBody"]["content"]["application/json"]["schema"])
    assert body["title"] == "BookingIn" and body["additionalProperties"] is False
    assert set(body["required"]) == {"slot_id", "quantity", "guest"}
    made = client.post("/api/v1/tourism/bookings", json=booking_body(slot.id))
    assert made.status_code == 201
    reference = made.get_json()["reference"]
    assert client.post("/api/v1/tourism/bookings", json={**booking_body(slot.id), "colour": "red"}).status_code == 422

    payment = resolved(document, document["components"]["schemas"]["tourism.PaymentIn"])
    assert payment["properties"]["provider"]["enum"] == ["sandbox"]
    paid = client.post(f"/api/v1/tourism/bookings/{reference}/payment", json={"provider": "cash"})
    assert paid.status_code == 422 and "provider" in paid.get_json()["error"]["fields"]

    callback = document["paths"]["/api/v1/tourism/payments/{provider}/callback"]["post"]
    provider = next(p for p in callback["parameters"] if p["name"] == "provider")
    assert provider["schema"]["enum"] == ["sandbox"] and "bad_signature" in callback["responses"]["403"]["description"]
    assert "X-Sandbox-Signature" in [p["name"] for p in callback["parameters"] if p["in"] == "header"]
    assert client.post("/api/v1/tourism/payments/sandbox/callback", json={}).status_code == 403
