"""Helpers shared by the proposals tests."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.types import utcnow
from proposals.models import ProposalTransition

requires_postgres = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL") or "").startswith(("postgres://", "postgresql")),
    reason="concurrency is proven on PostgreSQL (set DATABASE_URL)")

ANSWER = {"ko": "검토 결과 내년 예산에 반영합니다.", "en": "It is in next year's budget.", "zh": "已列入明年预算。"}
BODY = "통학로에 보도 펜스와 스마트 횡단보도를 설치해 아이들이 안전하게 걷게 해 주세요."


def transitions_of(proposal_id, to=None) -> list[ProposalTransition]:
    stmt = select(ProposalTransition).where(ProposalTransition.proposal_id == proposal_id)
    if to:
        stmt = stmt.where(ProposalTransition.to_status == to)
    return list(db.session.scalars(stmt.order_by(ProposalTransition.id)))


def past(days=1):
    return utcnow() - timedelta(days=days)


def future(days=1):
    return utcnow() + timedelta(days=days)
