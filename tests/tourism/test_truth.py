"""Issue 13, "Every word true": booking tells the truth before you pay.

Finding 1: the cancellation policy and what a cancellation would give back at each step on the
booking form, the hold page, the payment page and the booking page after payment, in the
booker's language; cancelling asks for confirmation with the refund amount. Finding 2: the
Chinese policy no longer says the opposite. Finding 4: more places than are left keeps the form.
And: a listing with many sessions is browsed by day; deadlines carry the time zone.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from babel.dates import get_timezone_name
from flask_babel import force_locale
from sqlalchemy import select

from portal.extensions import db
from portal.types import utcnow
from tourism import service
from tourism.models import Booking, Slot

from .test_pages import book_by_form, pay_by_form, visible_text

HANOK = {"ko": "한옥 스테이", "en": "Old Town Hanok Stay", "zh": "老城韩屋住宿"}


def page(client, url, lang):
    sep = "&" if "?" in url else "?"
    resp = client.get(f"{url}{sep}lang={lang}")
    assert resp.status_code == 200, url
    return visible_text(resp.get_data(as_text=True))


def when(app, dt, lang) -> str:
    """A time as the pages write it in `lang` (the formatting itself is the shell's to test)."""
    with app.test_request_context(f"/?lang={lang}"), force_locale(lang):
        return " ".join(service.format_when(dt).split())  # spaced as visible_text spaces a page


def money(amount: int) -> str:
    return f"₩{amount:,}"


# What each language says of the steps and of a booking that gives nothing back.
CANCEL_BY = {"en": "Cancel by {d}: {a} back", "ko": "{d}까지 취소: {a} 환불", "zh": "{d}前取消：退还{a}"}
CANCEL_AFTER = {"en": "Cancel after {d}: {a} back", "ko": "{d} 이후 취소: {a} 환불", "zh": "{d}后取消：退还{a}"}
CANCEL_NOW = {"en": "Cancel now: {a} back", "ko": "지금 취소: {a} 환불", "zh": "现在取消：退还{a}"}
NOT_REFUNDABLE = {"en": "Not refundable:", "ko": "무료 취소 기한이 지나", "zh": "不可退款："}
POLICY = {"en": "Cancellation and refund policy", "ko": "취소·환불 규정", "zh": "退改政策"}


@pytest.fixture
def hanok(make_listing):
    """A stay with free cancellation until 72 hours before and nothing back after, its night
    96 hours ahead: free cancellation ends 24 hours from now."""
    return make_listing(name=HANOK, kind="lodging", capacity=3, price=140000, hours=96,
                        free_cancel_hours=72, late_refund_percent=0,
                        policy={"ko": "체크인 3일 전까지 전액 환불, 이후 환불 불가.",
                                "en": "Full refund until 3 days before check-in, no refund after that.",
                                "zh": "入住3天前取消可全额退款，之后不予退款。"})


@pytest.mark.parametrize("lang", ["en", "ko", "zh"])
def test_policy_and_refund_steps_before_and_after_paying(app, client, hanok, lang):
    listing, slot = hanok
    deadline = when(app, service.free_cancel_until(listing, slot), lang)
    steps_for = {a: [CANCEL_BY[lang].format(d=deadline, a=money(a)), CANCEL_AFTER[lang].format(d=deadline, a=money(0))]
                 for a in (140000, 280000)}

    form = page(client, f"/tourism/slots/{slot.id}/book", lang)  # per place, before booking
    assert POLICY[lang] in form and listing.policy[lang] in form
    assert all(step in form for step in steps_for[140000]), form

    ref = book_by_form(client, slot.id, "guest@example.com", quantity=2, lang=lang)
    held = page(client, f"/tourism/bookings/{ref}", lang)
    assert POLICY[lang] in held and all(step in held for step in steps_for[280000]), held

    client.form(f"/tourism/bookings/{ref}/pay")
    payment = db.session.scalar(select(Booking).where(Booking.reference == ref)).payments[0]
    gateway = page(client, f"/tourism/sandbox/pay/{payment.public_id}", lang)
    assert POLICY[lang] in gateway and all(step in gateway for step in steps_for[280000]), gateway

    pay_by_form(client, ref)
    paid = page(client, f"/tourism/bookings/{ref}", lang)
    assert all(step in paid for step in steps_for[280000]), paid
    assert NOT_REFUNDABLE[lang] not in paid


@pytest.mark.parametrize("lang", ["en", "ko", "zh"])
def test_a_booking_past_its_free_cancellation_says_plainly_it_is_not_refundable(client, make_listing, lang):
    _listing, slot = make_listing(name=HANOK, kind="lodging", capacity=3, price=140000, hours=48,
                                  free_cancel_hours=72, late_refund_percent=0)
    form = page(client, f"/tourism/slots/{slot.id}/book", lang)
    assert CANCEL_NOW[lang].format(a=money(0)) in form and NOT_REFUNDABLE[lang] in form
    ref = book_by_form(client, slot.id, "guest@example.com", quantity=2, lang=lang)
    assert NOT_REFUNDABLE[lang] in page(client, f"/tourism/bookings/{ref}", lang)
    pay_by_form(client, ref)
    paid = page(client, f"/tourism/bookings/{ref}", lang)
    assert CANCEL_NOW[lang].format(a=money(0)) in paid and NOT_REFUNDABLE[lang] in paid


def test_the_steps_come_from_the_rule_that_refunds(client, make_listing):
    """What the page announced for "now" is what the cancellation gives back, for a policy that
    returns a share after its deadline too (50% of ₩30,001: ₩15,000, rounded down as refunded)."""
    _listing, slot = make_listing(price=30001, hours=10, free_cancel_hours=24, late_refund_percent=50)
    ref = book_by_form(client, slot.id, "guest@example.com")
    pay_by_form(client, ref)
    shown = page(client, f"/tourism/bookings/{ref}", "en")
    announced = re.search(r"Cancel now: (₩[\d,]+) back", shown).group(1)
    refunded = client.post(f"/api/v1/tourism/bookings/{ref}/cancel", json={"email": "guest@example.com"}).get_json()
    assert announced == money(refunded["refund"]["amount"]) == money(15000)


def test_cancelling_asks_for_confirmation_with_the_refund(client, make_listing):
    _listing, slot = make_listing(name=HANOK, kind="lodging", capacity=3, price=140000, hours=48,
                                  free_cancel_hours=72, late_refund_percent=0)
    ref = book_by_form(client, slot.id, "guest@example.com", quantity=2)
    pay_by_form(client, ref)
    booking_page = client.get(f"/tourism/bookings/{ref}?lang=en").get_data(as_text=True)
    # No one-click cancellation: the booking page only links to the confirmation.
    assert f'action="/tourism/bookings/{ref}/cancel"' not in booking_page
    assert f'href="/tourism/bookings/{ref}/cancel"' in booking_page

    for lang, says in (("en", "you get nothing back of the ₩280,000 you paid"),
                       ("ko", "결제하신 ₩280,000 중 환불되는 금액이 없습니다"),
                       ("zh", "已支付的₩280,000将不予退还")):
        confirm = client.get(f"/tourism/bookings/{ref}/cancel?lang={lang}")
        assert confirm.status_code == 200
        assert says in visible_text(confirm.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.scalar(select(Booking.status).where(Booking.reference == ref)) == "confirmed"  # a GET

    done = client.form(f"/tourism/bookings/{ref}/cancel?lang=en", {"refund": 0}, follow_redirects=True)
    assert "Refund: ₩0" in visible_text(done.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.scalar(select(Booking.status).where(Booking.reference == ref)) == "cancelled"
    assert db.session.get(Slot, slot.id).taken == 0


def test_confirmation_states_the_refund_and_refuses_when_it_has_changed(client, make_listing):
    _listing, slot = make_listing(price=50000, hours=96, free_cancel_hours=72, late_refund_percent=0)
    ref = book_by_form(client, slot.id, "guest@example.com")
    pay_by_form(client, ref)
    confirm = visible_text(client.get(f"/tourism/bookings/{ref}/cancel?lang=en").get_data(as_text=True))
    assert "If you cancel now, you get back all of the ₩50,000 you paid." in confirm
    # The page was opened while the refund was whole; the free cancellation ends before "Yes".
    db.session.get(Slot, slot.id).starts_at = utcnow() + timedelta(hours=48)
    db.session.commit()
    late = client.form(f"/tourism/bookings/{ref}/cancel?lang=en", {"refund": 50000})
    assert late.status_code == 409
    text = visible_text(late.get_data(as_text=True))
    assert "has changed" in text and "you get nothing back of the ₩50,000 you paid" in text
    db.session.expire_all()
    assert db.session.scalar(select(Booking.status).where(Booking.reference == ref)) == "confirmed"


def test_cancelling_an_unpaid_hold_says_it_costs_nothing(client, make_listing):
    _listing, slot = make_listing(price=50000, hours=48, free_cancel_hours=72, late_refund_percent=0)
    ref = book_by_form(client, slot.id, "guest@example.com")
    confirm = visible_text(client.get(f"/tourism/bookings/{ref}/cancel?lang=en").get_data(as_text=True))
    assert "Nothing has been paid for this booking, so cancelling costs nothing." in confirm
    assert client.form(f"/tourism/bookings/{ref}/cancel", {"refund": 0}).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Booking.status).where(Booking.reference == ref)) == "cancelled"


# --- finding 2: the Chinese policy says what the English says ----------------------------------

def test_zh_free_cancellation_is_not_reversed(client, make_listing):
    listing, _slot = make_listing(free_cancel_hours=24, late_refund_percent=50)
    text = page(client, f"/tourism/listings/{listing.id}", "zh")
    assert "开始前24小时以上取消可全额退款" in text
    assert "小时内" not in text  # "within the last 24 hours": the opposite of the rule
    none_back, _slot = make_listing(free_cancel_hours=2, late_refund_percent=0)
    text = page(client, f"/tourism/listings/{none_back.id}", "zh")
    assert "开始前2小时以上取消可全额退款" in text and "小时内" not in text


def test_demo_policies_say_when_free_cancellation_ends(app):
    from tourism import demo

    zh = {spec["slug"]: spec["policy"]["zh"] for spec in demo.LISTINGS}
    assert all("内" not in text for text in zh.values()), zh  # never "within N hours"
    assert "用餐时间3小时前" in zh["seongsu-hansik-table"]  # not 3 hours before you *book*
    assert "活动开始2小时前" in zh["seoul-forest-guided-walk"]
    ko = {spec["slug"]: spec["policy"]["ko"] for spec in demo.LISTINGS}
    assert "예약 시간 3시간 전까지" in ko["seongsu-hansik-table"]


def test_seeding_again_mends_the_reversed_demo_policy(app):
    """A database seeded with the first (Yeosu) demo, its cruise still carrying the reversed zh
    policy: seeding again makes it the Hangang cruise, whose zh policy says what the en says."""
    from tourism import demo
    from tourism.models import Listing

    old = Listing(slug="yeosu-night-sea-cruise", kind="event", area="dolsan", name={"zh": "丽水夜海游船"},
                  policy={"zh": "开船前24小时内取消可全额退款，之后退款50%。"}, free_cancel_hours=24,
                  late_refund_percent=50, active=True)  # as seeded before
    db.session.add(old)
    db.session.commit()
    demo.seed(db.session, days=1)
    db.session.expire_all()
    policy = db.session.get(Listing, old.id).policy["zh"]
    assert "小时内" not in policy and policy == "开船24小时前取消可全额退款，之后退款50%。"


# --- finding 4: more places than are left ------------------------------------------------------

@pytest.mark.parametrize("lang, says", [("en", "Only 3 places are left for this time."),
                                        ("ko", "이 시간대에는 3명만 더 예약할 수 있습니다."),
                                        ("zh", "该时段仅剩3个名额。")])
def test_more_places_than_are_left_keeps_the_form(client, make_listing, lang, says):
    _listing, slot = make_listing(capacity=3)
    resp = client.form(f"/tourism/slots/{slot.id}/book?lang={lang}",
                       {"name": "Wang Fang", "email": "wang@example.com", "phone": "+86 138 0000 0000",
                        "quantity": 4, "idempotency_key": "too-many"})
    assert resp.status_code == 422  # the form again, not the waiting list
    body = resp.get_data(as_text=True)
    text = visible_text(body)
    assert says in text
    assert "Sold out" not in text and "已售罄" not in text and "매진" not in text
    for name, value in (("name", "Wang Fang"), ("email", "wang@example.com"), ("phone", "+86 138 0000 0000"),
                        ("quantity", "4")):
        assert re.search(rf'<input[^>]*name="{name}"[^>]*value="{re.escape(value)}"', body) or \
            re.search(rf'<input[^>]*value="{re.escape(value)}"[^>]*name="{name}"', body), name
    assert db.session.scalar(select(Booking).where(Booking.slot_id == slot.id)) is None


def _quantity_max(body: str) -> int:
    tag = re.search(r'<input[^>]*name="quantity"[^>]*>', body).group(0)
    return int(re.search(r'max="(\d+)"', tag).group(1))


def test_the_quantity_offered_never_exceeds_what_is_left(client, make_listing):
    _listing, slot = make_listing(capacity=3)
    assert _quantity_max(client.get(f"/tourism/slots/{slot.id}/book").get_data(as_text=True)) == 3
    _listing, roomy = make_listing(capacity=40)
    assert _quantity_max(client.get(f"/tourism/slots/{roomy.id}/book").get_data(as_text=True)) == 10
    book_by_form(client, slot.id, "first@example.com", quantity=2)
    assert _quantity_max(client.get(f"/tourism/slots/{slot.id}/book").get_data(as_text=True)) == 1


# --- many sessions: browsed by day -------------------------------------------------------------

def test_a_listing_with_many_sessions_is_browsed_by_day(app, client, make_listing):
    listing, first = make_listing()
    base = datetime.combine(datetime.now(service.SEOUL).date() + timedelta(days=2), time(10), service.SEOUL)
    first.starts_at = base
    for n in range(1, 44):  # 44 sessions: at 10:00 and 13:00 for 22 days
        db.session.add(Slot(listing_id=listing.id, starts_at=base + timedelta(days=n // 2, hours=3 * (n % 2)),
                            capacity=10, price=25000, taken=0))
    db.session.commit()
    days = service.slot_days(db.session, listing)
    assert len(days) == 22 and sum(count for _day, count in days) == 44

    body = client.get(f"/tourism/listings/{listing.id}?lang=en").get_data(as_text=True)
    assert body.count("per person") == 2  # the first day's sessions only
    for day, _count in days:  # every day with sessions has a link
        assert f'href="/tourism/listings/{listing.id}?date={day.isoformat()}"' in body
    with app.test_request_context("/?lang=en"), force_locale("en"):
        label = service.format_day(days[5][0])
    other = client.get(f"/tourism/listings/{listing.id}?lang=en&date={days[5][0].isoformat()}")
    assert other.status_code == 200
    text = visible_text(other.get_data(as_text=True))
    assert text.count("per person") == 2 and label in text
    assert 'aria-current="date"' in other.get_data(as_text=True)
    after = (days[-1][0] + timedelta(days=1)).isoformat()
    empty = visible_text(client.get(f"/tourism/listings/{listing.id}?lang=en&date={after}").get_data(as_text=True))
    assert "No sessions on this day" in empty and "per person" not in empty
    assert client.get(f"/tourism/listings/{listing.id}?date=soon").status_code == 422


# --- deadlines carry the time zone -------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "ko", "zh"])
def test_the_payment_deadline_says_whose_clock(app, client, make_listing, lang):
    _listing, slot = make_listing()
    ref = book_by_form(client, slot.id, "guest@example.com", lang=lang)
    booking = db.session.scalar(select(Booking).where(Booking.reference == ref))
    held = page(client, f"/tourism/bookings/{ref}", lang)
    deadline = when(app, booking.hold_expires_at, lang)
    assert deadline in held and get_timezone_name(service.SEOUL, locale=lang) in deadline


# --- finding 6: "we sent the confirmation" only when it was sent ---------------------------------

@pytest.mark.parametrize("status, says, never", [
    ("queued", "A confirmation email is on its way to you.", "We sent the confirmation"),
    ("temporary_failure", "The confirmation email could not be sent yet. We will try again", "We sent the confirmation"),
    ("permanent_failure", "The confirmation email could not be sent.", "We sent the confirmation"),
    ("delivered", "We sent the confirmation to your email.", "could not be sent"),
])
def test_the_confirmation_page_says_what_became_of_the_email(client, make_listing, status, says, never):
    from portal.notify.models import Message

    _listing, slot = make_listing()
    ref = book_by_form(client, slot.id, "guest@example.com")
    pay_by_form(client, ref)
    booking = db.session.scalar(select(Booking).where(Booking.reference == ref))
    message = db.session.scalar(select(Message).where(Message.idempotency_key == f"tourism.confirmed:{booking.id}"))
    message.status = status
    db.session.commit()
    text = page(client, f"/tourism/bookings/{ref}", "en")
    assert says in text and never not in text
