"""Staff work through the API: check-in."""

from __future__ import annotations


def test_check_in_api_is_for_staff(client, make_listing, make_user, bearer, book, pay):
    _listing, slot = make_listing()
    ref = book(slot)["reference"]
    url = f"/api/v1/tourism/slots/{slot.id}/check-in"
    assert client.post(url, json={"reference": ref}).status_code == 401
    assert client.post(url, json={"reference": ref}, headers=bearer(make_user())).status_code == 403
    staff = bearer(make_user(roles=("staff",)))
    held = client.post(url, json={"reference": ref}, headers=staff)
    assert held.status_code == 409 and held.get_json()["error"]["code"] == "not_confirmed"
    pay(ref)
    ok = client.post(url, json={"reference": ref.lower()}, headers=staff)
    assert ok.status_code == 200 and ok.get_json()["checked_in_at"]
    again = client.post(url, json={"reference": ref}, headers=staff)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_checked_in"
    assert client.post(url, json={"reference": "ZZZZZZZZ"}, headers=staff).status_code == 404
