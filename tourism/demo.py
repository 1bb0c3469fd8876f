"""Demo data: real Yeosu places in ko/en/zh with slots over the next weeks. Idempotent."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Booking, Listing, Slot
from .service import SEOUL, create_booking, pay, search_text

LISTINGS = [
    {
        "slug": "yeosu-night-sea-cruise", "kind": "event", "area": "Dolsan",
        "area_name": {"ko": "돌산", "en": "Dolsan", "zh": "突山"},
        "name": {"ko": "여수 밤바다 야경 크루즈", "en": "Yeosu Night Sea Harbour Cruise",
                 "zh": "丽水夜海游船"},
        "description": {
            "ko": "돌산대교와 거북선대교, 하멜등대의 야경을 바다 위에서 즐기는 70분 크루즈. 선상 불꽃놀이 포함(기상에 따라 변동).",
            "en": "A 70-minute cruise past the lit-up Dolsan and Geobukseon bridges and Hamel Lighthouse, "
                  "with fireworks on deck (weather permitting).",
            "zh": "70分钟游船，欣赏突山大桥、龟船大桥和哈梅尔灯塔的夜景，船上有烟花表演（视天气而定）。"},
        "address": {"ko": "전라남도 여수시 돌산읍 돌산로 3617-18 (돌산대교 선착장)",
                    "en": "Dolsan Bridge Pier, 3617-18 Dolsan-ro, Dolsan-eup, Yeosu",
                    "zh": "丽水市突山邑突山路3617-18（突山大桥码头）"},
        "policy": {"ko": "출항 24시간 전까지 전액 환불, 이후 50% 환불.",
                   "en": "Full refund until 24 hours before departure, 50% after that.",
                   "zh": "开船24小时前取消可全额退款，之后退款50%。"},
        "free_cancel_hours": 24, "late_refund_percent": 50,
        "times": [(19, 30), (21, 0)], "capacity": 120, "price": 25000, "every": 1,
    },
    {
        "slug": "odongdo-guided-walk", "kind": "event", "area": "Odongdo",
        "area_name": {"ko": "오동도", "en": "Odongdo", "zh": "梧桐岛"},
        "name": {"ko": "오동도 동백숲 해설 산책", "en": "Odongdo Camellia Forest Guided Walk",
                 "zh": "梧桐岛山茶花林导览散步"},
        "description": {
            "ko": "방파제를 건너 동백숲과 용굴, 등대까지 걷는 90분 해설 프로그램.",
            "en": "A 90-minute guided walk across the breakwater to the camellia forest, the Dragon Cave and the lighthouse.",
            "zh": "90分钟导览：走过防波堤，游览山茶花林、龙窟和灯塔。"},
        "address": {"ko": "전라남도 여수시 오동도로 222", "en": "222 Odongdo-ro, Yeosu",
                    "zh": "丽水市梧桐岛路222"},
        "policy": {"ko": "시작 2시간 전까지 무료 취소.", "en": "Free cancellation until 2 hours before the start.",
                   "zh": "活动开始2小时前可免费取消。"},
        "free_cancel_hours": 2, "late_refund_percent": 0,
        "times": [(10, 0), (14, 0)], "capacity": 20, "price": 5000, "every": 1,
    },
    {
        "slug": "gyodong-hanok-stay", "kind": "lodging", "area": "Jungang-dong",
        "area_name": {"ko": "중앙동", "en": "Jungang-dong", "zh": "中央洞"},
        "name": {"ko": "여수 구도심 한옥 스테이 (온돌방)", "en": "Old Town Hanok Stay (ondol room)",
                 "zh": "丽水老城韩屋住宿（暖炕房）"},
        "description": {
            "ko": "이순신광장에서 걸어서 5분, 마당이 있는 한옥의 온돌방. 2인 기준 1박, 조식 포함.",
            "en": "A heated-floor room in a courtyard hanok, five minutes' walk from Yi Sun-sin Square. "
                  "One night for two, breakfast included.",
            "zh": "带庭院的韩屋暖炕房，步行5分钟到李舜臣广场。两人一晚，含早餐。"},
        "address": {"ko": "전라남도 여수시 중앙동 고소3길", "en": "Goso 3-gil, Jungang-dong, Yeosu",
                    "zh": "丽水市中央洞古所3街"},
        "policy": {"ko": "체크인 3일 전까지 전액 환불, 이후 환불 불가.",
                   "en": "Full refund until 3 days before check-in, no refund after that.",
                   "zh": "入住3天前取消可全额退款，之后不予退款。"},
        "free_cancel_hours": 72, "late_refund_percent": 0,
        "times": [(15, 0)], "capacity": 3, "price": 140000, "every": 1,
    },
    {
        "slug": "gukdong-seafood-table", "kind": "restaurant", "area": "Gukdong",
        "area_name": {"ko": "국동", "en": "Gukdong", "zh": "菊洞"},
        "name": {"ko": "국동항 해물한상", "en": "Gukdong Harbour Seafood Table", "zh": "菊洞港海鲜套餐"},
        "description": {
            "ko": "갓김치와 서대회, 게장이 나오는 여수식 해물 한상. 좌석 예약.",
            "en": "A Yeosu-style seafood spread with mustard-leaf kimchi, raw sole salad and soy-marinated crab. Table booking.",
            "zh": "丽水风味海鲜套餐，有芥菜泡菜、鳎鱼生拌和酱蟹。座位预订。"},
        "address": {"ko": "전라남도 여수시 국동 어항단지로", "en": "Eohangdanji-ro, Gukdong, Yeosu",
                    "zh": "丽水市菊洞渔港园区路"},
        "policy": {"ko": "예약 시간 3시간 전까지 무료 취소.",
                   "en": "Free cancellation until 3 hours before your table time.",
                   "zh": "用餐时间3小时前可免费取消。"},
        "free_cancel_hours": 3, "late_refund_percent": 0,
        "times": [(12, 0), (18, 0), (19, 30)], "capacity": 24, "price": 35000, "every": 1,
    },
    {
        "slug": "yeosu-geomundo-ferry", "kind": "transport", "area": "Yeosu Port",
        "area_name": {"ko": "여수항", "en": "Yeosu Port", "zh": "丽水港"},
        "name": {"ko": "여수–거문도 여객선", "en": "Yeosu–Geomundo Ferry", "zh": "丽水—巨文岛客船"},
        "description": {
            "ko": "여수연안여객선터미널에서 거문도까지 약 2시간 20분. 신분증 지참.",
            "en": "About 2 hours 20 minutes from Yeosu Coastal Ferry Terminal to Geomundo. Bring ID.",
            "zh": "从丽水沿岸客运码头到巨文岛约2小时20分钟。请携带身份证件。"},
        "address": {"ko": "전라남도 여수시 여객선터미널길 17", "en": "17 Yeogaekseonteomineol-gil, Yeosu",
                    "zh": "丽水市客船码头街17"},
        "policy": {"ko": "출항 1시간 전까지 전액 환불, 이후 90% 환불.",
                   "en": "Full refund until 1 hour before departure, 90% after that.",
                   "zh": "开船1小时前取消可全额退款，之后退款90%。"},
        "free_cancel_hours": 1, "late_refund_percent": 90,
        "times": [(7, 40), (13, 40)], "capacity": 300, "price": 44800, "every": 1,
    },
    {
        "slug": "expo-big-o-show", "kind": "event", "area": "Expo",
        "area_name": {"ko": "엑스포", "en": "Expo", "zh": "世博园"},
        "name": {"ko": "여수세계박람회장 빅오쇼", "en": "Big-O Show at the Yeosu Expo Park",
                 "zh": "丽水世博园Big-O表演"},
        "description": {
            "ko": "해상 분수와 레이저, 워터스크린이 어우러지는 야간 멀티미디어 쇼.",
            "en": "A night-time multimedia show of sea fountains, lasers and a water screen.",
            "zh": "由海上喷泉、激光和水幕组成的夜间多媒体表演。"},
        "address": {"ko": "전라남도 여수시 박람회길 1", "en": "1 Bangnamhoe-gil, Yeosu", "zh": "丽水市博览会路1"},
        "policy": {"ko": "공연 24시간 전까지 전액 환불, 이후 환불 불가.",
                   "en": "Full refund until 24 hours before the show, none after that.",
                   "zh": "演出24小时前取消可全额退款，之后不予退款。"},
        "free_cancel_hours": 24, "late_refund_percent": 0,
        "times": [(20, 0)], "capacity": 400, "price": 10000, "every": 2,
    },
]


# Policy texts the demo once seeded and a reviewer found wrong or ambiguous (issue 13): the zh
# "开船前24小时内取消" means free only *within* the last 24 hours, "预约前3小时" three hours before
# you *book*. Seeding again replaces them; a text staff have written since stays.
MENDED_POLICIES = {
    "yeosu-night-sea-cruise": {"zh": "开船前24小时内取消可全额退款，之后退款50%。"},
    "odongdo-guided-walk": {"zh": "开始前2小时可免费取消。"},
    "gyodong-hanok-stay": {"zh": "入住前3天可全额退款，之后不予退款。"},
    "gukdong-seafood-table": {"ko": "예약 3시간 전까지 무료 취소.", "en": "Free cancellation until 3 hours before.",
                              "zh": "预约前3小时可免费取消。"},
    "yeosu-geomundo-ferry": {"zh": "开船前1小时可全额退款，之后退款90%。"},
    "expo-big-o-show": {"zh": "演出前24小时可全额退款，之后不予退款。"},
}


def _mend_policy(listing: Listing, spec: dict) -> None:
    """Replace the demo's old policy texts (MENDED_POLICIES) in a listing seeded with them."""
    old = MENDED_POLICIES.get(spec["slug"], {})
    stored = dict(listing.policy or {})
    mended = {code: spec["policy"][code] if old.get(code) is not None and text == old[code] else text
              for code, text in stored.items()}
    if mended != stored:
        listing.policy = mended


