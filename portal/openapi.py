"""`/api/v1/openapi.json`: written by spectree from the models every endpoint is described with
(``portal.apidoc.doc``); no hand-written paths remain."""

from __future__ import annotations

from flask import Flask


def build(app: Flask) -> dict:
    """The OpenAPI 3.1 document of `app`'s API (called in a request of that app)."""
    from portal.apidoc import document

    built = document()
    built.setdefault("servers", [{"url": "/"}])
    return built
