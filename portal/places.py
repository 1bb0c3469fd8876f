"""Places: the city's districts and its tourism areas, one table, each with a stable code and its
name in ko, en and zh.

Columns that name a place store its code (``user.district``, ``resident_register.district``,
``welfare_profile.district`` and programme rules, ``proposals.district``,
``eid_facility.districts``, ``tourism_listings.area``). Whatever comes in (a form, an API body,
a CSV, a programme's rule) goes through ``match`` at the service boundary, so a code or a name in
any language ("Seongdong-gu", "seongdong", "城东区", "성동구") means the same place. Pages show a
place with the ``place`` filter, in the page's language.

- ``choices(kind, locale)``: (code, name) for a select, in the table's order.
- ``name(code, locale)``, ``name_lang(code, locale)``: the name (and the language served).
- ``match(text, kind=None)``: the code a person or a client meant, or None.
- ``clean(value, kind, errors, field)``: ``match`` for a service: a code, None when empty, else
  a translated error for the field.

The rows are reference data: the migration that made the table (d4e7a1c9b350) inserted
``PLACES``; a database made with ``create_all`` (tests, a first run without Alembic) gets them
from the ``after_create`` hook below. Changing ``PLACES`` later needs a migration too, which
upserts the changed rows (``sync``): a database is never re-seeded.
"""

from __future__ import annotations

import re
import unicodedata

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import CheckConstraint, Integer, String, event, select
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import SelectField, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from portal.extensions import db
from portal.i18n import LOCALES, current_locale, pick

KINDS = ("district", "area")
CODE_MAX = 40
NAME_MAX = 80

# The seed rows: (code, kind, ko, en, zh).
#
# Districts: Seoul's 25 autonomous districts (자치구), in the order of their official
# administrative codes (행정표준코드 11110 종로구 ... 11740 강동구, 행정안전부). Korean names as in
# those codes; English names in the Revised Romanization the Seoul Metropolitan Government uses
# ("Seongdong-gu"); Chinese names as on the Seoul Metropolitan Government's Simplified Chinese
# site (서울시 중국어 홈페이지: 城东区 ...). The demo city lives in Seongdong-gu (*/demo.py).
#
# Areas: the tourism areas of the demo listings (tourism/demo.py), in and around Seongdong-gu:
# 뚝섬 (Ttukseom Hangang Park, Gwangjin-gu), 서울숲 (Seoul Forest, Seongdong-gu), 북촌 (Bukchon
# Hanok Village, Jongno-gu), 성수동 (Seongdong-gu), 옥수동 (Seongdong-gu, the Hangang Bus's Oksu
# pier), 남산골한옥마을 (Jung-gu). Korean and English names as the Seoul Metropolitan Government and
# Visit Seoul write them; Chinese names as on their Simplified Chinese pages (纛岛汉江公园, 首尔林,
# 北村韩屋村, 圣水洞, 玉水洞, 南山谷韩屋村). The Yeosu areas of the first tourism demo were replaced by
# migration b7d2e9f4a613.
PLACES: tuple[tuple[str, str, str, str, str], ...] = (
    ("jongno", "district", "종로구", "Jongno-gu", "钟路区"),
    ("jung", "district", "중구", "Jung-gu", "中区"),
    ("yongsan", "district", "용산구", "Yongsan-gu", "龙山区"),
    ("seongdong", "district", "성동구", "Seongdong-gu", "城东区"),
    ("gwangjin", "district", "광진구", "Gwangjin-gu", "广津区"),
    ("dongdaemun", "district", "동대문구", "Dongdaemun-gu", "东大门区"),
    ("jungnang", "district", "중랑구", "Jungnang-gu", "中浪区"),
    ("seongbuk", "district", "성북구", "Seongbuk-gu", "城北区"),
    ("gangbuk", "district", "강북구", "Gangbuk-gu", "江北区"),
    ("dobong", "district", "도봉구", "Dobong-gu", "道峰区"),
    ("nowon", "district", "노원구", "Nowon-gu", "芦原区"),
    ("eunpyeong", "district", "은평구", "Eunpyeong-gu", "恩平区"),
    ("seodaemun", "district", "서대문구", "Seodaemun-gu", "西大门区"),
    ("mapo", "district", "마포구", "Mapo-gu", "麻浦区"),
    ("yangcheon", "district", "양천구", "Yangcheon-gu", "阳川区"),
    ("gangseo", "district", "강서구", "Gangseo-gu", "江西区"),
    ("guro", "district", "구로구", "Guro-gu", "九老区"),
    ("geumcheon", "district", "금천구", "Geumcheon-gu", "衿川区"),
    ("yeongdeungpo", "district", "영등포구", "Yeongdeungpo-gu", "永登浦区"),
    ("dongjak", "district", "동작구", "Dongjak-gu", "铜雀区"),
    ("gwanak", "district", "관악구", "Gwanak-gu", "冠岳区"),
    ("seocho", "district", "서초구", "Seocho-gu", "瑞草区"),
    ("gangnam", "district", "강남구", "Gangnam-gu", "江南区"),
    ("songpa", "district", "송파구", "Songpa-gu", "松坡区"),
    ("gangdong", "district", "강동구", "Gangdong-gu", "江东区"),
    ("ttukseom", "area", "뚝섬", "Ttukseom", "纛岛"),
    ("seoul-forest", "area", "서울숲", "Seoul Forest", "首尔林"),
    ("bukchon", "area", "북촌", "Bukchon", "北村"),
    ("seongsu", "area", "성수동", "Seongsu-dong", "圣水洞"),
    ("oksu", "area", "옥수동", "Oksu-dong", "玉水洞"),
    ("namsangol", "area", "남산골한옥마을", "Namsangol Hanok Village", "南山谷韩屋村"),
)

