"""The HTML pages: list, detail, new proposal, staff triage; in ko, en and zh; CSRF on forms."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from proposals.models import Proposal
from tests.proposals.helpers import BODY, past


@pytest.mark.parametrize("lang, heading, status, endorse", [
    ("ko", "정책 제안", "공감 모집 중", "공감하기"),
    ("en", "Policy proposals", "Open for endorsement", "Endorse"),
    ("zh", "政策提案", "征集支持中", "支持"),
])
def test_pages_in_three_languages(client, make_user, login, new_proposal, lang, heading, status, endorse):
    p = new_proposal(make_user(), title="초등학교 앞 안전한 통학로")
    html = client.get(f"/proposals/?lang={lang}").get_data(as_text=True)
    assert f"<h1>{heading}</h1>" in html
    assert "초등학교 앞 안전한 통학로" in html and status in html
    login(client, make_user(locale=lang))
    html = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert f">{endorse}</button>" in html
    assert status in html


def test_list_page_filters_and_pages(client, make_user, new_proposal):
    author = make_user()
    for i in range(25):
        new_proposal(author, title=f"공원 벤치 교체 요청 {i:02d}", category="environment")
    new_proposal(author, title="버스 배차 간격 단축", category="transport")
    first = client.get("/proposals/?sort=newest&category=environment")
    html = first.get_data(as_text=True)
    assert first.status_code == 200
    assert "공원 벤치 교체 요청 24" in html and "버스 배차 간격 단축" not in html
    more = re.search(r'<p class="pager"><a href="([^"]+)"', html)
    assert more, "a second page is linked"
    second = client.get(more.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "공원 벤치 교체 요청 00" in second and "공원 벤치 교체 요청 24" not in second
    assert "버스 배차 간격 단축" in client.get("/proposals/?q=배차").get_data(as_text=True)
    assert client.get("/proposals/?sort=sideways").status_code == 422


def test_new_proposal_form(client, make_user, login):
    login(client, make_user())
    page = client.get("/proposals/new")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.get_data(as_text=True)
    assert "similar.js" in page.get_data(as_text=True)
    bad = client.form("/proposals/new", {"title": "짧", "body": "짧은 본문", "category": "safety"})
    assert bad.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0
    r = client.form("/proposals/new", {"title": "스쿨존 과속 단속 카메라 설치", "body": BODY, "category": "safety",
                                       "district": "성동구"})
    assert r.status_code == 302
    p = db.session.scalars(select(Proposal)).one()
    assert r.headers["Location"].endswith(f"/proposals/{p.id}")
    assert p.title == "스쿨존 과속 단속 카메라 설치" and p.status == "open"


def test_new_proposal_needs_verified_resident(client, make_user, login):
    assert client.get("/proposals/new").status_code == 401
    login(client, make_user(verified=False))
    assert client.get("/proposals/new").status_code == 403


def test_forms_refuse_a_missing_csrf_token(client, make_user, login, new_proposal):
    p = new_proposal(make_user())
    login(client, make_user())
    r = client.post(f"/proposals/{p.id}/endorse", data={})
    assert r.status_code == 400
    r = client.post("/proposals/new", data={"title": "스쿨존 과속 단속 카메라", "body": BODY, "category": "safety"})
    assert r.status_code == 400
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).endorsement_count == 0
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 1
    r = client.form(f"/proposals/{p.id}/endorse")
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).endorsement_count == 1
    html = client.get(f"/proposals/{p.id}?lang=en").get_data(as_text=True)
    assert "Withdraw my endorsement" in html
    client.form(f"/proposals/{p.id}/unendorse")
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).endorsement_count == 0


def test_detail_page_comment_follow_flag_vote(client, make_user, login, new_proposal, start_vote, end_and_count):
    p = new_proposal(make_user())
    login(client, make_user())
    client.form(f"/proposals/{p.id}/comments", {"body": "좋은 제안입니다. 꼭 필요합니다."})
    client.form(f"/proposals/{p.id}/follow")
    client.form(f"/proposals/{p.id}/flag", {"reason": "테스트 신고"})
    html = client.get(f"/proposals/{p.id}?lang=en").get_data(as_text=True)
    assert "좋은 제안입니다. 꼭 필요합니다." in html
    assert "Stop following" in html
    start_vote(p.id)
    assert "The result is secret until the vote ends." in client.get(f"/proposals/{p.id}?lang=en").get_data(as_text=True)
    assert client.form(f"/proposals/{p.id}/ballot", {"choice": "against"}).status_code == 302
    assert client.form(f"/proposals/{p.id}/ballot", {"choice": "for"}).status_code == 409
    end_and_count(p.id)
    html = client.get(f"/proposals/{p.id}?lang=en").get_data(as_text=True)
    assert re.search(r"For: <strong>0</strong> · Against: <strong>1</strong>", html)


def test_staff_triage_and_transition_form(client, make_user, login, new_proposal, set_state):
    old, new = new_proposal(make_user(), title="가장 먼저 검토할 제안"), new_proposal(make_user(), title="나중에 검토할 제안")
    set_state(old.id, "under_review", status_changed_at=past(3))
    set_state(new.id, "under_review", status_changed_at=past(1))
    login(client, make_user())
    assert client.get("/proposals/staff/triage").status_code == 403
    login(client, make_user(roles=("staff",)))
    html = client.get("/proposals/staff/triage?lang=en").get_data(as_text=True)
    assert html.index("가장 먼저 검토할 제안") < html.index("나중에 검토할 제안")
    r = client.form(f"/proposals/{old.id}/transition", {"to": "rejected", "answer": "예산 부족으로 어렵습니다."})
    assert r.status_code == 302
    html = client.get(f"/proposals/{old.id}?lang=en").get_data(as_text=True)
    assert "Rejected" in html and "예산 부족으로 어렵습니다." in html
    assert "Under review → Rejected" in html  # the visible history
    r = client.form(f"/proposals/{old.id}/transition", {"to": "voting"})
    assert r.status_code == 409


def test_anonymous_list_may_lag_but_residents_see_it_at_once(app, client, make_user, login, new_proposal):
    from proposals import views

    app.config["PROPOSAL_LIST_CACHE_SECONDS"] = 60
    views._listing_cache.clear()
    try:
        author = make_user()
        new_proposal(author, title="첫 번째 캐시 확인 제안")
        assert "첫 번째 캐시 확인 제안" in client.get("/proposals/").get_data(as_text=True)
        new_proposal(author, title="두 번째 캐시 확인 제안")
        stale = client.get("/proposals/").get_data(as_text=True)
        assert "두 번째 캐시 확인 제안" not in stale  # the anonymous page comes from the micro-cache
        assert "두 번째 캐시 확인 제안" in client.get("/proposals/?sort=newest").get_data(as_text=True)
        login(client, make_user())
        assert "두 번째 캐시 확인 제안" in client.get("/proposals/").get_data(as_text=True)
    finally:
        views._listing_cache.clear()


def test_staff_opens_a_vote_with_a_seoul_end_time(client, make_user, login, new_proposal, set_state, reload):
    """The form's date and time has no offset: a person means the city's clock (Asia/Seoul)."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    day = (datetime.now(ZoneInfo("Asia/Seoul")) + timedelta(days=30)).date()
    p = new_proposal(make_user())
    set_state(p.id, "under_review")
    login(client, make_user(roles=("staff",)))
    r = client.form(f"/proposals/{p.id}/transition", {"to": "voting", "vote_ends_at": f"{day}T18:00"})
    assert r.status_code == 302
    voting = reload(p.id)
    assert voting.status == "voting"
    assert voting.vote_ends_at == datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)  # 18:00 in Seoul


