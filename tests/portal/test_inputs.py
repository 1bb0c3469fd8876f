"""Trust II: hostile input never reaches a service as a 500.

Ids beyond the column's range are a 404; NUL bytes and lone surrogates a 422; JSON nested too
deep a 400 before it is parsed; a cursor a client made up a 422 ``bad_cursor``.
"""

from __future__ import annotations

import json
import re

import pytest

from portal.inputs import json_depth_ok, visible


@pytest.mark.parametrize("path", ["/api/v1/proposals/218866334038", "/proposals/218866334038",
                                  "/api/v1/tourism/listings/99999999999", "/tourism/listings/0",
                                  "/api/v1/proposals/-1"])
def test_ids_beyond_the_column_range_are_not_found(client, path):
    resp = client.get(path)
    assert resp.status_code == 404


def test_nul_bytes_and_lone_surrogates_are_422(client):
    resp = client.get("/api/v1/proposals?q=%00abc")
    assert resp.status_code == 422 and "q" in resp.get_json()["error"]["fields"]
    assert client.get("/tourism/?q=a%00b").status_code == 422
    body = '{"answers": {"district": "\\ud800"}}'
    resp = client.post("/api/v1/welfare/screener", data=body, content_type="application/json")
    assert resp.status_code == 422, resp.get_data(as_text=True)
    body = json.dumps({"slot_id": 1, "quantity": 1, "guest": {"name": "a\x00b", "email": "a@example.kr"}})
    resp = client.post("/api/v1/tourism/bookings", data=body, content_type="application/json")
    assert resp.status_code == 422 and "guest.name" in resp.get_json()["error"]["fields"]


@pytest.mark.parametrize("path", ["/api/v1/welfare/screener", "/api/v1/tourism/bookings",
                                  "/api/v1/accounts/password-reset"])
def test_json_nested_too_deep_is_refused_before_parsing(client, path):
    deep = "[" * 1000 + "]" * 1000
    resp = client.post(path, data=deep, content_type="application/json")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "too_deep"
    fine = {"a": [[[[1]]]]}
    assert client.post(path, json=fine).status_code == 422  # parsed, then refused as a bad body


def test_a_tampered_cursor_is_422_bad_cursor(client):
    for cursor in ("W1tdLDFd", "not-base64!", "WyJ4Il0", "W251bGwsIG51bGxd"):
        resp = client.get(f"/api/v1/proposals?cursor={cursor}")
        assert resp.status_code == 422, (cursor, resp.get_data(as_text=True)[:200])
        assert resp.get_json()["error"]["code"] == "bad_cursor"


def test_depth_is_read_without_recursion_and_ignores_brackets_in_strings():
    assert json_depth_ok('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')
    assert not json_depth_ok("[" * 33 + "]" * 33)
    assert json_depth_ok("[" * 32 + "]" * 32)
    assert json_depth_ok(b'{"a": "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')


def test_text_made_only_of_invisible_characters_is_not_visible():
    assert visible("통학로") and visible(" a ")
    for blank in ("", "   ", "\u200b\u200b", "\u202e\u202d", "\u3164\u3164", "\u2800", "\u0301", "\ufeff"):
        assert not visible(blank), repr(blank)


def test_a_nul_byte_in_a_path_segment_is_not_found(client):
    for path in ("/api/v1/tourism/bookings/AB%00CD", "/api/v1/welfare/programmes/x%00y", "/tourism/bookings/%00"):
        assert client.get(path).status_code == 404, path


def test_an_id_beyond_the_column_range_is_not_found_whatever_the_method(app, client):
    """Every route with an id, every method: 404, never a 405 that names another method (Werkzeug
    checked the range after picking a rule by method: DELETE /api/v1/proposals/<huge>/follow was
    405 'PUT only', found by schemathesis)."""
    from werkzeug.routing.converters import IntegerConverter
    paths = {rule.rule for rule in app.url_map.iter_rules()
             if rule._converters and all(isinstance(c, IntegerConverter) for c in rule._converters.values())}
    assert "/api/v1/proposals/<int:proposal_id>/follow" in paths
    wrong = []
    for path in sorted(paths):
        for bad in (2**31, 17598375029891796, 0):
            url = re.sub(r"<int:\w+>", str(bad), path)
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                status = client.open(url, method=method, json={}).status_code
                if status != 404:
                    wrong.append(f"{method} {url}: {status}")
    assert not wrong, wrong


def test_an_id_within_the_range_still_reaches_the_view(client):
    """The bound is the column's: its largest id (and one written with leading zeros) is routed,
    so an anonymous caller is asked to sign in (401), not told there is no such path."""
    for id_ in ("2147483647", "1", "007"):
        for method in ("PUT", "DELETE"):
            assert client.open(f"/api/v1/proposals/{id_}/follow", method=method).status_code == 401
