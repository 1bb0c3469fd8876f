"""The API's one source of truth: the pydantic models that validate a request and describe its
answers also write its entry in ``/api/v1/openapi.json``.

Every JSON endpoint is decorated with :func:`doc`::

    @bp.post("/bookings")
    @doc(body=BookingIn, answers={201: BookingOut, 409: "sold out"}, public=True)
    def create_booking(): ...

- ``body`` / ``query``: the models the view validates with ``portal.api.parse_body`` /
  ``parse_query`` (the same classes, so the document cannot drift from the validation);
- ``answers``: each success status with its ``...Out`` model (None for an empty body) and each
  error status the endpoint can give beyond the ones every endpoint can give (``ERRORS``): an
  error's entry is a short description, its body is always :class:`ErrorOut`;
- ``public=True``: no token needed (``security: []``);
- ``amend``: what a pydantic model cannot say (a request or response header, a status with no
  body): a function given the generated operation (a dict) that returns it completed, e.g.
  ``portal.idempotency.openapi_operation`` (the Idempotency-Key header and its answers).

The document is written by spectree (a maintained library that turns pydantic models and Flask
routes into OpenAPI 3.1). It does not validate here (``skip_validation``): the views validate
with the same models through ``portal.api``, which answers the house's error shape.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict
from spectree import Response, SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData

# Errors any endpoint can answer: a body the shell refuses before parsing (400 too_deep, CSRF),
# a missing record, a body too large, invalid input, a rate limit, the database unreachable.
ERRORS = {400: "bad request (JSON nested too deep, a form that expired)", 404: "not found",
          413: "request body too large", 422: "invalid input (see fields)",
          429: "too many requests (see Retry-After)", 503: "unavailable for a moment (see Retry-After)"}
SIGNED_IN_ERRORS = {401: "not signed in", 403: "not allowed"}
# Refused by the HTTP server (gunicorn) before the portal sees the request, so with its own
# plain body, not ErrorOut: a request line (path and query string) over its limit.
SERVER_REFUSALS = {414: "URI too long (the HTTP server's limit on the request line)"}


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(BaseModel):
    """Every error the API answers: ``{"error": {"code", "message", "fields"?}}``."""
    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


def _model_name(model: type[BaseModel]) -> str:
    service = model.__module__.split(".")[-2] if model.__module__.count(".") else model.__module__
    return f"{service}.{model.__name__}" if model.__module__ != __name__ else model.__name__


spec = SpecTree(
    "flask", title="Civic portal API", version="1", openapi_version="3.1.0", mode="strict",
    annotations=False, validation_error_status=422, validation_error_model=ErrorOut,
    naming_strategy=_model_name,
    security_schemes=[
        SecurityScheme(name="bearer", data=SecuritySchemeData(
            type="http", scheme="bearer",
            description="A personal token (flask --app portal users token EMAIL) or, for "
                        "POST /api/v1/eid/verify, a gate key")),
        SecurityScheme(name="cookie", data=SecuritySchemeData(
            type="apiKey", field_in="cookie", name="session",
            description="A browser session; state-changing requests send X-CSRFToken")),
        SecurityScheme(name="providerSignature", data=SecuritySchemeData(
            type="apiKey", field_in="header", name="X-Provider-Signature",
            description="SMS, voice and e-mail providers' events: sha256=<hex HMAC-SHA256 of "
                        "\"<X-Provider-Timestamp>.<raw body>\"> under <CHANNEL>_PROVIDER_SECRET")),
    ],
    security=[{"bearer": []}, {"cookie": []}],
)


def doc(*, body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
        answers: dict[int, Any] | None = None, public: bool = False, tags: tuple[str, ...] = (),
        raw: dict[int, str] | None = None, body_required: bool = True,
        amend: Callable[[dict], dict] | None = None) -> Callable:
    """Describe an endpoint in the OpenAPI document (see the module's docstring).

    ``raw={200: "text/csv"}``: a success whose body is not JSON (a file), described with that
    media type (a description may stand in ``answers``); ``body_required=False``: the body may
    be left out."""
    raw = dict(raw or {})
    responses: dict[str, Any] = {}
    errors = {**ERRORS, **({} if public else SIGNED_IN_ERRORS)}
    for status, answer in (answers or {}).items():
        if status in raw:
            responses[f"HTTP_{status}"] = (None, answer) if isinstance(answer, str) else None
        elif status >= 400 or isinstance(answer, str):
            errors[status] = answer if isinstance(answer, str) else errors.get(status, "")
        else:
            responses[f"HTTP_{status}"] = answer
    for status in raw:
        responses.setdefault(f"HTTP_{status}", None)
    for status, description in errors.items():
        responses[f"HTTP_{status}"] = (ErrorOut, description) if description else ErrorOut
    for status, description in SERVER_REFUSALS.items():
        responses[f"HTTP_{status}"] = (None, description)
    decorate = spec.validate(json=body, query=query, resp=Response(**responses), tags=list(tags),
                             security={} if public else None, skip_validation=True)

    def wrap(view):
        wrapped = decorate(view)
        wrapped.__doc__ = view.__doc__
        if raw or not body_required or amend is not None:
            wrapped.apidoc_extra = {"raw": raw, "body_required": body_required, "amend": amend}
        return wrapped

    return wrap



def checked(**schema) -> Callable[[dict], None]:
    """``json_schema_extra`` of a request field whose rules a service checks itself (after
    trimming, every bad field at once, with its own messages), so the model only types it: the
    field's schema in the document is ``schema`` (its description kept)."""
    def replace(field_schema: dict) -> None:
        description = field_schema.get("description")
        field_schema.clear()
        field_schema.update(schema)
        if description:
            field_schema.setdefault("description", description)
    return replace


def required(*names: str) -> Callable[[dict], None]:
    """``json_schema_extra`` of a request model whose service requires the fields ``names``."""
    def mark(model_schema: dict) -> None:
        model_schema["required"] = sorted({*model_schema.get("required", ()), *names})
    return mark


LANG = {"name": "lang", "in": "query", "required": False, "schema": {"enum": ["ko", "en", "zh"]},
        "description": "The language of translated fields and messages (else Accept-Language)"}


def document() -> dict:
    """The OpenAPI document of the current app's documented endpoints (in an app context)."""
    if hasattr(spec, "_spec"):
        del spec._spec  # built anew: a test process serves several apps
    # spectree lifts nested models out of the stored schemas by deleting their "$defs", so a
    # second build would refer to schemas it no longer lists: build from a copy every time.
    pristine = spec.models
    spec.models = copy.deepcopy(pristine)
    try:
        built = spec.spec
    finally:
        spec.models = pristine
    _add_extras(built)
    for operations in built["paths"].values():
        for operation in operations.values():
            names = {p["name"] for p in operation.get("parameters", [])}
            if "lang" not in names:
                operation.setdefault("parameters", []).append(dict(LANG))
    return built


def _add_extras(built: dict) -> None:
    """What spectree cannot say from pydantic models: non-JSON bodies, optional request bodies,
    an endpoint's own ``amend``."""
    for route in spec.backend.find_routes():
        for method, func in spec.backend.parse_func(route):
            extra = getattr(func, "apidoc_extra", None)
            if extra is None or spec.backend.bypass(func, method):
                continue
            path, _parameters = spec.backend.parse_path(route, None)
            operation = built["paths"][path][method.lower()]
            for status, media_type in extra["raw"].items():
                operation["responses"][str(status)]["content"] = {media_type: {"schema": {"type": "string"}}}
            if not extra["body_required"] and "requestBody" in operation:
                operation["requestBody"]["required"] = False
            if extra.get("amend") is not None:
                built["paths"][path][method.lower()] = extra["amend"](operation)
