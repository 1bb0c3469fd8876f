"""Links in a notice's plain text, as links: ``linkify(text)`` escapes the text and makes an
``<a>`` of each portal path ("/proposals/3") and of each absolute ``http(s)`` link to the
portal's own host (``PORTAL_BASE_URL``). Anything else stays text: links to other hosts,
protocol-relative ``//host`` links, ``javascript:`` and every other scheme."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import current_app
from markupsafe import Markup, escape

# A portal path starts at a slash that follows no letter, digit or slash, and goes on with a
# letter or digit (so never "//host"); an absolute link is http(s), its whole authority taken
# (so "https://portal.test@evil.com" is judged by all of it). Paths take ASCII URL characters
# only, so "/proposals/3에서" ends before the Korean.
_URL = r"https?://[^\s/?#<>\"']+(?:[/?#][A-Za-z0-9\-._~/?=&%#+:@!$,;*]*)?"
_PATH = r"(?<![\w/<])/[A-Za-z0-9][A-Za-z0-9\-._~/?=&%#+:@!$,;*]*"
_LINK = re.compile(f"(?P<url>{_URL})|(?P<path>{_PATH})")
_TRAILING = ".,;:!?)*"  # sentence punctuation after a link is not part of it


def _own_host(url: str) -> bool:
    base = current_app.config.get("PORTAL_BASE_URL") or ""
    mine, theirs = urlsplit(base), urlsplit(url)
    return bool(mine.netloc) and theirs.scheme in ("http", "https") \
        and theirs.netloc.lower() == mine.netloc.lower()


def foreign_texts(context: dict | None, locale: str) -> dict[str, str]:
    """The texts of a notice's context written in another language than the notice: a value
    ``x`` beside ``x_lang`` (a proposal's ``title`` and ``title_lang``) -> {text: lang}."""
    found = {}
    for key, lang in (context or {}).items():
        text = (context or {}).get(key[:-5]) if key.endswith("_lang") else None
        if isinstance(text, str) and text.strip() and isinstance(lang, str) and lang and lang != locale:
            found[text] = lang
    return found


def _marked(segment: str, foreign: dict[str, str] | None) -> Markup:
    """``segment`` escaped, each text of ``foreign`` in it a ``<span lang>``."""
    if not foreign:
        return escape(segment)
    pattern = re.compile("|".join(re.escape(t) for t in sorted(foreign, key=len, reverse=True)))
    out, last = [], 0
    for match in pattern.finditer(segment):
        out.append(escape(segment[last:match.start()]))
        out.append(Markup('<span lang="{0}">{1}</span>').format(foreign[match.group(0)], match.group(0)))
        last = match.end()
    out.append(escape(segment[last:]))
    return Markup("").join(out)


def linkify(text: str | None, foreign: dict[str, str] | None = None) -> Markup:
    """``text`` escaped, with the portal's own links made ``<a href>`` (see the module) and the
    texts of ``foreign`` ({text: lang}, see ``foreign_texts``) marked with their language."""
    if not text:
        return Markup("")
    out = []
    last = 0
    for match in _LINK.finditer(text):
        link = match.group(0)
        cut = len(link.rstrip(_TRAILING))
        if cut < len(link):
            link = link[:cut]
        end = match.start() + len(link)
        out.append(_marked(text[last:match.start()], foreign))
        if match.group("url") is not None and not _own_host(link):
            out.append(escape(link))
        elif len(link) > 1:
            out.append(Markup('<a href="{0}">{0}</a>').format(link))
        else:
            out.append(escape(link))
        last = end
    out.append(_marked(text[last:], foreign))
    return Markup("").join(out)
