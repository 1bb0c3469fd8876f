"""The API documents say which texts a person must be able to read (portal.inputs.VISIBLE_PATTERN):
a text the documented pattern accepts is one the service accepts, so a client that follows the
document is never refused for invisible text."""

from __future__ import annotations

import re

from portal.inputs import VISIBLE_PATTERN, visible


def test_every_character_the_pattern_accepts_is_visible():
    pattern = re.compile(VISIBLE_PATTERN)
    accepted = [chr(cp) for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF and pattern.search(chr(cp))]
    assert len(accepted) > 40000  # the common scripts, not a token subset
    assert [ch for ch in accepted if not visible(ch)] == []


def test_the_pattern_refuses_what_the_service_refuses():
    pattern = re.compile(VISIBLE_PATTERN)
    for text in ("", "   ", "\u200b\u200f", "\u0091", "\u3164\u3164", "\u0301"):
        assert not visible(text) and not pattern.search(text), repr(text)
    for text in ("Kim", "김민지", "王小明", "Zoë", "7"):
        assert pattern.search(text), text


def test_account_bodies_document_it(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    token = schemas["accounts.TokenIn"]["properties"]["name"]
    assert re.search(token["pattern"], "") and not re.search(token["pattern"], "\u200b")
    verification = schemas["accounts.VerificationIn"]["properties"]
    assert verification["name"]["pattern"] == VISIBLE_PATTERN
    assert "seongdong" in verification["district"]["enum"]
    assert not re.search(verification["document_number"]["pattern"], "(╯°□°）╯︵ ┻━┻)")
    assert re.search(verification["document_number"]["pattern"], "900101-1234567")
    profile = schemas["accounts.ProfilePatch"]["properties"]
    assert set(profile["locale"]["enum"]) == {"ko", "en", "zh", None}