NOT_A_PLACE = {
    "district": _l("Choose a district from the list."),
    "area": _l("Choose an area from the list."),
}


class Place(db.Model):
    __tablename__ = "place"
    __table_args__ = (
        CheckConstraint("kind IN ('district', 'area')", name="kind"),
        # Reference data: the tests' cleaning between tests keeps these rows.
        {"info": {"reference_data": True}},
    )

    code: Mapped[str] = mapped_column(String(CODE_MAX), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name_ko: Mapped[str | None] = mapped_column(String(NAME_MAX))
    name_en: Mapped[str | None] = mapped_column(String(NAME_MAX))
    name_zh: Mapped[str | None] = mapped_column(String(NAME_MAX))
    sort: Mapped[int] = mapped_column(Integer, default=0)

    def names(self) -> dict[str, str]:
        return {code: text for code in LOCALES if (text := getattr(self, f"name_{code}"))}


def seed_rows() -> list[dict]:
    return [{"code": code, "kind": kind, "name_ko": ko, "name_en": en, "name_zh": zh, "sort": n}
            for n, (code, kind, ko, en, zh) in enumerate(PLACES)]


def sync(bind, table=None) -> None:
    """Insert ``PLACES``, or bring rows with their codes up to date (names, kind, order)."""
    from portal.db import insert
    table = table if table is not None else Place.__table__
    stmt = insert(bind, table)
    stmt = stmt.on_conflict_do_update(index_elements=["code"], set_={
        c: stmt.excluded[c] for c in ("kind", "name_ko", "name_en", "name_zh", "sort")})
    bind.execute(stmt, seed_rows())


@event.listens_for(Place.__table__, "after_create")
def _seed(table, connection, **_kw) -> None:
    sync(connection, table)


# -- reading ---------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-_.,·'’()]+")
# A district's generic suffix, in any language ("Seongdong-gu", "Seongdong District", "성동구",
# "城东区"): a name matches with or without it.
_SUFFIXES = ("district", "gu", "구", "区", "區")


def _norm(text: str) -> str:
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text).casefold())


def _keys(text: str) -> set[str]:
    full = _norm(text)
    keys = {full} if full else set()
    for suffix in _SUFFIXES:
        if full.endswith(suffix) and len(full) > len(suffix):
            keys.add(full[: -len(suffix)])
            break
    return keys


class _Index:
    def __init__(self, rows: list[Place]):
        self.by_code = {p.code: p for p in rows}
        self.ordered = sorted(rows, key=lambda p: (p.sort, p.code))
        found: dict[tuple[str | None, str], set[str]] = {}
        for p in rows:
            for text in (p.code, *p.names().values()):
                for key in _keys(text):
                    found.setdefault((None, key), set()).add(p.code)
                    found.setdefault((p.kind, key), set()).add(p.code)
        # A key two places share names neither.
        self.keys = {k: next(iter(codes)) for k, codes in found.items() if len(codes) == 1}


