"""A resident's own access log: where and when their card was used
(``portal/eid/service/access_log.py``)."""

from __future__ import annotations


def test_holder_sees_own_access_log(client, login, make_user, resident, card_for, token_for,
                                    make_gate, verify):
    card_for(resident)
    key, facility = make_gate()
    token = token_for(resident)
    verify(key, token)
    verify(key, token)
    log = client.get("/api/v1/eid/access-log?lang=en").get_json()
    assert [(i["facility"], i["decision"], i["reason"]) for i in log["items"]] == [
        (facility.code, "denied", "replayed"), (facility.code, "granted", "ok")]
    assert log["items"][0]["facility_name"] == "Seongdong Library"
    page = client.get("/eid/access-log").get_data(as_text=True)
    assert "성동구립도서관" in page

    other = make_user()
    login(client, other)
    assert client.get("/api/v1/eid/access-log").get_json()["items"] == []
