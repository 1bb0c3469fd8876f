"""Pages: every visitor page in ko, en and zh; the booking flow by forms; staff pages."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from portal.extensions import db
from tourism.models import Booking, Listing, Slot

from .conftest import NAMES

CATALOGUES = Path(__file__).resolve().parents[2] / "translations"
LOCATION = re.compile(r"^/tourism/bookings/([A-Z2-9]{8})$")


def visible_text(page: str) -> str:
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r"<[^>]+>", " ", page)
    return " ".join(html.unescape(page).split())


def english_fragments(lang: str) -> list[tuple[str, str]]:
    """(msgid, longest literal piece) of every catalogue entry translated differently in `lang`."""
    with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale=lang)
    out = []
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or not message.string:
            continue
        pieces = [p.strip(" .,:;()") for p in re.split(r"%\(\w+\)\w|%%", message.id)]
        piece = max(pieces, key=len)
        if " " in piece and len(piece) >= 8 and piece not in message.string:
            out.append((message.id, piece))
    return out


def book_by_form(client, slot_id, email="mina@example.com", quantity=1, lang="en"):
    resp = client.form(f"/tourism/slots/{slot_id}/book?lang={lang}",
                       {"name": "Mina Park", "email": email, "quantity": quantity, "idempotency_key": email})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    match = LOCATION.match(resp.headers["Location"])
    assert match, resp.headers["Location"]
    return match.group(1)


def pay_by_form(client, reference, button="pay"):
    resp = client.form(f"/tourism/bookings/{reference}/pay")
    assert resp.status_code == 302
    gateway = resp.headers["Location"]
    assert gateway.startswith("/tourism/sandbox/pay/")
    assert client.get(gateway).status_code == 200
    resp = client.form(gateway, {button: "1"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/tourism/bookings/{reference}"


@pytest.fixture
def pages(client, make_listing):
    """The URLs of every visitor page, with a held and a confirmed booking and a sold-out slot."""
    listing, slot = make_listing(capacity=5, price=25000,
                                 policy={"ko": "24시간 전까지 무료 취소", "en": "Free until 24 hours before",
                                         "zh": "24小时前可免费取消"})
    _sold, sold_out = make_listing(capacity=1)
    sold_out.taken = 1
    db.session.commit()
    held = book_by_form(client, slot.id, "held@example.com")
    confirmed = book_by_form(client, slot.id, "paid@example.com")
    pay_by_form(client, confirmed)
    client.form(f"/tourism/bookings/{held}/pay")
    payment_url = "/tourism/sandbox/pay/" + db.session.scalar(
        select(Booking).where(Booking.reference == held)).payments[0].public_id
    return [
        "/tourism/", f"/tourism/?kind=event&area=ttukseom&date={(slot.starts_at + timedelta(hours=9)).date()}",
        "/tourism/?q=nothing-like-this", f"/tourism/listings/{listing.id}", f"/tourism/slots/{slot.id}/book",
        f"/tourism/slots/{sold_out.id}/waitlist", "/tourism/lookup", f"/tourism/bookings/{held}",
        f"/tourism/bookings/{confirmed}", payment_url,
    ]


@pytest.mark.parametrize("lang, must_show", [
    ("zh", "游览首尔"), ("ko", "서울 여행"), ("en", "Visit Seoul")])
def test_every_visitor_page_renders_translated(client, pages, lang, must_show):
    fragments = english_fragments(lang) if lang != "en" else []
    for url in pages:
        sep = "&" if "?" in url else "?"
        resp = client.get(f"{url}{sep}lang={lang}")
        assert resp.status_code == 200, url
        text = visible_text(resp.get_data(as_text=True))
        left = [msgid for msgid, piece in fragments if piece in text]
        assert not left, f"{url} in {lang} shows untranslated UI strings: {left}"
        if url.startswith("/tourism/listings/"):
            assert NAMES[lang] in text
    index = visible_text(client.get(f"/tourism/?lang={lang}").get_data(as_text=True))
    assert must_show in index and NAMES[lang] in index


def test_dates_and_prices_are_formatted_for_the_locale(client, make_listing):
    listing, slot = make_listing(price=25000)
    slot.starts_at = datetime(2030, 5, 1, 11, 30, tzinfo=UTC)  # 20:30 in Seoul
    db.session.commit()
    text = {lang: visible_text(client.get(f"/tourism/listings/{listing.id}?lang={lang}").get_data(as_text=True))
            for lang in ("ko", "en", "zh")}
    # CLDR's formats (the shell's), no seconds, and the time zone with every start (issue 13, finding 10)
    assert "2030년 5월 1일 (수) 오후 8:30 대한민국 시간" in text["ko"] and "₩25,000" in text["ko"]
    assert "Wed, May 1, 2030, 8:30 PM Korean Time" in text["en"] and "₩25,000" in text["en"]
    assert "2030年5月1日周三 韩国时间 20:30" in text["zh"]


def test_untranslated_content_falls_back_and_says_so(client, make_listing):
    listing, _slot = make_listing(name={"ko": "오동도 산책", "en": "Odongdo Walk"}, description={"ko": "동백숲"})
    text = visible_text(client.get(f"/tourism/listings/{listing.id}?lang=zh").get_data(as_text=True))
    assert "Odongdo Walk" in text
    assert "该旅游产品尚未翻译成您的语言" in text  # 旅游产品, not 项目 (a welfare programme too)
    assert "동백숲" in text  # description: en missing too, so ko
    api = client.get(f"/api/v1/tourism/listings/{listing.id}?lang=zh").get_json()
    assert api["name"] == "Odongdo Walk" and api["lang"] == "en"
    assert api["missing_locales"] == ["en", "zh"]
    by_header = client.get(f"/api/v1/tourism/listings/{listing.id}", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert by_header.get_json()["lang"] == "ko" and by_header.get_json()["name"] == "오동도 산책"


def test_listing_search_and_filters(client, make_listing):
    make_listing(name={"ko": "거문도 여객선", "en": "Geomundo Ferry", "zh": "巨文岛客船"}, kind="transport",
                 area="oksu")
    make_listing(name={"ko": "해물한상", "en": "Seafood Table", "zh": "海鲜套餐"}, kind="restaurant", area="seongsu")
    api = "/api/v1/tourism/listings"
    assert [i["name"] for i in client.get(f"{api}?kind=transport&lang=en").get_json()["items"]] == ["Geomundo Ferry"]
    assert [i["name"] for i in client.get(f"{api}?q=海鲜&lang=zh").get_json()["items"]] == ["海鲜套餐"]
    assert [i["lang"] for i in client.get(f"{api}?q=ferry&lang=ko").get_json()["items"]] == ["ko"]
    assert client.get(f"{api}?kind=spaceship").status_code == 422
    assert client.get(f"{api}?date=tomorrow").status_code == 422
    first = client.get(f"{api}?limit=1").get_json()
    second = client.get(f"{api}?limit=1&cursor={first['next_cursor']}").get_json()
    assert first["items"][0]["id"] != second["items"][0]["id"] and second["next_cursor"] is None
    page = visible_text(client.get("/tourism/?kind=restaurant&lang=en").get_data(as_text=True))
    assert "Seafood Table" in page and "Geomundo Ferry" not in page


def test_booking_flow_by_forms_with_qr_ics_lookup_and_cancel(client, new_client, make_listing):
    _listing, slot = make_listing(capacity=3, price=12000, hours=96)
    ref = book_by_form(client, slot.id, "mina@example.com", quantity=2)
    page = visible_text(client.get(f"/tourism/bookings/{ref}?lang=en").get_data(as_text=True))
    assert "Your seats are held" in page and "₩24,000" in page
    pay_by_form(client, ref, "fail")
    assert "Your seats are held" in visible_text(client.get(f"/tourism/bookings/{ref}?lang=en").get_data(as_text=True))
    pay_by_form(client, ref, "pay")
    body = client.get(f"/tourism/bookings/{ref}?lang=en").get_data(as_text=True)
    assert "Your booking is confirmed" in body and "<svg" in body and ref in body
    ics = client.get(f"/tourism/bookings/{ref}.ics")
    assert ics.mimetype == "text/calendar"
    assert "BEGIN:VCALENDAR" in ics.get_data(as_text=True) and f"UID:{ref}@" in ics.get_data(as_text=True)
    qr = client.get(f"/tourism/bookings/{ref}/qr.svg")
    assert qr.mimetype == "image/svg+xml" and 'xmlns="http://www.w3.org/2000/svg"' in qr.get_data(as_text=True)

    stranger = new_client()
    assert stranger.get(f"/tourism/bookings/{ref}").status_code == 404
    assert stranger.get(f"/tourism/bookings/{ref}.ics").status_code == 404
    wrong = stranger.form("/tourism/lookup", {"reference": ref, "email": "other@example.com"})
    assert wrong.status_code == 200 and ref not in wrong.headers.get("Location", "")
    found = stranger.form("/tourism/lookup", {"reference": ref.lower(), "email": "MINA@example.com"})
    assert found.status_code == 302 and found.headers["Location"] == f"/tourism/bookings/{ref}"
    assert stranger.get(f"/tourism/bookings/{ref}").status_code == 200

    cancelled = stranger.form(f"/tourism/bookings/{ref}/cancel", follow_redirects=True, query_string={"lang": "en"})
    assert "Refund: ₩24,000" in visible_text(cancelled.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Slot, slot.id).taken == 0


def test_form_without_csrf_is_refused(client, make_listing):
    _listing, slot = make_listing()
    resp = client.post(f"/tourism/slots/{slot.id}/book", data={"name": "A", "email": "a@example.com", "quantity": 1})
    assert resp.status_code == 400
    assert db.session.get(Slot, slot.id).taken == 0


def test_sold_out_form_sends_you_to_the_waiting_list(client, make_listing):
    _listing, slot = make_listing(capacity=1)
    book_by_form(client, slot.id, "first@example.com")
    resp = client.form(f"/tourism/slots/{slot.id}/book",
                       {"name": "Late", "email": "late@example.com", "quantity": 1, "idempotency_key": "k2"})
    assert resp.headers["Location"] == f"/tourism/slots/{slot.id}/waitlist"
    joined = client.form(f"/tourism/slots/{slot.id}/waitlist",
                         {"name": "Late", "email": "late@example.com", "quantity": 1})
    assert joined.status_code == 302


STAFF_PAGES = ["/tourism/staff/", "/tourism/staff/listings/new", "/tourism/staff/listings/{lid}/edit",
               "/tourism/staff/listings/{lid}/slots", "/tourism/staff/slots/{sid}", "/tourism/staff/reports"]


def test_staff_pages_are_for_staff_only(client, make_listing, make_user, login):
    listing, slot = make_listing()
    urls = [u.format(lid=listing.id, sid=slot.id) for u in STAFF_PAGES]
    for url in urls:
        assert client.get(url).status_code == 401, url
    login(client, make_user(roles=("resident",)))
    for url in urls:
        assert client.get(url).status_code == 403, url
    resp = client.form(f"/tourism/staff/slots/{slot.id}/capacity", {"capacity": 1})
    assert resp.status_code == 403
    assert db.session.get(Slot, slot.id).capacity == 10


def test_staff_manage_listings_slots_check_in_and_reports(client, new_client, make_user, login):
    staff = make_user(roles=("staff",), name="이정훈")
    login(client, staff)
    resp = client.form("/tourism/staff/listings/new",
                       {"kind": "event", "area": "namsangol", "name_ko": "빅오쇼", "description_ko": "해상 분수 쇼",
                        "free_cancel_hours": 24, "late_refund_percent": 0, "active": "y"})
    assert resp.status_code == 302
    listing = db.session.scalar(select(Listing))
    assert listing.name == {"ko": "빅오쇼"}
    staff_list = visible_text(client.get("/tourism/staff/?lang=en").get_data(as_text=True))
    assert "빅오쇼" in staff_list and "English" in staff_list and "中文" in staff_list

    starts = (datetime.now() + timedelta(days=3)).strftime("%Y-%m-%dT20:00")
    resp = client.form(f"/tourism/staff/listings/{listing.id}/slots",
                       {"starts_at": starts, "capacity": 4, "price": 10000})
    assert resp.status_code == 302
    slot = db.session.scalar(select(Slot).where(Slot.listing_id == listing.id))
    assert slot.starts_at.hour == 11  # 20:00 in Seoul is 11:00 UTC

    guest = new_client()
    ref = book_by_form(guest, slot.id, "visitor@example.com", quantity=2)
    held = client.form(f"/tourism/staff/slots/{slot.id}/check-in", {"reference": ref}, follow_redirects=True)
    assert "Only confirmed bookings can be checked in" in visible_text(held.get_data(as_text=True)) or \
        "확정된 예약만" in held.get_data(as_text=True)
    pay_by_form(guest, ref)
    ok = client.form(f"/tourism/staff/slots/{slot.id}/check-in?lang=en", {"reference": ref.lower()},
                     follow_redirects=True)
    assert f"Checked in: {ref} (2 seats)" in visible_text(ok.get_data(as_text=True))
    again = client.form(f"/tourism/staff/slots/{slot.id}/check-in?lang=en", {"reference": ref},
                        follow_redirects=True)
    assert "already checked in" in visible_text(again.get_data(as_text=True))

    low = client.form(f"/tourism/staff/slots/{slot.id}/capacity?lang=en", {"capacity": 1}, follow_redirects=True)
    assert "More seats are already booked" in visible_text(low.get_data(as_text=True))
    assert db.session.get(Slot, slot.id).capacity == 4

    report = visible_text(client.get("/tourism/staff/reports?lang=en").get_data(as_text=True))
    assert "빅오쇼" in report and "₩20,000" in report
    from portal.audit import AuditEntry
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"tourism.listing.save", "tourism.slot.add", "tourism.booking.check_in"} <= actions


def test_tourism_is_in_the_navigation_without_an_account(client):
    page = client.get("/tourism/?lang=en").get_data(as_text=True)
    assert 'href="/tourism/"' in page
    assert "/tourism/staff/" not in page