def _fill_area_names(listing: Listing, spec: dict) -> None:
    """Give a listing seeded before area names existed the demo's names for its area.

    Only locales with no name yet are filled, so names staff have edited stay as they are.
    """
    if listing.area != spec["area"]:
        return
    stored = dict(listing.area_name or {})
    merged = {**spec["area_name"], **{k: v for k, v in stored.items() if v}}
    if merged != stored:
        listing.area_name = merged
        listing.search_text = search_text(listing)


def seed(session: Session, days: int = 21) -> int:
    """Add the demo listings that are not there yet, each with slots for the next `days` days;
    fill in the area names of demo listings added before there were any, and mend the policy
    texts the demo seeded wrong."""
    added = 0
    today = datetime.now(SEOUL).date()
    for spec in LISTINGS:
        existing = session.scalar(select(Listing).where(Listing.slug == spec["slug"]))
        if existing is not None:
            _fill_area_names(existing, spec)
            _mend_policy(existing, spec)
            continue
        listing = Listing(slug=spec["slug"], kind=spec["kind"], area=spec["area"],
                          area_name=spec["area_name"], name=spec["name"],
                          description=spec["description"], address=spec["address"], policy=spec["policy"],
                          free_cancel_hours=spec["free_cancel_hours"],
                          late_refund_percent=spec["late_refund_percent"], active=True)
        listing.search_text = search_text(listing)
        session.add(listing)
        session.flush()
        for offset in range(1, days + 1, spec["every"]):
            day = today + timedelta(days=offset)
            for hour, minute in spec["times"]:
                session.add(Slot(listing_id=listing.id, capacity=spec["capacity"], price=spec["price"], taken=0,
                                 starts_at=datetime.combine(day, time(hour, minute), SEOUL)))
        added += 1
    session.commit()
    _book(session)
    return added


