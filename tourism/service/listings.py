"""Listings and their slots as visitors find them: search, areas, upcoming slots. Reads only."""

from __future__ import annotations

import functools
import json
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, bindparam, cast, exists, func, or_, select
from sqlalchemy.orm import Bundle, Session, joinedload

from portal import places
from portal.errors import Invalid
from portal.i18n import LOCALES
from portal.types import utcnow

from ..errors import NoSuchListing, NoSuchSlot
from ..models import KINDS, TEXT_FIELDS, Listing, Slot
from . import seats
from .days import day_range
from .texts import SEOUL, place_name

# A listing's page shows one day's slots: at most this many (a day has a handful) ...
DAY_SLOTS_MAX = 48
# ... and the days that have slots, read from at most this many upcoming starts.
DAYS_SCAN_MAX = 2000


def area_code(text: str | None) -> str | None:
    """The area `text` names: an area's code or its name in any language (any case, spacing or
    hyphens) gives the area's code; other text is taken as it is (a value stored before areas
    were places, which a listing keeps); None when empty."""
    if not text or not text.strip():
        return None
    return places.match(text, "area") or text.strip()


def listings_query(*, kind: str | None = None, area: str | None = None, q: str | None = None,
                   on_date: date | None = None, include_inactive: bool = False):
    """A select of listings matching the filters (ordered by the caller). `area` is an area's
    code or its name in any language; one that names no area finds nothing. `q` matches the
    listing's texts in every language and its area's names."""
    stmt = select(Listing)
    if not include_inactive:
        stmt = stmt.where(Listing.active.is_(True))
    if kind:
        if kind not in KINDS:
            raise Invalid(fields={"kind": _l("Unknown kind.")})
        stmt = stmt.where(Listing.kind == kind)
    if area and area.strip():
        stmt = stmt.where(func.lower(Listing.area) == area_code(area).lower())
    if q and q.strip():
        needle = q.strip().lower()
        named = select(places.Place.code).where(places.Place.kind == "area", or_(*(
            func.lower(column).contains(needle, autoescape=True)
            for column in (places.Place.name_ko, places.Place.name_en, places.Place.name_zh))))
        stmt = stmt.where(or_(Listing.search_text.contains(needle, autoescape=True), Listing.area.in_(named)))
    if on_date:
        start, end = day_range(on_date, on_date)  # 422 for a day outside the range the portal books
        stmt = stmt.where(exists().where(Slot.listing_id == Listing.id, Slot.starts_at >= start,
                                         Slot.starts_at < end))
    return stmt


class CardPlace:
    """The names of a listing card's area (``places.Place.names`` of the row)."""

    __slots__ = ("_names",)

    def __init__(self, names: dict[str, str]):
        self._names = names

    def names(self) -> dict[str, str]:
        return self._names


class ListingCard:
    """A listing as a list shows it, read as plain values (no ORM instance, no identity map):
    the attributes ``texts`` and the answers' builders read of a Listing, and its area's
    place (None when the area is no place's code)."""

    __slots__ = ("id", "kind", "area", *TEXT_FIELDS, "free_cancel_hours", "late_refund_percent", "place")


def _text_dict(raw: str | None) -> dict:
    # the JSON column read as its text (below): what the column's own type would load
    return (json.loads(raw) if raw else None) or {}


_PLACE = 3 + len(TEXT_FIELDS) + 2  # where the place's columns begin in a card's row


class _Cards(Bundle):
    def create_row_processor(self, query, procs, labels):
        def card(row) -> ListingCard:
            values = [proc(row) for proc in procs]
            out = ListingCard()
            out.id, out.kind, out.area = values[:3]
            for field, raw in zip(TEXT_FIELDS, values[3:_PLACE - 2], strict=True):
                setattr(out, field, _text_dict(raw))
            out.free_cancel_hours, out.late_refund_percent = values[_PLACE - 2:_PLACE]
            out.place = None if values[_PLACE] is None else CardPlace(
                {code: name for code, name in zip(LOCALES, values[_PLACE + 1:], strict=True) if name})
            return out

        return card


# The per-locale texts are read as text and decoded here: psycopg's jsonb loader took longer
# than json.loads on the same text (the 21 rows of a list's page, 84 texts: 0.75-1.07 ms against
# 0.63 ms, psycopg alone on the bench database).
_CARD = _Cards("listing", Listing.id, Listing.kind, Listing.area,
               *(cast(getattr(Listing, field), Text).label(field) for field in TEXT_FIELDS),
               Listing.free_cancel_hours, Listing.late_refund_percent, places.Place.code.label("place_code"),
               *(getattr(places.Place, f"name_{code}") for code in LOCALES))


def listing_cards_query(*, kind: str | None = None, area: str | None = None, q: str | None = None,
                        on_date: date | None = None):
    """``listings_query`` selecting ListingCard values (with the area's place, one statement):
    for lists, which read no relationship and change nothing. Ordered by the caller."""
    if not area and not q and on_date is None:
        return _cards_of_kind(kind)
    return _cards(listings_query(kind=kind, area=area, q=q, on_date=on_date))


def _cards(stmt):
    return stmt.with_only_columns(_CARD).outerjoin(places.Place, places.Place.code == Listing.area)


