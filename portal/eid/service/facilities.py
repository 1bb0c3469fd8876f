"""Facilities that accept the card: their names, kind, opening hours and access policy."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import places
from portal.audit import record
from portal.eid import settings
from portal.eid.errors import INVISIBLE, FacilityExists, NoSuchFacility
from portal.eid.limits import DISCOUNT_MAX, FACILITY_CODE_MAX, FACILITY_CODE_MIN, FACILITY_NAME_MAX
from portal.eid.models import DAY_CODES, FACILITY_KINDS, Facility
from portal.eid.service.common import require_staff
from portal.eid.verify import forget_gates
from portal.errors import Invalid
from portal.i18n import LOCALES
from portal.inputs import visible

KIND_LABELS = {
    "library": _l("Library"),
    "sports_centre": _l("Sports centre"),
    "community_centre": _l("Community centre"),
    "senior_centre": _l("Senior centre"),
    "parking": _l("Parking"),
    "culture_centre": _l("Culture centre"),
    "other": _l("Other"),
}

_HOURS = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_HOURS_HELP = _l('Write opening hours like "mon-fri 09:00-18:00; sat 10:00-13:00".')
_CODE = re.compile(rf"^[a-z0-9][a-z0-9_-]{{{FACILITY_CODE_MIN - 1},{FACILITY_CODE_MAX - 1}}}$")


def _bad_hours() -> Invalid:
    return Invalid(fields={"opening_hours": _HOURS_HELP})


def parse_opening_hours(text: str | None) -> dict[str, str]:
    """``"mon-fri 09:00-18:00; sat 10:00-13:00"`` → ``{"0": "09:00-18:00", ..., "5": ...}``."""
    hours: dict[str, str] = {}
    for part in re.split(r"[;\n]+", text or ""):
        part = part.strip().lower()
        if not part:
            continue
        try:
            days, span = part.split()
            if "-" in days:
                a, b = days.split("-")
                first, last = DAY_CODES.index(a), DAY_CODES.index(b)
                day_list = range(first, last + 1)
                if first > last:
                    raise ValueError
            else:
                day_list = [DAY_CODES.index(d) for d in days.split(",")]
        except ValueError:
            raise _bad_hours() from None
        if not _HOURS.match(span) or span[:5] >= span[6:]:
            raise _bad_hours()
        for d in day_list:
            hours[str(d)] = span
    return hours


def format_opening_hours(hours: dict | None) -> str:
    return "; ".join(f"{DAY_CODES[int(d)]} {span}" for d, span in sorted((hours or {}).items()))


@dataclass
class FacilityInput:
    code: str
    names: dict
    kind: str = "other"
    opening_hours: dict | str | None = None
    residents_only: bool = False
    districts: list | str | None = None
    min_age: int | None = None
    max_age: int | None = None
    resident_discount: int = 0
    active: bool = True


def _clean_facility(data: FacilityInput) -> dict:
    fields = {}
    code = (data.code or "").strip().lower()
    if not _CODE.match(code):
        fields["code"] = _l("2 to 40 lower-case letters, digits, - or _.")
    names = {k: (v or "").strip() for k, v in (data.names or {}).items() if k in LOCALES}
    names = {k: v[:FACILITY_NAME_MAX] for k, v in names.items() if v}
    for lang, name in names.items():
        if not visible(name):  # only zero-width, bidi-control or filler characters
            fields[f"name_{lang}"] = INVISIBLE
    if not names.get("ko"):
        fields["name_ko"] = _l("This field is required.")
    if data.kind not in FACILITY_KINDS:
        fields["kind"] = _l("Not one of the allowed values.")
    hours = data.opening_hours
    if isinstance(hours, str) or hours is None:
        try:
            hours = parse_opening_hours(hours)
        except Invalid as exc:
            fields.update(exc.fields or {})
            hours = {}
    districts = data.districts
    if isinstance(districts, str) or districts is None:
        districts = [d.strip() for d in re.split(r"[,\n]+", districts or "") if d.strip()]
    if not all(isinstance(d, str) and visible(d) for d in districts):
        fields["districts"] = INVISIBLE
    else:  # a district by its code or its name in any language; stored as codes (portal.places)
        codes = [places.match(d, "district") for d in districts]
        if None in codes:
            fields["districts"] = places.NOT_A_PLACE["district"]
        districts = list(dict.fromkeys(codes))
    thresholds = settings.AGE_THRESHOLDS()
    if data.min_age is not None and data.min_age not in thresholds:
        fields["min_age"] = _l("Use one of the age thresholds: %(ages)s.",
                               ages=", ".join(map(str, thresholds)))
    if data.max_age is not None and data.max_age + 1 not in thresholds:
        fields["max_age"] = _l("Use one of: %(ages)s.",
                               ages=", ".join(str(t - 1) for t in thresholds))
    if data.min_age is not None and data.max_age is not None and data.min_age > data.max_age:
        fields["max_age"] = _l("Must be at least %(n)s.", n=data.min_age)
    discount = data.resident_discount or 0
    if not 0 <= discount <= DISCOUNT_MAX:
        fields["resident_discount"] = _l("Between 0 and 100.")
    if fields:
        raise Invalid(fields=fields)
    return {"code": code, "names": names, "kind": data.kind, "opening_hours": hours,
            "residents_only": bool(data.residents_only), "districts": districts,
            "min_age": data.min_age, "max_age": data.max_age,
            "resident_discount": int(discount), "active": bool(data.active)}


def create_facility(session: Session, staff, data: FacilityInput) -> Facility:
    require_staff(staff)
    facility = Facility(**_clean_facility(data))
    try:
        with session.begin_nested():  # the unique code decides between two racing creators
            session.add(facility)
    except IntegrityError:
        session.rollback()
        raise FacilityExists() from None
    record(session, staff, "eid.facility_created", "eid_facility", facility.code)
    session.commit()
    return facility


def update_facility(session: Session, staff, code: str, data: FacilityInput) -> Facility:
    require_staff(staff)
    facility = get_facility(session, code)
    values = _clean_facility(data)
    values.pop("code")
    for key, value in values.items():
        setattr(facility, key, value)
    record(session, staff, "eid.facility_updated", "eid_facility", facility.code)
    session.commit()
    forget_gates()  # gates carry the facility's policy
    return facility


def get_facility(session: Session, code: str) -> Facility:
    """The facility with this code; 404 ``no_facility`` (a code no facility can have, such as
    one with a NUL byte, is not looked up)."""
    if not isinstance(code, str) or not _CODE.match(code):
        raise NoSuchFacility()
    facility = session.scalar(select(Facility).where(Facility.code == code))
    if facility is None:
        raise NoSuchFacility()
    return facility


def facilities_stmt(include_inactive: bool = False):
    stmt = select(Facility)
    if not include_inactive:
        stmt = stmt.where(Facility.active.is_(True))
    return stmt
