"""Demo data: true places of the demo city (Seoul, in and around Seongdong-gu, where the demo
residents live) in ko/en/zh, with slots over the next weeks. Idempotent.

Each listing's area is an area of the places table (portal.places). The first tourism demo was
set in Yeosu; a database seeded with it converges: its listings (found by their old slugs) become
these, keeping their ids, slots and bookings (migration b7d2e9f4a613 moved their areas).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import Booking, Listing, Slot
from .service import SEOUL, create_booking, pay, search_text

LISTINGS = [
    {
        "slug": "hangang-night-cruise", "was": "yeosu-night-sea-cruise", "kind": "event", "area": "ttukseom",
        "name": {"ko": "뚝섬 출발 한강 야경 크루즈", "en": "Hangang Night Cruise from Ttukseom",
                 "zh": "纛岛出发汉江夜景游船"},
        "description": {
            "ko": "뚝섬 선착장에서 출발해 영동대교와 청담대교, 성수대교의 야경을 강 위에서 즐기는 70분 크루즈. "
                  "선상 음악 공연 포함(기상에 따라 변동).",
            "en": "A 70-minute cruise from the Ttukseom pier past the lit-up Yeongdong, Cheongdam and Seongsu "
                  "bridges, with live music on deck (weather permitting).",
            "zh": "从纛岛码头出发的70分钟游船，欣赏永东大桥、清潭大桥和圣水大桥的夜景，船上有音乐表演（视天气而定）。"},
        "address": {"ko": "서울특별시 광진구 강변북로 139 (뚝섬한강공원 선착장)",
                    "en": "Ttukseom Hangang Park pier, 139 Gangbyeonbuk-ro, Gwangjin-gu, Seoul",
                    "zh": "首尔市广津区江边北路139（纛岛汉江公园码头）"},
        "policy": {"ko": "출항 24시간 전까지 전액 환불, 이후 50% 환불.",
                   "en": "Full refund until 24 hours before departure, 50% after that.",
                   "zh": "开船24小时前取消可全额退款，之后退款50%。"},
        "free_cancel_hours": 24, "late_refund_percent": 50,
        "times": [(19, 30), (21, 0)], "capacity": 120, "price": 25000, "every": 1,
    },
    {
        "slug": "seoul-forest-guided-walk", "was": "odongdo-guided-walk", "kind": "event", "area": "seoul-forest",
        "name": {"ko": "서울숲 생태 해설 산책", "en": "Seoul Forest Guided Nature Walk",
                 "zh": "首尔林生态导览散步"},
        "description": {
            "ko": "꽃사슴이 사는 생태숲과 습지생태원, 곤충식물원을 숲 해설사와 함께 걷는 90분 프로그램.",
            "en": "A 90-minute walk with a forest guide through the Ecological Forest with its deer, the wetland "
                  "garden and the insect botanical garden.",
            "zh": "90分钟导览：跟随森林解说员走过有梅花鹿的生态林、湿地生态园和昆虫植物园。"},
        "address": {"ko": "서울특별시 성동구 뚝섬로 273 (서울숲)", "en": "Seoul Forest, 273 Ttukseom-ro, Seongdong-gu, Seoul",
                    "zh": "首尔市城东区纛岛路273（首尔林）"},
        "policy": {"ko": "시작 2시간 전까지 무료 취소.", "en": "Free cancellation until 2 hours before the start.",
                   "zh": "活动开始2小时前可免费取消。"},
        "free_cancel_hours": 2, "late_refund_percent": 0,
        "times": [(10, 0), (14, 0)], "capacity": 20, "price": 5000, "every": 1,
    },
    {
        "slug": "bukchon-hanok-stay", "was": "gyodong-hanok-stay", "kind": "lodging", "area": "bukchon",
        "name": {"ko": "북촌 한옥 스테이 (온돌방)", "en": "Bukchon Hanok Stay (ondol room)",
                 "zh": "北村韩屋住宿（暖炕房）"},
        "description": {
            "ko": "안국역에서 걸어서 10분, 마당이 있는 북촌 한옥의 온돌방. 2인 기준 1박, 조식 포함.",
            "en": "A heated-floor room in a courtyard hanok in Bukchon, ten minutes' walk from Anguk Station. "
                  "One night for two, breakfast included.",
            "zh": "北村带庭院的韩屋暖炕房，步行10分钟到安国站。两人一晚，含早餐。"},
        "address": {"ko": "서울특별시 종로구 북촌로11길 (가회동)", "en": "Bukchon-ro 11-gil, Gahoe-dong, Jongno-gu, Seoul",
                    "zh": "首尔市钟路区嘉会洞北村路11街"},
        "policy": {"ko": "체크인 3일 전까지 전액 환불, 이후 환불 불가.",
                   "en": "Full refund until 3 days before check-in, no refund after that.",
                   "zh": "入住3天前取消可全额退款，之后不予退款。"},
        "free_cancel_hours": 72, "late_refund_percent": 0,
        "times": [(15, 0)], "capacity": 3, "price": 140000, "every": 1,
    },
    {
        "slug": "seongsu-hansik-table", "was": "gukdong-seafood-table", "kind": "restaurant", "area": "seongsu",
        "name": {"ko": "성수동 제철 한식 한상", "en": "Seongsu-dong Seasonal Korean Table", "zh": "圣水洞时令韩式套餐"},
        "description": {
            "ko": "성수동 수제화 거리의 옛 구두 공방을 고친 식당에서 내는 제철 나물과 생선구이, 된장찌개 한상. 좌석 예약.",
            "en": "Seasonal greens, grilled fish and doenjang stew, served in a former shoe workshop on "
                  "Seongsu-dong's handmade shoe street. Table booking.",
            "zh": "在圣水洞手工皮鞋街由旧制鞋作坊改建的餐厅，享用时令野菜、烤鱼和大酱汤套餐。座位预订。"},
        "address": {"ko": "서울특별시 성동구 성수이로 (성수동2가)", "en": "Seongsui-ro, Seongsu-dong 2-ga, Seongdong-gu, Seoul",
                    "zh": "首尔市城东区圣水洞2街圣水二路"},
        "policy": {"ko": "예약 시간 3시간 전까지 무료 취소.",
                   "en": "Free cancellation until 3 hours before your table time.",
                   "zh": "用餐时间3小时前可免费取消。"},
        "free_cancel_hours": 3, "late_refund_percent": 0,
        "times": [(12, 0), (18, 0), (19, 30)], "capacity": 24, "price": 35000, "every": 1,
    },
    {
        "slug": "hangang-bus-oksu-yeouido", "was": "yeosu-geomundo-ferry", "kind": "transport", "area": "oksu",
        "name": {"ko": "한강버스 옥수–여의도", "en": "Hangang Bus: Oksu to Yeouido", "zh": "汉江巴士：玉水—汝矣岛"},
        "description": {
            "ko": "한강을 오가는 서울의 수상 대중교통 한강버스로 옥수 선착장에서 여의도 선착장까지. "
                  "출항 10분 전까지 선착장에 와 주세요.",
            "en": "The Hangang Bus, Seoul's public transport on the river, from the Oksu pier to the Yeouido pier. "
                  "Please be at the pier 10 minutes before departure.",
            "zh": "乘坐首尔的江上公共交通汉江巴士，从玉水码头到汝矣岛码头。请在开船10分钟前到达码头。"},
        "address": {"ko": "서울특별시 성동구 옥수동 한강버스 옥수 선착장", "en": "Hangang Bus Oksu pier, Oksu-dong, Seongdong-gu, Seoul",
                    "zh": "首尔市城东区玉水洞汉江巴士玉水码头"},
        "policy": {"ko": "출항 1시간 전까지 전액 환불, 이후 90% 환불.",
                   "en": "Full refund until 1 hour before departure, 90% after that.",
                   "zh": "开船1小时前取消可全额退款，之后退款90%。"},
        "free_cancel_hours": 1, "late_refund_percent": 90,
        "times": [(7, 40), (13, 40)], "capacity": 199, "price": 3000, "every": 1,
    },
    {
        "slug": "namsan-gugak-evening", "was": "expo-big-o-show", "kind": "event", "area": "namsangol",
        "name": {"ko": "남산골한옥마을 저녁 국악 공연", "en": "Evening Gugak Concert at Namsangol Hanok Village",
                 "zh": "南山谷韩屋村晚间国乐演出"},
        "description": {
            "ko": "서울남산국악당에서 가야금과 대금, 판소리를 듣는 70분 저녁 공연.",
            "en": "A 70-minute evening of gayageum, daegeum and pansori at the Seoul Namsan Gugakdang theatre.",
            "zh": "在首尔南山国乐堂欣赏伽倻琴、大笒和盘索里的70分钟晚间演出。"},
        "address": {"ko": "서울특별시 중구 퇴계로34길 28 (서울남산국악당)",
                    "en": "Seoul Namsan Gugakdang, 28 Toegye-ro 34-gil, Jung-gu, Seoul",
                    "zh": "首尔市中区退溪路34街28（首尔南山国乐堂）"},
        "policy": {"ko": "공연 24시간 전까지 전액 환불, 이후 환불 불가.",
                   "en": "Full refund until 24 hours before the show, none after that.",
                   "zh": "演出24小时前取消可全额退款，之后不予退款。"},
        "free_cancel_hours": 24, "late_refund_percent": 0,
        "times": [(20, 0)], "capacity": 300, "price": 10000, "every": 2,
    },
]

# What seeding writes on a listing: a listing moved from the Yeosu demo gets all of it.
FIELDS = ("kind", "area", "name", "description", "address", "policy", "free_cancel_hours", "late_refund_percent")


def _move(session: Session, listing: Listing, spec: dict) -> None:
    """Make a listing of the Yeosu demo (found by its old slug) the Seoul listing that replaces
    it: same id, slots and bookings; the demo's texts, area and rules (its texts described a
    place the demo no longer has, so they are replaced whole). Its upcoming slots that nobody
    holds take the demo's capacity and price."""
    listing.slug = spec["slug"]
    for field in FIELDS:
        setattr(listing, field, spec[field])
    listing.active = True
    listing.search_text = search_text(listing)
    session.execute(update(Slot).where(Slot.listing_id == listing.id, Slot.taken == 0,
                                       Slot.starts_at > datetime.now(SEOUL))
                    .values(capacity=spec["capacity"], price=spec["price"]))


def seed(session: Session, days: int = 21) -> int:
    """Add the demo listings that are not there yet, each with slots for the next `days` days;
    a listing of the old Yeosu demo becomes the one that replaces it (``_move``)."""
    added = 0
    today = datetime.now(SEOUL).date()
    for spec in LISTINGS:
        if session.scalar(select(Listing.id).where(Listing.slug == spec["slug"])) is not None:
            continue
        old = session.scalar(select(Listing).where(Listing.slug == spec["was"]))
        if old is not None:
            _move(session, old, spec)
            continue
        listing = Listing(slug=spec["slug"], active=True, **{field: spec[field] for field in FIELDS})
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
DEMO_BOOKING = {"email": "newcomer@demo.kr", "slug": "seoul-forest-guided-walk", "quantity": 2,
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
