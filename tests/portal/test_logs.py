"""Trust I: personal data never reaches a log line.

The portal is served as deployed (gunicorn, its access log in gunicorn.conf.py's format) and
the database is made to refuse every write to the tables that hold personal data, so each
write below ends in a database error that gunicorn logs. The logs are then read for the
values sent: names, addresses, phone numbers, birth dates, incomes, tokens, emails in URLs.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import requests
from sqlalchemy import text

from portal.extensions import db
from portal.types import utcnow
from tests.conftest import requires_postgres

NAME, EMAIL, PHONE = "Sentinel Gildong", "sentinel.7731@example.kr", "010-7731-4242"
BIRTH = "1931-07-31"

REFUSE = """
CREATE OR REPLACE FUNCTION portal_test_refuse() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql;
"""


@contextmanager
def _refusing_writes(*tables):
    db.session.execute(text(REFUSE))
    for table in tables:
        db.session.execute(text(f'CREATE TRIGGER portal_test_refuse BEFORE INSERT OR UPDATE ON "{table}" '
                                "FOR EACH ROW EXECUTE FUNCTION portal_test_refuse()"))
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        for table in tables:
            db.session.execute(text(f'DROP TRIGGER IF EXISTS portal_test_refuse ON "{table}"'))
        db.session.commit()


def _slot():
    from tourism.models import Listing, Slot

    listing = Listing(kind="event", area="ttukseom", name={"ko": "야경 크루즈"}, description={},
                      address={}, policy={}, free_cancel_hours=24, late_refund_percent=0, active=True,
                      search_text="야경 크루즈")
    db.session.add(listing)
    db.session.flush()
    slot = Slot(listing_id=listing.id, starts_at=utcnow() + timedelta(days=3), capacity=10, price=1000, taken=0)
    db.session.add(slot)
    db.session.commit()
    return slot.id


@requires_postgres
def test_database_errors_and_access_logs_hold_no_personal_data(app, make_user, bearer, gunicorn_server, tmp_path):
    resident = make_user(email="resident.7731@example.kr")
    headers = bearer(resident)
    slot_id = _slot()
    log = tmp_path / "gunicorn.log"
    url = gunicorn_server(worker_class="sync", workers=1, log_path=str(log))
    with _refusing_writes("welfare_profile", "tourism_bookings", "user"):
        answers = [
            requests.put(f"{url}/api/v1/welfare/profile/me", headers=headers, timeout=30, json={
                "consent": True, "birth_date": BIRTH, "income_percentile": 37, "household_size": 1,
                "lives_alone": True, "disability_grade": 2, "district": "성동구"}),
            requests.post(f"{url}/api/v1/tourism/bookings", timeout=30, json={
                "slot_id": slot_id, "quantity": 1, "locale": "ko",
                "guest": {"name": NAME, "email": EMAIL, "phone": PHONE}}),
            requests.patch(f"{url}/api/v1/accounts/me", headers=headers, timeout=30,
                           json={"name": NAME, "phone": PHONE}),
            # Tokens and addresses in query strings (links in mails, lookups) stay out of the access log.
            requests.get(f"{url}/tourism/bookings/ABCDEFGH?t=secret-token-7731&email={EMAIL}", timeout=30),
            requests.get(f"{url}/account/confirm?t=secret-token-7731", timeout=30, allow_redirects=False),
        ]
    assert [a.status_code for a in answers[:3]] == [500, 500, 500], [a.text[:200] for a in answers]
    written = log.read_text()
    assert "refused by the test" in written  # the errors were logged...
    assert "parameters hidden" in written
    for value in (NAME, EMAIL, PHONE, BIRTH, "resident.7731", "secret-token-7731", "7731"):
        assert value not in written, f"{value!r} reached the log"  # ...without what was sent
