"""Demo proposals for a first run: a dozen realistic ones in Seongdong-gu (the demo city's
district: portal/places.py), written by different residents and endorsed by their neighbours,
one in a resident vote whose ballots are sealed like any other (service/sealing.py).

Each demo account has something to do: resident@demo.kr wrote one proposal and endorsed one,
and finds open proposals by others to endorse and the vote to take part in; grandma@demo.kr
wrote the one about digital classes for older residents.

Idempotent: a proposal whose title already exists is left alone, except that one seeded by an
earlier version (when resident@demo.kr wrote them all) gets its author from ``AUTHORS``.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts import service as accounts
from portal.accounts.roles import RESIDENT
from portal.types import utcnow

from .models import BallotParticipation, Endorsement, Follow, Proposal, ProposalTransition, SealedBallot
from .service.ballots import ballot_box, open_ballot
from .service.sealing import receipt_of, seal

SUPPORTERS = 40  # demo residents who endorse, so counts look like a real neighbourhood
DISTRICT = "seongdong"  # the demo city's district (a code of portal.places)

# Neighbours' names (the supporters' accounts, supporter01@demo.kr ...), so a page reads like a
# neighbourhood, not "주민01".
_FAMILY = "김이박최정강조윤장임한오서신권황안송류홍"
_GIVEN = ("서연", "도윤", "하은", "준호", "지우", "민서", "현우", "수빈", "예준", "채원", "지호", "유진",
          "승민", "다은", "태윤", "소율", "건우", "나연", "시우", "은지")


def supporter_name(i: int) -> str:
    return _FAMILY[(i * 7) % len(_FAMILY)] + _GIVEN[(i - 1) % len(_GIVEN)]


# Who wrote each proposal (by title): a demo account, or a neighbour (supporterNN@demo.kr).
# Never resident@demo.kr for all of them: she would have nothing to endorse.
AUTHORS = {
    "초등학교 안전 통학로 조성": "resident@demo.kr",
    "어르신 디지털 교육 확대": "grandma@demo.kr",
}
RESIDENT_ENDORSES = "전동킥보드 주차구역 지정"  # her own endorsement: "withdraw" is offered there only

# title, body, category, district, location, status, endorsers, extra
PROPOSALS = [
    ("초등학교 안전 통학로 조성", "성수초등학교 앞 왕복 2차로는 아침마다 학부모 차량과 배달 오토바이가 뒤섞여 아이들이 "
     "차도로 걷는 일이 잦습니다. 보도 펜스와 옐로카펫, 스마트 횡단보도(보행자 감지 신호)를 설치하고 등교 시간대 "
     "차량 진입을 제한해 주세요.", "safety", DISTRICT, "성수초등학교 정문 앞", "voting", 40,
     {"vote_days": 7, "department": "교통행정과", "votes": (23, 4)}),
    ("버스정류장 스마트 쉼터 확대", "여름 폭염과 겨울 한파에 버스를 기다리는 어르신들이 많습니다. 냉난방과 공기청정, "
     "히어링 루프를 갖춘 스마트 쉼터를 왕십리역 일대 정류장에 더 설치해 주세요.", "transport", DISTRICT,
     "왕십리역 5번 출구 정류장", "accepted", 38,
     {"department": "교통행정과",
      "answer": {"ko": "2027년 상반기까지 왕십리역 일대 정류장 3곳에 스마트 쉼터를 추가 설치합니다.",
                 "en": "By the first half of 2027 the city will add smart shelters at three stops around "
                       "Wangsimni station.",
                 "zh": "到2027年上半年，将在往十里站周边的三个公交站增设智能候车亭。"}}),
    ("중랑천 산책로 야간 조명 개선", "중랑천 산책로 일부 구간은 밤이 되면 너무 어두워 혼자 걷기 무섭습니다. 동작 감지형 "
     "LED 조명과 비상벨을 설치해 주세요.", "safety", DISTRICT, "중랑천 살곶이다리 부근", "under_review", 35,
     {"department": "안전총괄과"}),
    ("공원 내 반려견 놀이터 설치", "서울숲 인근에 반려견을 키우는 가구가 많지만 목줄 없이 뛰어놀 수 있는 공간이 없습니다. "
     "울타리가 있는 반려견 놀이터를 만들어 주세요.", "environment", DISTRICT, "서울숲 북측 유휴부지", "open", 18, {}),
    ("어르신 디지털 교육 확대", "키오스크와 모바일 민원 앱 사용이 어려운 어르신이 많습니다. 주민센터에서 주 2회 "
     "디지털 기초 교육을 열어 주세요.", "education", DISTRICT, None, "open", 22, {}),
    ("일회용 컵 보증금제 매장 확대", "카페 밀집 지역인 성수동에 다회용 컵 반납기를 늘리고 참여 매장에 혜택을 주면 "
     "쓰레기가 크게 줄 것입니다.", "environment", DISTRICT, "성수동 카페거리", "open", 12, {}),
    ("청소년 심야 독서실 운영", "시험 기간에 청소년들이 안전하게 공부할 수 있도록 구립도서관 열람실을 자정까지 "
     "운영해 주세요.", "education", DISTRICT, "성동구립도서관", "open", 9, {}),
    ("전동킥보드 주차구역 지정", "인도 한가운데 방치된 전동킥보드 때문에 유모차와 휠체어가 지나가기 어렵습니다. "
     "지정 주차구역을 만들고 구역 밖 주차는 견인해 주세요.", "transport", DISTRICT, "뚝섬역 일대", "open", 27, {}),
    ("독거 어르신 안부 확인 서비스", "혼자 사시는 어르신께 AI 안부 전화를 드리고 응답이 없으면 동주민센터가 방문하는 "
     "서비스를 만들어 주세요.", "welfare", DISTRICT, None, "under_review", 33, {}),
    ("골목 상권 문화 축제 개최", "성수동 수제화 거리와 골목 상점을 잇는 주말 문화 축제를 열어 지역 상권을 살려 주세요.",
     "culture", DISTRICT, "성수동 수제화 거리", "open", 7, {}),
    ("민원 처리 현황 온라인 공개", "제가 낸 민원이 어느 부서에서 어떻게 처리되고 있는지 단계별로 온라인에서 확인할 수 "
     "있으면 좋겠습니다.", "administration", DISTRICT, None, "open", 5, {}),
    ("빗물받이 악취 개선", "여름철 빗물받이에서 올라오는 악취가 심합니다. 악취 차단 장치를 설치해 주세요.",
     "environment", DISTRICT, "행당동 주택가", "closed", 4, {}),
]


def _supporters(session: Session) -> list[int]:
    digest = None
    ids = []
    for i in range(1, SUPPORTERS + 1):
        email = f"supporter{i:02d}@demo.kr"
        user = accounts.find_by_email(session, email)
        if user is None:
            if digest is None:  # one argon2 hash for all demo supporters
                from portal.accounts.demo import DEMO_PASSWORD

                digest = accounts.hash_password(DEMO_PASSWORD)
            user = accounts.create_user(session, email, None, password_hash=digest, name=supporter_name(i),
                                        roles=(RESIDENT,), district=DISTRICT, verified=True)
        ids.append(user.id)
    return ids


def _author(session: Session, n: int, title: str, supporters: list[int]) -> int | None:
    """The id of who wrote the proposal: AUTHORS, else a neighbour of its own."""
    email = AUTHORS.get(title)
    if email is None:
        return supporters[-1 - n]  # the last ones, who endorse least
    user = accounts.find_by_email(session, email)
    return user.id if user is not None else None


def _vote(session: Session, p: Proposal, supporters: list[int], votes: tuple[int, int]) -> None:
    """The demo's ballots, sealed with the vote's key like real ones, in a shuffled order."""
    open_ballot(session, p)
    public_key = ballot_box(session, p.id).public_key
    choices = [choice for choice, n in zip(("for", "against"), votes, strict=True) for _ in range(n)]
    random.SystemRandom().shuffle(choices)
    for uid in supporters[:len(choices)]:
        session.add(BallotParticipation(proposal_id=p.id, user_id=uid))
    for choice in choices:
        sealed = seal(public_key, choice)
        session.add(SealedBallot(proposal_id=p.id, receipt=receipt_of(sealed), sealed=sealed))


def _endorse(session: Session, p: Proposal, user_id: int, when) -> None:
    """One more endorsement of a demo proposal, counted (seeding only: no threshold check)."""
    session.add(Endorsement(proposal_id=p.id, user_id=user_id, created_at=when))
    p.endorsement_count += 1


def _mend_author(session: Session, p: Proposal, author_id: int) -> None:
    """A demo proposal seeded when resident@demo.kr wrote them all gets its own author; an
    endorsement the new author had given it goes (nobody endorses their own)."""
    old = p.author_id
    p.author_id = author_id
    mine = session.scalar(select(Endorsement).where(Endorsement.proposal_id == p.id,
                                                    Endorsement.user_id == author_id))
    if mine is not None:
        session.delete(mine)
        p.endorsement_count -= 1
    follow = session.scalar(select(Follow).where(Follow.proposal_id == p.id, Follow.user_id == old))
    if follow is not None:
        follow.user_id = author_id


def seed(session: Session) -> None:
    resident = accounts.find_by_email(session, "resident@demo.kr")
    if resident is None:
        return
    supporters = _supporters(session)
    staff = accounts.find_by_email(session, "staff@demo.kr")
    now = utcnow()
    for n, (title, body, category, district, location, status, endorsers, extra) in enumerate(PROPOSALS):
        author_id = _author(session, n, title, supporters) or resident.id
        existing = session.scalar(select(Proposal).where(Proposal.title == title))
        if existing is not None:
            if existing.author_id == resident.id and author_id != resident.id:
                _mend_author(session, existing, author_id)
            continue
        created = now - timedelta(days=40 - n * 3)
        until = created + timedelta(days=30)
        if status == "open" and until <= now:
            until = now + timedelta(days=10 + n)
        p = Proposal(author_id=author_id, title=title, body=body, category=category, district=district,
                     location=location, status=status, endorsement_count=0, created_at=created,
                     endorse_until=until, status_changed_at=created + timedelta(days=5), lang="ko",
                     department=extra.get("department"), answer=extra.get("answer"))
        session.add(p)
        session.flush()
        session.add(Follow(proposal_id=p.id, user_id=author_id, created_at=created))
        for uid in [u for u in supporters if u != author_id][:endorsers]:
            _endorse(session, p, uid, created + timedelta(hours=6))
        if title == RESIDENT_ENDORSES and author_id != resident.id:
            _endorse(session, p, resident.id, created + timedelta(days=1))
        path = {"under_review": ["under_review"], "voting": ["under_review", "voting"],
                "accepted": ["under_review", "accepted"], "closed": ["closed"]}.get(status, [])
        frm = "open"
        for i, to in enumerate(path):
            session.add(ProposalTransition(proposal_id=p.id, from_status=frm, to_status=to,
                                           actor_id=None if to in ("under_review", "closed") else
                                           (staff.id if staff else None),
                                           created_at=created + timedelta(days=5 + i)))
            frm = to
        if status == "voting":
            p.vote_ends_at = now + timedelta(days=extra["vote_days"])
            _vote(session, p, supporters, extra["votes"])
    session.commit()
