"""The sandbox telephone in a real browser, in English at a phone's width (issue 16, part 5): a welfare call rings
at /dev/phone; a person opens it, reads the greeting, presses Answer, then 1; the notice is
delivered and an officer's callback is open, from the events the page posted, signed, to the
provider events endpoint."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.notify.models import ProviderEvent
from tests.conftest import LiveServer
from tests.e2e.conftest import PHONE, run_axe
from tests.notify.test_devphone import call, message, phone_app  # noqa: F401 - fixtures
from tests.welfare.conftest import make_profile, make_programme, officer  # noqa: F401 - fixtures
from welfare.models import FollowUp

pytestmark = pytest.mark.e2e


def test_a_person_answers_the_sandbox_call_and_presses_1(_browser, axe_source, phone_app, call):  # noqa: F811
    ref = call("en")
    server = LiveServer(phone_app).start()
    context = _browser.new_context(locale="en-GB", base_url=server.url, viewport=PHONE)
    context.add_init_script(axe_source)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/dev/phone/")
        page.get_by_role("link", name="Call to ***0101").click()
        expect(page.locator('[data-step="greeting"]')).to_contain_text("Seongdong")
        expect(page.get_by_role("status")).to_have_text("Ringing")
        page.get_by_role("button", name="Answer", exact=True).click()
        expect(page.get_by_role("status")).to_have_text("Answered")
        assert run_axe(page)["violations"] == []  # the menu's buttons on a phone's width
        page.get_by_role("button", name=re.compile(r"^1 · An officer calls back to help apply$")).click()
        expect(page).to_have_url(re.compile(rf"/dev/phone/{ref}$"))
    finally:
        context.close()
        server.stop()
    assert message().status == "delivered"
    db.session.expire_all()
    assert [(f.kind, f.status) for f in db.session.scalars(select(FollowUp))] == [("callback", "open")]
    assert sorted((e.event, e.digits) for e in db.session.scalars(select(ProviderEvent))) == \
        [("answered", ""), ("keypress", "1")]
