"""Voice flows: a call as a short conversation, written as DATA beside a notice's templates.

A template whose call is a conversation has ``notify/<template>.flow.json`` in any blueprint's
``templates/`` folder (found like its ``.subject.txt``, ``.body.txt`` and ``.voice.txt``)::

    {"version": 1,
     "slow": {"min_age": 65, "rate": "slow"},          # older residents hear slower speech
     "steps": [
       {"id": "greeting", "say": [{"ssml": {"ko": "...{city}...", "en": ..., "zh": ...}}]},
       {"id": "programme", "say": [{"ssml": {...}}, {"if": "summary", "ssml": {...}}]},
       {"id": "menu", "say": [...],
        "options": [{"digit": "1", "action": "callback", "ssml": {...}},
                    {"digit": "3", "action": "health_check", "min_age": 60, "ssml": {...}}]},
       ...]}

A line is said when its ``if`` placeholder has a value; an option is offered when the resident's
age (from their birth date, on today's date in Seoul) is at least its ``min_age`` (an unknown
age: not offered). ``{placeholder}`` takes the notice's context value of that name (a
``{"ko": .., "en": .., "zh": ..}`` is picked in the call's language: requested, en, ko) or
``{city}``: the name of the district ``NOTIFY_CITY`` in that language. Every value is
XML-escaped before it goes into the SSML, so no programme name can break or add SSML.

:func:`build` gives what the voice provider receives as ``"flow"``: ``{"version", "locale",
"steps": [{"id", "ssml", "options"?: [{"digit", "action"}]}]}``, each step's ``ssml`` one
``<speak>`` document. :func:`plain` is a step's words without tags (what officers read).
"""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET
from datetime import date, datetime
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

from flask import current_app
from jinja2 import TemplateNotFound

from portal.i18n import pick

from . import settings

SEOUL = ZoneInfo("Asia/Seoul")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_cache: dict[str, tuple[dict, object]] = {}  # template file name -> (data, its uptodate())
_lock = threading.Lock()


class FlowBroken(ValueError):
    """A flow file that does not parse or names no steps."""


def _file(template: str) -> str:
    return f"notify/{template}.flow.json"


def load(template: str) -> dict | None:
    """The flow data of ``template`` (None when it has no flow file); parsed once per process
    and again when the file changes."""
    name = _file(template)
    with _lock:
        cached = _cache.get(name)
        if cached is not None and (cached[1] is None or cached[1]()):
            return cached[0]
    env = current_app.jinja_env
    try:
        source, _filename, uptodate = env.loader.get_source(env, name)
    except TemplateNotFound:
        return None
    try:
        data = json.loads(source)
    except ValueError as exc:
        raise FlowBroken(f"{name}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list) or not data["steps"]:
        raise FlowBroken(f"{name}: no steps")
    with _lock:
        _cache[name] = (data, uptodate)
    return data


def age_on(birth_date: date | None, today: date | None = None) -> int | None:
    if birth_date is None:
        return None
    today = today or datetime.now(SEOUL).date()
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def _value(context: dict, key: str, locale: str) -> str:
    if key == "city":
        from portal import places

        return places.name_lang(settings.CITY(), locale)[0] or ""
    value = (context or {}).get(key)
    if isinstance(value, dict):
        value = pick({k: v for k, v in value.items() if v}, locale)[0]
    return " ".join(str(value).split()) if value else ""


def _fill(text: str, context: dict, locale: str) -> str:
    return _PLACEHOLDER.sub(lambda m: escape(_value(context, m.group(1), locale)), text)


def _said(entry: dict, context: dict, locale: str) -> str:
    when = entry.get("if")
    if when and not _value(context, when, locale):
        return ""
    text, _lang = pick(entry.get("ssml") or {}, locale)
    return _fill(text or "", context, locale)


def _offered(option: dict, age: int | None) -> bool:
    minimum = option.get("min_age")
    return minimum is None or (age is not None and age >= int(minimum))


def build(template: str, context: dict, locale: str, birth_date: date | None = None, *,
          age: int | None = None, today: date | None = None) -> dict | None:
    """The flow of a voice notice of ``template`` for a resident born on ``birth_date`` (or of
    ``age``), in ``locale``; None when the template has no flow file."""
    data = load(template)
    if data is None:
        return None
    if age is None:
        age = age_on(birth_date, today)
    slow = data.get("slow") or {}
    rate = slow.get("rate") if slow.get("min_age") is not None and age is not None \
        and age >= int(slow["min_age"]) else None
    steps = []
    for step in data["steps"]:
        lines = [_said(entry, context, locale) for entry in step.get("say") or ()]
        options = [o for o in step.get("options") or () if _offered(o, age)]
        lines += [_said(o, context, locale) for o in options]
        inner = ("" if locale == "zh" else " ").join(line for line in lines if line)  # zh: no spaces
        if rate:
            inner = f"<prosody rate={quoteattr(str(rate))}>{inner}</prosody>"
        out: dict = {"id": step["id"], "ssml": f"<speak xml:lang={quoteattr(locale)}>{inner}</speak>"}
        if options:
            out["options"] = [{"digit": str(o["digit"]), "action": o["action"]} for o in options]
        steps.append(out)
    return {"version": data.get("version", 1), "locale": locale, "steps": steps}


def plain(ssml: str) -> str:
    """A step's words as plain text: the SSML's tags taken out, its sentences kept."""
    root = ET.fromstring(ssml)  # noqa: S314 - our own SSML: every value put in was escaped
    return " ".join("".join(root.itertext()).split())


def step_ids(flow: dict | None) -> list[str]:
    """What a log may say of a flow: its step ids (no words: they name the programme)."""
    return [step["id"] for step in (flow or {}).get("steps") or ()]
