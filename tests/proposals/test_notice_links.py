"""A proposal's notices link to it (issue 13, finding 9): a mail carries a link a mail client
can follow (on PORTAL_BASE_URL), the inbox the portal's own path, made a link."""

from __future__ import annotations

import email
import email.policy
import re


def test_mailed_notice_links_absolutely_and_the_inbox_by_path(app, client, login, make_user, staff, bearer,
                                                               new_proposal, tmp_path):
    app.config.update(MAIL_PROVIDER="catch", MAIL_CATCH_DIR=str(tmp_path))
    from portal.extensions import db
    from portal.notify import service as notify

    author = make_user(locale="en")
    notify.update_preferences(db.session, author, preferred_channel="email", opted_out=[])
    p = new_proposal(author)
    r = client.post(f"/api/v1/proposals/{p.id}/transitions", json={"to": "under_review"}, headers=bearer(staff))
    assert r.status_code == 200

    mails = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in tmp_path.glob("*.eml")]
    assert len(mails) == 1, "the author follows their proposal and is told by email"
    body = mails[0].get_body(preferencelist=("plain",)).get_content()
    assert f"https://portal.test/proposals/{p.id}" in body
    assert not re.search(rf"(?<![\w/.]) ?/proposals/{p.id}\b", body.replace(f"https://portal.test/proposals/{p.id}", ""))

    login(client, author)
    inbox = client.get("/notify/?lang=en").get_data(as_text=True)
    assert f'<a href="/proposals/{p.id}">/proposals/{p.id}</a>' in inbox
    assert "https://portal.test/proposals" not in inbox


def test_inbox_marks_a_title_written_in_another_language(app, client, login, make_user, staff, bearer,
                                                         new_proposal):
    """A Korean title in an English notice is lang="ko" (a screen reader says it in Korean); in a
    Korean notice it is not marked again."""
    author, reader = make_user(locale="ko"), make_user(locale="en")
    p = new_proposal(author, title="초등학교 앞 안전한 통학로")
    assert client.put(f"/api/v1/proposals/{p.id}/follow", headers=bearer(reader)).status_code == 201
    r = client.post(f"/api/v1/proposals/{p.id}/transitions", json={"to": "under_review"}, headers=bearer(staff))
    assert r.status_code == 200

    login(client, reader)
    inbox = client.get("/notify/?lang=en").get_data(as_text=True)
    assert '“<span lang="ko">초등학교 앞 안전한 통학로</span>”' in inbox
    assert f'<a href="/proposals/{p.id}">' in inbox
    login(client, author)
    inbox = client.get("/notify/?lang=ko").get_data(as_text=True)
    assert "초등학교 앞 안전한 통학로" in inbox and '<span lang="ko">' not in inbox
