"""Trust II: while the database cannot be reached, requests answer 503 with Retry-After (the
JSON error on the API, a page otherwise), never a 500."""

from __future__ import annotations

from tests.conftest import requires_postgres


@requires_postgres
def test_an_unreachable_database_is_503_not_500(make_app, free_tcp_port):
    down = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{free_tcp_port}/none",
                    SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}, "hide_parameters": True})
    down.testing = False
    client = down.test_client()
    api = client.get("/api/v1/proposals")
    assert api.status_code == 503 and api.headers["Retry-After"].isdigit()
    assert api.get_json()["error"]["code"] == "unavailable"
    page = client.get("/proposals/?lang=en")
    assert page.status_code == 503 and "try again shortly" in page.get_data(as_text=True)
