"""What a screen reader and a keyboard user meet in the shell (issue 13, finding 8): a focus ring
that can be seen, text marked with its language, ids a label can trust, and a 429 page that
says when to try again."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from portal.extensions import db
from proposals import service
from tests.proposals.helpers import BODY

CSS = Path(__file__).resolve().parents[2] / "portal" / "static" / "portal.css"


def _luminance(colour: str) -> float:
    colour = colour.lstrip("#")
    if len(colour) == 3:
        colour = "".join(c * 2 for c in colour)
    channels = [int(colour[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_is_computed_as_wcag_says():
    assert round(contrast("#000", "#fff"), 1) == 21.0
    assert round(contrast("#f5a700", "#fff"), 1) == 2.0  # the old ring: too faint


def test_the_focus_ring_stands_out_3_to_1_on_every_background_of_the_shell():
    css = CSS.read_text()
    variables = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", css))

    def resolve(value: str) -> str:
        var = re.fullmatch(r"var\(--([\w-]+)\)", value.strip())
        return variables[var.group(1)] if var else value.strip()

    rings = re.findall(r"([^{}]*:focus[^{}]*)\{[^}]*outline:\s*\d+px solid ([^;]+);", css)
    assert rings, "no focus outline in the stylesheet"
    backgrounds = {resolve(v) for v in re.findall(r"background(?:-color)?:\s*([^;]+?)\s*[;}]", css)
                   if re.fullmatch(r"#[0-9a-fA-F]{3,6}|var\(--[\w-]+\)", v.strip())}
    backgrounds.add(variables["bg"])
    for selector, colour in rings:
        colour = resolve(colour)
        for background in backgrounds:
            if background == resolve("var(--accent)"):
                continue  # the ring sits outside a primary button (outline-offset), not on it
            assert contrast(colour, background) >= 3, (selector.strip(), colour, background)


def _korean_proposal(make_user, **fields):
    author = make_user(name="김민지", locale="ko")
    return service.create_proposal(db.session, author, {"title": "초등학교 앞 안전한 통학로", "body": BODY,
                                                        "category": "safety", **fields})


def test_a_proposal_keeps_the_language_it_was_written_in(make_user):
    korean = _korean_proposal(make_user)
    writer = make_user(name="Anna Schmidt", locale="en")
    english = service.create_proposal(db.session, writer, {"title": "Benches at the bus stop", "body":
                                                           "Please put benches at the Wangsimni bus stop.",
                                                           "category": "safety"})
    comment = service.add_comment(db.session, writer, korean.id, "I walk this way every day.")
    assert (korean.lang, english.lang, comment.lang) == ("ko", "en", "en")


@pytest.mark.parametrize("page_lang", ["en", "zh"])
def test_korean_text_on_an_english_or_chinese_page_is_marked_korean(client, make_user, page_lang):
    p = _korean_proposal(make_user)
    writer = make_user(name="Anna Schmidt", locale="en")
    service.add_comment(db.session, writer, p.id, "I walk this way every day.")
    html = client.get(f"/proposals/{p.id}?lang={page_lang}").get_data(as_text=True)
    assert f'<html lang="{page_lang}">' in html
    assert re.search(r'<h1 lang="ko">초등학교 앞 안전한 통학로</h1>', html)
    assert re.search(r'<div class="body" lang="ko"><p>통학로에', html)
    assert re.search(r'<div class="comment" lang="en">.*?I walk this way every day', html, re.S)
    listing = client.get(f"/proposals/?lang={page_lang}").get_data(as_text=True)
    assert re.search(r'<h2 lang="ko"><a href="/proposals/\d+">초등학교 앞 안전한 통학로</a></h2>', listing)


def _ids(html: str) -> Counter:
    return Counter(re.findall(r'\sid="([^"]+)"', html))


def test_every_id_on_the_staff_proposal_page_is_unique_and_labels_focus_their_own_field(
        client, make_user, login):
    p = _korean_proposal(make_user)
    login(client, make_user(roles=("staff",), name="이정훈"))
    html = client.get(f"/proposals/{p.id}?lang=en").get_data(as_text=True)
    assert html.count("<form") >= 4  # transition, department, merge, comment, report
    repeated = {name: n for name, n in _ids(html).items() if n > 1}
    assert not repeated, repeated
    for target in re.findall(r'<label for="([^"]+)"', html):
        assert _ids(html)[target] == 1, target
    # each of the two "Department" labels focuses the field of its own form
    forms = re.findall(r"<form.*?</form>", html, re.S)
    for form in forms:
        for target in re.findall(r'<label for="([^"]+)"', form):
            assert f'id="{target}"' in form, (target, form[:200])


@pytest.mark.parametrize(("lang", "words"), [("ko", "1시간 후에 다시 시도할 수 있습니다."),
                                           ("en", "You can try again in 1 hour."),
                                           ("zh", "您可以在1小时后重试。")])
def test_a_refused_request_page_says_when_to_try_again(app, client, make_user, lang, words):
    make_user(email="limit@example.kr")
    before = app.config["LOGIN_RATE_LIMIT"]
    app.config["LOGIN_RATE_LIMIT"] = "1 per hour"
    try:
        form = {"email": "limit@example.kr", "password": "wrong-password-1"}
        client.form(f"/account/login?lang={lang}", form)
        refused = client.form(f"/account/login?lang={lang}", form)
    finally:
        app.config["LOGIN_RATE_LIMIT"] = before
    assert refused.status_code == 429
    assert refused.headers.get("Retry-After")
    text = re.sub(r"<[^>]+>", " ", refused.get_data(as_text=True))
    assert words in text, text[-800:]