def test_pages_tell_an_unconfirmed_resident_why_and_what_to_do(client, make_user, login, new_proposal, start_vote):
    open_p, vote = new_proposal(make_user()), new_proposal(make_user(), title="투표 중인 다른 제안입니다")
    start_vote(vote.id)
    login(client, make_user(email_confirmed=False, locale="en"))
    new = client.get("/proposals/new")
    assert new.status_code == 403 and "Confirm your email address first" in new.get_data(as_text=True)
    for p, form in ((open_p, "endorse"), (vote, "ballot")):
        html = client.get(f"/proposals/{p.id}").get_data(as_text=True)
        assert "Confirm your email address to propose, endorse and vote" in html
        assert 'action="/account/confirm/resend"' in html
        assert f'action="/proposals/{p.id}/{form}"' not in html
    assert client.form(f"/proposals/{open_p.id}/endorse").status_code == 403
    assert client.form(f"/proposals/{vote.id}/ballot", {"choice": "for"}).status_code == 403


# -- issue 13, finding 7: the demo resident can endorse, and every page says why it cannot ----

def test_the_demo_resident_can_endorse_a_proposal_of_another_resident(client, login):
    """resident@demo.kr wrote every demo proposal: no endorse button anywhere, and "withdraw"
    offered on all of them (their own)."""
    from portal.accounts import demo as accounts_demo
    from portal.accounts.models import User
    from proposals import demo

    accounts_demo.seed(db.session)
    demo.seed(db.session)
    resident = db.session.scalar(select(User).where(User.email == "resident@demo.kr"))
    login(client, resident)
    open_ones = db.session.scalars(select(Proposal).where(Proposal.status == "open")).all()
    theirs = [p for p in open_ones if p.author_id != resident.id]
    assert theirs, "open demo proposals by other residents"
    p = theirs[0]
    html = client.get(f"/proposals/{p.id}?lang=en").get_data(as_text=True)
    assert f'action="/proposals/{p.id}/endorse"' in html
    assert "Withdraw my endorsement" not in html and "Withdraw your proposal" not in html
    assert "Seongdong-gu" in html and ">seongdong<" not in html  # the district named, never its code
    before = p.endorsement_count
    assert client.form(f"/proposals/{p.id}/endorse").status_code == 302
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).endorsement_count == before + 1
    html = client.get(f"/proposals/{p.id}?lang=en").get_data(as_text=True)
    assert "Withdraw my endorsement" in html


