"""The notice dashboard on a phone (issue 13): its two tables were wider than a 390 px screen
(the last columns cut off behind a sideways scroll). On a phone each row is a card of labelled
values; from 48rem they are tables with a header row again."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import DESKTOP, PHONE, sign_in

pytestmark = pytest.mark.e2e

CUT_OFF = """() => [...document.querySelectorAll('main table')].flatMap(table => {
    const box = table.getBoundingClientRect();
    const out = [];
    if (table.scrollWidth > table.clientWidth) out.push(`table wider than its column: ${table.scrollWidth} > ${table.clientWidth}`);
    for (const cell of table.querySelectorAll('tbody th, tbody td')) {
        const r = cell.getBoundingClientRect();
        if (r.right > Math.min(box.right, window.innerWidth) + 0.5) out.push(`cut off: ${cell.innerText.replace(/\\s+/g, ' ')}`);
    }
    return out;
})"""


@pytest.mark.parametrize("lang, failing_channel, status, reason", [
    ("en", "Email", "Failed, will retry", "The mail server could not be reached"),
    ("ko", "이메일", None, None),
    ("zh", "电子邮件", None, None),
])
def test_dashboard_tables_fit_a_phone(demo_city, axe_context, lang, failing_channel, status, reason):
    page = axe_context("en-GB").new_page()
    sign_in(page, "admin@demo.kr", demo_city)
    page.goto(page.context.base_url + f"/notify/dashboard?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang

    assert page.evaluate(CUT_OFF) == []
    # every number says which channel it counts, beside it on the card
    queue = page.locator("table[aria-labelledby=queue-heading]")
    cells = queue.locator("tbody tr[data-status=temporary_failure] td")  # the demo's failing mail
    texts = [" ".join(cells.nth(i).inner_text().split()) for i in range(cells.count())]
    assert f"{failing_channel} 1" in texts, texts
    assert not queue.locator("thead").is_visible() or queue.locator("thead").bounding_box()["width"] <= 1
    failures = page.locator("table[aria-labelledby=failures-heading] tbody tr").first
    if reason:
        text = " ".join(failures.inner_text().split())
        assert f"Status {status}" in text and f"Reason {reason}" in text and "Notices 1" in text, text

    # a wide screen has the table: a header row, and cells with the number only
    page.set_viewport_size(DESKTOP)
    assert page.evaluate(CUT_OFF) == []
    assert queue.locator("thead").bounding_box()["width"] > 300
    texts = [cells.nth(i).inner_text().strip() for i in range(cells.count())]
    assert "1" in texts and not any(failing_channel in t for t in texts), texts
    page.set_viewport_size(PHONE)
