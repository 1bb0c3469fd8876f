"""Comments and abuse reports."""

from __future__ import annotations


def test_comments_and_flags(client, make_user, staff, bearer, new_proposal):
    p = new_proposal(make_user())
    fan = make_user()
    r = client.post(f"/api/v1/proposals/{p.id}/comments", json={"body": "저희 아이도 이 길로 다닙니다."},
                    headers=bearer(fan))
    assert r.status_code == 201
    assert client.post(f"/api/v1/proposals/{p.id}/comments", json={"body": "  "},
                       headers=bearer(fan)).status_code == 422
    assert client.post(f"/api/v1/proposals/{p.id}/comments", json={"body": "확인 안 된 사용자"},
                       headers=bearer(make_user(verified=False))).status_code == 403
    items = client.get(f"/api/v1/proposals/{p.id}/comments").get_json()["items"]
    assert [c["body"] for c in items] == ["저희 아이도 이 길로 다닙니다."]
    assert client.post(f"/api/v1/proposals/{p.id}/flags", json={"reason": "광고"}, headers=bearer(fan)).status_code == 201
    assert client.post(f"/api/v1/proposals/{p.id}/flags", json={"reason": "광고"}, headers=bearer(fan)).status_code == 200
    assert client.post(f"/api/v1/proposals/{p.id}/flags", json={}, headers=bearer(fan)).status_code == 422
