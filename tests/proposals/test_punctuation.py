"""Each language punctuates its own way (issue 13, L10N finding 15): the colon of a vote's tally
and of the history list is inside the msgid, so a Chinese page has "：" where English has ":"."""

from __future__ import annotations

import re

from tests.proposals.helpers import future


def _texts(html: str, pattern: str) -> list[str]:
    """The text (tags removed, spaces squeezed) of each element the pattern's group holds."""
    return [" ".join(re.sub(r"<[^>]+>", "", part).split()) for part in re.findall(pattern, html, flags=re.S)]


def test_tally_and_history_punctuate_in_each_language(client, make_user, bearer, new_proposal, start_vote,
                                                       end_and_count):
    p = new_proposal(make_user())
    start_vote(p.id, future(3))
    for choice in ("for", "for", "against"):
        r = client.post(f"/api/v1/proposals/{p.id}/ballot", json={"choice": choice}, headers=bearer(make_user()))
        assert r.status_code == 201
    end_and_count(p.id)

    pages = {lang: {"detail": client.get(f"/proposals/{p.id}?lang={lang}").get_data(as_text=True),
                    "ballots": client.get(f"/proposals/{p.id}/ballots?lang={lang}").get_data(as_text=True)}
             for lang in ("ko", "en", "zh")}
    for page in ("detail", "ballots"):
        assert _texts(pages["zh"][page], r'<p class="tally">(.*?)</p>') == ["赞成：2 · 反对：1"]
        assert _texts(pages["en"][page], r'<p class="tally">(.*?)</p>') == ["For: 2 · Against: 1"]
        assert _texts(pages["ko"][page], r'<p class="tally">(.*?)</p>') == ["찬성: 2 · 반대: 1"]

    history = {lang: _texts(pages[lang]["detail"], r'<section class="history".*?<ol>(.*?)</ol>')[0]
               for lang in ("ko", "en", "zh")}
    # zh: a full-width colon after each time, never an ASCII colon and a space
    assert "：已提出" in history["zh"], history["zh"]
    assert not re.search(r":\s", history["zh"]), history["zh"]
    assert re.search(r"M: Proposed", history["en"]), history["en"]
