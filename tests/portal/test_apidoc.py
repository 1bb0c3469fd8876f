"""Trust II: the API document says who may call what, and which errors come back.

For every operation of ``/api/v1/openapi.json`` (paths filled from the demo city): an anonymous
call is never 401 where the document marks the operation public (``security: []``) and always
401 where it does not; the status it got is one the operation lists; a public operation lists no
401/403 and a signed-in one lists 401; an operation that takes a body lists 422. And every
``$ref`` of the document resolves, however often it is asked for.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db

METHODS = ("get", "post", "put", "patch", "delete")
PARAM = re.compile(r"\{([^}]+)\}")


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def is_public(document: dict, operation: dict) -> bool:
    """OpenAPI: an operation's own ``security`` wins over the document's; ``[]`` (or a list
    holding ``{}``) means no credentials are needed."""
    security = operation.get("security", document.get("security", []))
    return security == [] or {} in security


def credentials_optional(document: dict, operation: dict) -> bool:
    """``{}`` beside schemes: public, but credentials are read when sent (a parameter for some
    roles only), so the operation may answer 401/403 to a caller who asks for more."""
    security = operation.get("security", document.get("security", []))
    return {} in security and len(security) > 1


# Public operations whose 403 is not about a person's credentials, each with its reason.
OWN_REFUSALS = {
    ("post", "/api/v1/tourism/payments/{provider}/callback"):
        "a gateway signs the body (HMAC in a header); 403 bad_signature refuses a forged call, "
        "which no bearer token or session could make valid",
}


def _samples() -> dict[str, str]:
    """A real row's key for each path parameter, from the demo city (else 1: a row that may
    not exist, whose absence a public operation may say, a signed-in one must not)."""
    from portal.accounts.models import ApiToken, ResidentRecord, User
    from portal.notify.models import Message
    from proposals.models import Proposal
    from tourism.models import Booking, Listing, Slot
    from welfare.models import Programme

    first = lambda stmt: db.session.scalar(stmt.limit(1))  # noqa: E731
    values = {
        "proposal_id": first(select(Proposal.id).order_by(Proposal.id)),
        "listing_id": first(select(Listing.id).order_by(Listing.id)),
        "slot_id": first(select(Slot.id).order_by(Slot.id)),
        "reference": first(select(Booking.reference).order_by(Booking.id)),
        "user_id": first(select(User.id).where(User.email == "newcomer@demo.kr")),
        "code": first(select(Programme.code).order_by(Programme.id)),
        "entry_id": first(select(ResidentRecord.id).order_by(ResidentRecord.id)),
        "message_id": first(select(Message.id).order_by(Message.id)),
        "token_id": first(select(ApiToken.id).order_by(ApiToken.id)),
        "provider": "mock",
        "channel": "voice",  # a channel whose provider reports back (notify provider events)
    }
    return {name: str(value) for name, value in values.items() if value is not None}


@pytest.fixture
def demo_city(app):
    from portal.cli import seed_demo

    result = app.test_cli_runner().invoke(seed_demo)
    assert result.exit_code == 0, result.output
    db.session.commit()
    return app


def test_anonymous_calls_are_401_exactly_where_the_document_asks_for_credentials(demo_city):
    client = demo_city.test_client()
    document = client.get("/api/v1/openapi.json").get_json()
    samples = _samples()
    wrong: list[str] = []
    checked = {"public": 0, "signed-in": 0}
    for path, method, operation in _operations(document):
        url = PARAM.sub(lambda m: samples.get(m.group(1), "1"), path)
        kwargs = {"json": {}} if "requestBody" in operation else {}
        resp = client.open(url, method=method.upper(), **kwargs)
        public = is_public(document, operation)
        checked["public" if public else "signed-in"] += 1
        where = f"{method.upper()} {path} ({'public' if public else 'signed-in'})"
        if public and resp.status_code == 401:
            wrong.append(f"{where}: anonymous got 401, but the document needs no credentials")
        if not public and resp.status_code != 401:
            wrong.append(f"{where}: anonymous got {resp.status_code}, not 401")
        if str(resp.status_code) not in operation["responses"]:
            wrong.append(f"{where}: answered {resp.status_code}, which it does not list "
                         f"({', '.join(sorted(operation['responses']))})")
    assert checked["public"] >= 5 and checked["signed-in"] >= 20, checked
    assert not wrong, "\n".join(wrong)


def test_error_statuses_follow_from_who_may_call(client):
    document = client.get("/api/v1/openapi.json").get_json()
    wrong: list[str] = []
    for path, method, operation in _operations(document):
        listed = set(operation["responses"])
        where = f"{method.upper()} {path}"
        if is_public(document, operation):
            allowed = {"401", "403"} if credentials_optional(document, operation) else \
                {"403"} if (method, path) in OWN_REFUSALS else set()
            wrong += [f"{where}: public, yet lists {s}" for s in ("401", "403") if s in listed and s not in allowed]
        elif "401" not in listed:
            wrong.append(f"{where}: needs credentials, yet does not list 401")
        if "requestBody" in operation and "422" not in listed:
            wrong.append(f"{where}: takes a body, yet does not list 422")
    assert not wrong, "\n".join(wrong)


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolves(document: dict, ref: str) -> bool:
    if not ref.startswith("#/"):
        return False
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_every_reference_resolves_however_often_the_document_is_asked_for(client):
    # spectree lifts nested models out of its stored schemas as it builds: the second build
    # used to refer to ErrorOut's ErrorDetail (and every nested answer) without listing it.
    for _ in range(3):
        document = client.get("/api/v1/openapi.json").get_json()
        refs = set(_refs(document))
        assert "#/components/schemas/ErrorOut" in refs
        unresolved = sorted(ref for ref in refs if not _resolves(document, ref))
        assert not unresolved, unresolved
