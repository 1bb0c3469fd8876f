"""Issue 13, places as a table: staff pick a facility's districts from the table, in the page's
language, each label beside its box; the card names the holder's district in the page's language."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("lang, name", [("ko", "성동구"), ("en", "Seongdong-gu"), ("zh", "城东区")])
def test_staff_pick_a_facilitys_districts_in_their_language(client, login, staff, lang, name):
    login(client, staff)
    html = client.get(f"/eid/staff/facilities?lang={lang}").get_data(as_text=True)
    box = re.search(r'<input[^>]*type="checkbox"[^>]*value="seongdong"[^>]*>\s*<label for="([^"]+)">([^<]+)</label>',
                    html)
    assert box and box.group(2) == name
    assert re.search(rf'<input[^>]*id="{box.group(1)}"', html)