WHY = {
    "own": {"ko": "직접 작성한 제안에는 공감할 수 없습니다.",
            "en": "You wrote this proposal, so you cannot endorse it.",
            "zh": "您不能支持自己提出的提案。"},
    "anonymous": {"ko": "공감하려면 로그인해 주세요.", "en": "Sign in to endorse.", "zh": "请登录后支持。"},
    "not_verified": {"ko": "제안·공감·투표를 하려면 거주 인증을 해 주세요.",
                     "en": "Verify your residency to propose, endorse and vote.",
                     "zh": "如需提交提案、支持或投票，请先完成居住认证。"},
    "unconfirmed": {"ko": "제안·공감·투표를 하려면 이메일 주소를 인증해 주세요.",
                    "en": "Confirm your email address to propose, endorse and vote",
                    "zh": "如需提交提案、支持或投票，请先验证您的电子邮件地址"},
    "under_review": {"ko": "공감 모집이 끝났습니다. 공감이 기준에 이르러 시가 검토하고 있습니다.",
                     "en": "Endorsing has closed: the proposal gathered enough endorsements and the city is "
                           "reviewing it.",
                     "zh": "支持征集已结束：该提案已获得足够支持，市政府正在审查。"},
    "expired": {"ko": "공감 모집이 끝났습니다. 공감 모집 기간이 지났습니다.",
                "en": "Endorsing has closed: the time for endorsements is over.",
                "zh": "支持征集已结束：征集期限已过。"},
}
LINKS = {"anonymous": 'href="/account/login?next=', "not_verified": 'href="/account/verify"',
         "unconfirmed": 'action="/account/confirm/resend"'}


@pytest.mark.parametrize("lang", ["ko", "en", "zh"])
@pytest.mark.parametrize("case", list(WHY))
def test_the_endorsement_box_says_why_it_offers_no_button(client, make_user, login, new_proposal, set_state,
                                                          lang, case):
    author = make_user()
    p = new_proposal(author)
    if case == "own":
        login(client, author)
    elif case == "not_verified":
        login(client, make_user(verified=False))
    elif case == "unconfirmed":
        login(client, make_user(email_confirmed=False))
    elif case == "under_review":
        set_state(p.id, "under_review")
        login(client, make_user())
    elif case == "expired":
        set_state(p.id, "open", endorse_until=past(1))
        login(client, make_user())
    html = client.get(f"/proposals/{p.id}?lang={lang}").get_data(as_text=True)
    box = html[html.index('<section class="endorse"'):]
    box = box[:box.index("</section>")]
    assert WHY[case][lang] in box
    if case in LINKS:
        assert LINKS[case] in box
    assert f'action="/proposals/{p.id}/endorse"' not in html
    assert f'action="/proposals/{p.id}/unendorse"' not in html  # "withdraw" only after endorsing


