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
