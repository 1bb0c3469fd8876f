"""Demo accounts for a first run. All share the password printed by `seed-demo`."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from portal.accounts import service
from portal.accounts.models import ResidentRecord

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - demo data only

DEMO_USERS = [
    # email, name, roles, birth date, district, verified, locale
    ("resident@demo.kr", "김민지", ("resident",), date(1988, 4, 12), "seongdong", True, "ko"),
    ("grandma@demo.kr", "박순자", ("resident",), date(1951, 2, 3), "seongdong", True, "ko"),
    ("newcomer@demo.kr", "Li Wei", ("resident",), None, None, False, "zh"),
    ("staff@demo.kr", "이정훈", ("staff",), date(1980, 9, 1), "seongdong", True, "ko"),
    ("officer@demo.kr", "최은영", ("welfare_officer",), date(1979, 6, 30), "seongdong", True, "ko"),
    ("admin@demo.kr", "Admin", ("admin",), None, None, False, "en"),
]


# Phone numbers (fictitious, 010-555x): grandma@demo.kr prefers voice calls (notify's demo), so
# her welfare notice needs a number to call.
PHONES = {"grandma@demo.kr": "010-5550-0351"}


def seed(session: Session) -> None:
    for email, name, roles, born, district, verified, locale in DEMO_USERS:
        user = service.find_by_email(session, email)
        if user is None:
            service.create_user(session, email, DEMO_PASSWORD, name=name, roles=roles, birth_date=born,
                                district=district, verified=verified, locale=locale, phone=PHONES.get(email))
        elif user.phone is None and email in PHONES:  # seeded before the demo had phone numbers
            user.phone = PHONES[email]
    # A register row the unverified newcomer can match on /account/verify.
    digest = service.document_hash("900101-2345678")
    if session.query(ResidentRecord).filter_by(document_hash=digest).first() is None:
        session.add(ResidentRecord(name="Li Wei", birth_date=date(1990, 1, 1), district="seongdong",
                                   document_hash=digest))
    session.commit()