@pytest.mark.parametrize("lang, voted, anonymous", [
    ("ko", "투표했습니다.", "투표하려면 로그인해 주세요."),
    ("en", "You have voted.", "Sign in to vote."),
    ("zh", "您已投票。", "请登录后投票。"),
])
def test_the_vote_box_says_why_it_offers_no_ballot(client, make_user, login, new_proposal, start_vote,
                                                   lang, voted, anonymous):
    p = new_proposal(make_user())
    start_vote(p.id)
    html = client.get(f"/proposals/{p.id}?lang={lang}").get_data(as_text=True)
    assert anonymous in html and 'href="/account/login?next=' in html
    login(client, make_user())
    assert client.form(f"/proposals/{p.id}/ballot", {"choice": "for"}).status_code == 302
    html = client.get(f"/proposals/{p.id}?lang={lang}").get_data(as_text=True)
    assert voted in html and f'action="/proposals/{p.id}/ballot"' not in html
    # the endorsement box says endorsing closed because of the vote
    closed = {"ko": "공감 모집이 끝났습니다. 이 제안은 주민 찬반 투표 중입니다.",
              "en": "Endorsing has closed: the proposal is now in a resident vote.",
              "zh": "支持征集已结束：该提案正在进行居民投票。"}[lang]
    assert closed in html


# -- the staff proposal page ----------------------------------------------------------------

def _status_select(html: str) -> str:
    return re.search(r'<select[^>]*name="to"[^>]*>.*?</select>', html, re.S).group(0)


def test_the_staff_status_select_defaults_to_choose_not_to_a_vote(client, make_user, login, new_proposal,
                                                                  set_state, reload):
    p = new_proposal(make_user())
    set_state(p.id, "under_review")
    login(client, make_user(roles=("staff",)))
    for lang, choose in (("ko", "선택하세요…"), ("en", "Choose…"), ("zh", "请选择…")):
        select_html = _status_select(client.get(f"/proposals/{p.id}?lang={lang}").get_data(as_text=True))
        first = re.search(r"<option[^>]*>([^<]*)</option>", select_html)
        assert first.group(1) == choose and 'value=""' in first.group(0)
        assert not re.search(r"<option[^>]*selected[^>]*>", select_html.replace(first.group(0), ""))
    # applying without choosing changes nothing and says so beside the select
    r = client.form(f"/proposals/{p.id}/transition?lang=en", {"to": "", "answer": ""})
    assert r.status_code == 422
    assert reload(p.id).status == "under_review"
    assert re.search(r'<select[^>]*aria-invalid="true"[^>]*name="to"|<select[^>]*name="to"[^>]*aria-invalid="true"',
                     r.get_data(as_text=True))


@pytest.mark.parametrize("lang, required", [
    ("ko", "채택하거나 불채택하려면 공식 답변이 필요합니다."),
    ("en", "An official answer is required to accept or reject."),
    ("zh", "采纳或不采纳时必须填写官方答复。"),
])
def test_answer_required_shows_beside_the_answer_and_keeps_what_was_typed(client, make_user, login, new_proposal,
                                                                          set_state, reload, lang, required):
    p = new_proposal(make_user())
    set_state(p.id, "under_review")
    login(client, make_user(roles=("staff",)))
    r = client.form(f"/proposals/{p.id}/transition?lang={lang}",
                    {"to": "accepted", "answer": "", "department": "교통행정과"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    field = re.search(r'<div class="field has-error">\s*<label for="answer".*?</div>', html, re.S)
    assert field and required in field.group(0)
    assert 'value="accepted" selected' in _status_select(html) or 'selected value="accepted"' in _status_select(html)
    assert 'value="교통행정과"' in html
    assert reload(p.id).status == "under_review"


def test_the_staff_proposal_page_has_unique_ids(client, make_user, login, new_proposal, set_state):
    p = new_proposal(make_user())
    set_state(p.id, "under_review")
    login(client, make_user(roles=("staff",)))
    html = client.get(f"/proposals/{p.id}?lang=en").get_data(as_text=True)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert ids and len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for target in re.findall(r'<label for="([^"]+)"', html):
        assert ids.count(target) == 1, target
