"""Demo facilities, a gate, the first signing key and a card for the demo residents
(idempotent)."""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.eid import service
from portal.eid.models import Card, Facility, Gate

FACILITIES = [
    {"code": "seongdong-library", "kind": "library",
     "names": {"ko": "성동구립도서관", "en": "Seongdong District Library", "zh": "城东区立图书馆"},
     "opening_hours": {"0": "09:00-22:00", "1": "09:00-22:00", "2": "09:00-22:00",
                       "3": "09:00-22:00", "4": "09:00-22:00", "5": "09:00-18:00"}},
    {"code": "seongdong-sports", "kind": "sports_centre",
     "names": {"ko": "성동구민체육센터", "en": "Seongdong Residents' Sports Centre",
               "zh": "城东区民体育中心"},
     "opening_hours": {str(d): "06:00-22:00" for d in range(6)},
     "residents_only": True, "districts": ["seongdong"], "resident_discount": 30},
    {"code": "haengdang-senior", "kind": "senior_centre",
     "names": {"ko": "행당 어르신복지관", "en": "Haengdang Senior Centre", "zh": "杏堂老年福利馆"},
     "opening_hours": {str(d): "09:00-18:00" for d in range(5)}, "min_age": 65},
    {"code": "wangsimni-parking", "kind": "parking",
     "names": {"ko": "왕십리 공영주차장", "en": "Wangsimni Public Car Park", "zh": "往十里公共停车场"},
     "opening_hours": {str(d): "00:00-24:00" for d in range(7)}, "resident_discount": 50},
]


def seed(session: Session) -> None:
    from portal.accounts.service import find_by_email

    service.ensure_signing_key(session)  # card pages only read it (make run seeds the demo)
    for spec in FACILITIES:
        if session.scalar(select(Facility.id).where(Facility.code == spec["code"])) is None:
            session.add(Facility(**spec))
    session.commit()
    library = session.scalar(select(Facility).where(Facility.code == "seongdong-library"))
    if session.scalar(select(Gate.id).where(Gate.facility_id == library.id)) is None:
        _gate, key = service.create_gate(session, None, library.code, "Main entrance")
        click.echo(f"e-ID demo gate at {library.code}, API key (shown once): {key}")
    for email in ("resident@demo.kr", "grandma@demo.kr"):
        resident = find_by_email(session, email)
        if resident is not None and resident.is_verified and session.scalar(
                select(Card.id).where(Card.user_id == resident.id)) is None:
            service.issue_card(session, resident)
    session.commit()