@functools.lru_cache(maxsize=len(KINDS) + 1)
def _cards_of_kind(kind: str | None):
    # the list without a search, built once per kind (an unknown kind raises, and is not kept)
    return _cards(listings_query(kind=kind))


@functools.cache
def _card_by_id():
    # built once: a statement used again is neither rebuilt nor keyed for the compiled cache again
    return listing_cards_query().where(Listing.id == bindparam("listing_id"))


def get_listing_card(session: Session, listing_id: int) -> ListingCard:
    """``get_listing`` for a page that reads the listing and changes nothing: the active
    listing as a ListingCard (with its area's place); NoSuchListing otherwise."""
    card = session.scalars(_card_by_id(), {"listing_id": listing_id}).first()
    if card is None:
        raise NoSuchListing()
    return card


def search_listings(session: Session, *, limit: int = 60, **filters) -> list[Listing]:
    stmt = listings_query(**filters).order_by(Listing.kind, Listing.id).limit(limit)
    return list(session.scalars(stmt))


def areas(session: Session, lang: str | None = None) -> list[tuple[str, str, str | None]]:
    """The areas of active listings for the area filter: (code, name in `lang`, served language),
    names from the places table (falling back requested -> en -> ko; a stored value that is no
    place's code is shown as it is, in no language). Sorted by the name people read."""
    rows = session.execute(select(Listing.area, places.Place).outerjoin(places.Place, places.Place.code == Listing.area)
                           .where(Listing.active.is_(True), Listing.area != "").distinct())
    out = [(code, *place_name(place, code, lang)) for code, place in rows]
    return sorted(out, key=lambda row: (row[1].casefold(), row[0]))


def get_listing(session: Session, listing_id: int, *, include_inactive: bool = False) -> Listing:
    listing = session.get(Listing, listing_id)
    if listing is None or (not listing.active and not include_inactive):
        raise NoSuchListing()
    return listing


def upcoming_slots(session: Session, listing: Listing, *, now: datetime | None = None,
                   limit: int = 60) -> list[Slot]:
    """Slots starting after `now`, their seats counted as a read sees them (holds whose time
    was up at `now` count as free)."""
    now = now or utcnow()
    stmt = (select(Slot).where(Slot.listing_id == listing.id, Slot.starts_at > now)
            .order_by(Slot.starts_at, Slot.id).limit(limit))
    return seats.load(session, stmt, now)


@functools.cache
def _upcoming_starts():
    return (select(Slot.starts_at).where(Slot.listing_id == bindparam("listing_id"), Slot.starts_at > bindparam("now"))
            .order_by(Slot.starts_at).limit(DAYS_SCAN_MAX))


def slot_days(session: Session, listing: Listing, *, now: datetime | None = None) -> list[tuple[date, int]]:
    """The days (Asia/Seoul) on which the listing has upcoming slots, each with how many, in
    order; from its next DAYS_SCAN_MAX starts. Reads only."""
    now = now or utcnow()
    starts = session.scalars(_upcoming_starts(), {"listing_id": listing.id, "now": now})
    days: dict[date, int] = {}
    for starts_at in starts:
        day = starts_at.astimezone(SEOUL).date()
        days[day] = days.get(day, 0) + 1
    return list(days.items())


def day_slots(session: Session, listing: Listing, day: date, *, now: datetime | None = None,
              limit: int = DAY_SLOTS_MAX) -> list[Slot]:
    """The listing's upcoming slots on `day` (Asia/Seoul; 422 outside the days the portal
    books), at most `limit`, their seats counted as a read sees them."""
    now = now or utcnow()
    start, end = day_range(day, day)
    return seats.counted(session, _day_slots(), {"listing_id": listing.id, "now": now, "start": start,
                                                 "end": end, "limit": limit})


@functools.cache
def _day_slots():
    # seats.load's statement, built once with its values as parameters: it was built and keyed
    # anew on every page
    now = bindparam("now")
    return seats.with_expired_seats(
        select(Slot).where(Slot.listing_id == bindparam("listing_id"), Slot.starts_at > now,
                           Slot.starts_at >= bindparam("start"), Slot.starts_at < bindparam("end"))
        .order_by(Slot.starts_at, Slot.id).limit(bindparam("limit")), now)


def slot_summary(session: Session, listing_ids: list[int], now: datetime | None = None) -> dict[int, dict]:
    """For listing cards: the next start, the lowest price and the seats left of upcoming slots."""
    if not listing_ids:
        return {}
    now = now or utcnow()
    expired = seats.expired_seats(now)
    rows = session.execute(
        select(Slot.listing_id, func.min(Slot.starts_at), func.min(Slot.price),
               func.sum(Slot.capacity - Slot.taken + expired))
        .where(Slot.listing_id.in_(listing_ids), Slot.starts_at > now).group_by(Slot.listing_id)).all()
    return {lid: {"next": nxt, "price_from": price, "seats": int(left or 0)}
            for lid, nxt, price, left in rows}


def get_slot(session: Session, slot_id: int) -> Slot:
    slot = session.get(Slot, slot_id, options=[joinedload(Slot.listing)])  # one statement
    if slot is None or not slot.listing.active:
        raise NoSuchSlot()
    return slot