# A booking a demo account walks through: newcomer@demo.kr (Li Wei, who reads Chinese) booked the
# guided walk for two and paid (sandbox), so the booking page, its policy, the refund a
# cancellation would give and the confirmation mail (caught at /dev/mail in development) are there
# to see in zh. The key makes it once, however often the demo is seeded.
DEMO_BOOKING = {"email": "newcomer@demo.kr", "slug": "odongdo-guided-walk", "quantity": 2,
                "key": "demo:tourism:newcomer-booking"}


def _book(session: Session) -> Booking | None:
    from portal.accounts.service import find_by_email

    user = find_by_email(session, DEMO_BOOKING["email"])
    if user is None or session.scalar(select(Booking.id).where(
            Booking.idempotency_key == DEMO_BOOKING["key"])) is not None:
        return None
    listing = session.scalar(select(Listing).where(Listing.slug == DEMO_BOOKING["slug"]))
    slot = session.scalar(select(Slot).where(Slot.listing_id == listing.id, Slot.starts_at > datetime.now(SEOUL)
                                             + timedelta(days=2)).order_by(Slot.starts_at)) if listing else None
    if slot is None:
        return None
    booking, _created = create_booking(session, user=user, slot_id=slot.id, quantity=DEMO_BOOKING["quantity"],
                                       name=user.name, email=user.email, locale=user.locale,
                                       idempotency_key=DEMO_BOOKING["key"])
    return pay(session, booking.reference, "sandbox", user=user)
