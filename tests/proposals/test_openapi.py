"""The OpenAPI document describes the proposals API."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/api/v1/proposals", "/api/v1/proposals/{id}", "/api/v1/proposals/{id}/endorsement",
                                  "/api/v1/proposals/{id}/ballot", "/api/v1/proposals/{id}/ballots",
                                  "/api/v1/proposals/{id}/transitions"])
def test_openapi_documents_the_contract(client, path):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert path.replace("{id}", "{proposal_id}") in paths