# The table changes only by migration (a deploy, so a new process), so each process reads it
# once per database, not once per request: a list of proposals or listings matched and named
# places at a cost of one SELECT and an index build per request (about 6 ms of the list API's 12).
_BY_DATABASE: dict[str, _Index] = {}


def _index() -> _Index:
    """The table, read once per process and database (plain copies of its rows, never ORM
    instances, so no session's commit or close reaches them)."""
    if has_app_context():
        cached = g.get("_places")
        if cached is None:
            url = db.engine.url.render_as_string(hide_password=True)
            cached = _BY_DATABASE.get(url)
            if cached is None:
                cached = _BY_DATABASE[url] = index_of(db.session.execute(select(
                    Place.code, Place.kind, Place.name_ko, Place.name_en, Place.name_zh, Place.sort)).all())
            g._places = cached
        return cached
    return _Index([])


def forget() -> None:
    """Read the table again at the next use (after a migration or a test changed it)."""
    _BY_DATABASE.clear()
    if has_app_context():
        g.pop("_places", None)


def match(text, kind: str | None = None) -> str | None:
    """The code of the place `text` names: a code or a name in any language, whatever its case,
    spaces, hyphens or district suffix. None when it names no place (or two)."""
    return match_in(_index(), text, kind)


def index_of(rows) -> _Index:
    """An index of places given as rows with code, kind, name_ko, name_en, name_zh, sort (a
    migration's rows, which have no session)."""
    return _Index([Place(code=r.code, kind=r.kind, name_ko=r.name_ko, name_en=r.name_en,
                         name_zh=r.name_zh, sort=r.sort) for r in rows])


def match_in(index: _Index, text, kind: str | None = None) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    if kind is None and text in index.by_code:
        return text
    for key in sorted(_keys(text), key=len, reverse=True):  # the whole text first
        code = index.keys.get((kind, key))
        if code is not None:
            return code
    return None


def get(code: str | None) -> Place | None:
    return _index().by_code.get(code) if code else None


def name_lang(code: str | None, locale: str | None = None) -> tuple[str, str | None]:
    """(name in `locale` — default the page's — else en, else ko; the language served). A value
    that is no place's code (text stored before places had codes) comes back as it is, its
    language unknown."""
    place = get(code)
    if place is None:
        return (code or ""), None
    return pick(place.names(), locale)


def name(code: str | None, locale: str | None = None) -> str:
    return name_lang(code, locale)[0]


def choices(kind: str, locale: str | None = None) -> list[tuple[str, str]]:
    """(code, name in `locale`) of every place of `kind`, in the table's order."""
    return [(p.code, pick(p.names(), locale)[0]) for p in _index().ordered if p.kind == kind]


def clean(value, kind: str, errors: dict, field: str, *, required: bool = False) -> str | None:
    """The code of the place `value` names (a code or a name in any language); None when empty
    (an error when `required`); a translated error in ``errors[field]`` when it names none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = str(_l("This field is required."))
        return None
    code = match(value, kind) if isinstance(value, str) else None
    if code is None:
        errors[field] = str(NOT_A_PLACE[kind])
    return code


def render(code: str | None) -> Markup:
    """A place's name for a page in the page's language; in a ``<span lang>`` when the name
    served is in another language."""
    text, served = name_lang(code)
    if served and served != current_locale():
        return Markup('<span lang="%s">%s</span>') % (served, text)
    return escape(text)


# -- forms ----------------------------------------------------------------------------------

def _options(kind: str, blank) -> list[tuple[str, str]]:
    return ([("", str(blank))] if blank is not None else []) + choices(kind)


class PlaceField(SelectField):
    """A select of the places of `kind`, named in the page's language; its value is a code ("" when
    none is chosen). The service checks it (``clean``), so the field does not."""

    def __init__(self, label=None, validators=None, *, kind: str = "district", blank=_l("Choose…"),
                 **kwargs):
        super().__init__(label, validators, choices=lambda: _options(kind, blank), validate_choice=False,
                         **kwargs)


class PlacesField(SelectMultipleField):
    """Any number of places of `kind`, as checkboxes, each label beside its box; values are codes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label=None, validators=None, *, kind: str = "district", **kwargs):
        super().__init__(label, validators, choices=lambda: choices(kind), validate_choice=False, **kwargs)


def init_app(app) -> None:
    app.add_template_filter(render, "place")
    app.add_template_filter(name, "place_name")  # plain text, for a sentence
    app.add_template_global(choices, "place_choices")
