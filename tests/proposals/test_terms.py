"""The reviewer's terms on the proposal form (issue 13): the district is the city's district
(자치구 / 区), not an area (지역 / 地区), which tourism uses for its areas."""

from __future__ import annotations

import re


def test_new_proposal_form_names_the_district_as_a_district(client, login, resident):
    login(client, resident)
    labels = {}
    for lang in ("ko", "zh", "en"):
        html = client.get(f"/proposals/new?lang={lang}").get_data(as_text=True)
        labels[lang] = re.search(r'<label for="district"[^>]*>(.*?)</label>', html, flags=re.S).group(1).strip()
    assert labels == {"ko": "자치구(선택)", "zh": "区（选填）", "en": "District (optional)"}
