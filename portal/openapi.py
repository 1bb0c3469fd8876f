"""`/api/v1/openapi.json`: the shell's own paths plus each service's `openapi.PATHS`."""

from __future__ import annotations

import importlib

from flask import Flask

ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}},
}

SHELL_PATHS = {
    "/api/v1/openapi.json": {"get": {"summary": "This document", "tags": ["portal"],
                                     "responses": {"200": {"description": "OpenAPI 3.1"}}}},
}


def service_paths() -> dict:
    from portal import SERVICES
    paths: dict = {}
    for name in SERVICES:
        try:
            module = importlib.import_module(name + ".openapi")
        except ModuleNotFoundError as exc:
            if exc.name != name + ".openapi":
                raise
            continue
        paths.update(getattr(module, "PATHS", {}))
    return paths


def build(app: Flask) -> dict:
    """spectree's document of the endpoints described with ``portal.apidoc.doc``, completed by
    the hand-written ``PATHS`` of services not described that way yet."""
    from portal.apidoc import document

    generated = document()
    legacy = {**SHELL_PATHS, **service_paths()}
    for path in generated["paths"]:
        legacy.pop(path, None)
    doc = _legacy(app, legacy)
    doc["paths"].update(generated["paths"])
    doc["components"]["schemas"].update(generated["components"]["schemas"])
    doc["components"]["securitySchemes"] = generated["components"]["securitySchemes"]
    doc["tags"] = generated.get("tags", [])
    return doc


def _legacy(app: Flask, paths: dict) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Civic portal API", "version": "1"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "Personal token (flask --app portal users token EMAIL) "
                                          "or, for /api/v1/eid/verify, a gate key"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "session",
                           "description": "Browser session; state-changing requests need X-CSRFToken"},
            },
            "schemas": {
                "Error": ERROR_SCHEMA,
                "Money": {"type": "object", "properties": {"amount": {"type": "integer"},
                                                           "currency": {"const": "KRW"}}},
                "User": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "email": {"type": "string"}, "name": {"type": "string"},
                    "locale": {"enum": ["ko", "en", "zh"]}, "roles": {"type": "array", "items": {"type": "string"}},
                    "verified": {"type": "boolean"}, "district": {"type": ["string", "null"]}}},
            },
            "responses": {"Error": {"description": "Error",
                                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
        "security": [{"bearer": []}, {"cookie": []}],
    }
