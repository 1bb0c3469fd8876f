"""The API's bodies: what a request may hold (``...In``: types only, unknown fields are 422;
the service holds the rules and the field messages) and what each answer holds (``...Out``),
each beside the one function that builds that answer as a plain dict."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import url_for
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from portal.api import Body, iso
from portal.inputs import MAX_ID

from . import limits
from .vocabulary import CATEGORIES, CATEGORY_LABELS, STATUS_LABELS, STATUSES

# -- requests ------------------------------------------------------------------------------
# Length limits are documented here (json_schema_extra) but checked by the service, after
# trimming and with every bad field reported at once, so no pydantic constraint answers first.

class ProposalIn(Body):
    title: str | None = Field(None, json_schema_extra={"minLength": limits.TITLE_MIN,
                                                       "maxLength": limits.TITLE_MAX})
    body: str | None = Field(None, json_schema_extra={"minLength": limits.BODY_MIN,
                                                      "maxLength": limits.BODY_MAX})
    category: str | None = None
    district: str | None = Field(None, json_schema_extra={"maxLength": limits.DISTRICT_MAX})
    location: str | None = Field(None, json_schema_extra={"maxLength": limits.LOCATION_MAX})


class TransitionIn(Body):
    to: str
    answer: str | dict[str, str] | None = None
    department: str | None = Field(None, json_schema_extra={"maxLength": limits.DEPARTMENT_MAX})
    # With its offset ("2027-03-02T18:00:00+09:00"): a time without one is 422, never guessed.
    vote_ends_at: AwareDatetime | None = None
    reason: str | None = Field(None, json_schema_extra={"maxLength": limits.REASON_MAX})


class BallotIn(Body):
    choice: str


class CommentIn(Body):
    body: str | None = Field(None, json_schema_extra={"maxLength": limits.COMMENT_MAX})


class FlagIn(Body):
    reason: str | None = Field(None, json_schema_extra={"maxLength": limits.REASON_MAX})


class MergeIn(Body):
    into: int = Field(ge=1, le=MAX_ID)


# -- answers -------------------------------------------------------------------------------

class Out(BaseModel):
    """An answer's shape: exactly these fields, of exactly these JSON types."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ProposalOut(Out):
    """A proposal in a list (and the fields every proposal answer starts with)."""

    id: int
    title: str
    category: Literal[CATEGORIES]
    category_label: str
    district: str | None
    status: Literal[STATUSES]
    status_label: str
    endorsement_count: int
    endorse_until: datetime
    vote_ends_at: datetime | None
    created_at: datetime
    department: str | None
    merged_into: int | None
    url: str


class TriageItemOut(ProposalOut):
    flags: int


class EndorsedOut(ProposalOut):
    endorsed: Literal[True]


def proposal_json(p, *, flags: int | None = None) -> dict:
    """ProposalOut, or TriageItemOut with `flags`."""
    out = {
        "id": p.id,
        "title": p.title,
        "category": p.category,
        "category_label": str(CATEGORY_LABELS.get(p.category, p.category)),
        "district": p.district,
        "status": p.status,
        "status_label": str(STATUS_LABELS.get(p.status, p.status)),
        "endorsement_count": p.endorsement_count,
        "endorse_until": iso(p.endorse_until),
        "vote_ends_at": iso(p.vote_ends_at),
        "created_at": iso(p.created_at),
        "department": p.department,
        "merged_into": p.merged_into_id,
        "url": url_for("proposals.detail", proposal_id=p.id, _external=False),
    }
    if flags is not None:
        out["flags"] = flags
    return out


def endorsed_json(p) -> dict:
    """EndorsedOut."""
    return {**proposal_json(p), "endorsed": True}


class TallyOut(Out):
    """The result of a vote (null until it ends)."""

    for_: int = Field(alias="for")
    against: int


class HistoryItemOut(Out):
    from_: str = Field(alias="from")
    to: str
    at: datetime
    note: str | None


class ViewerOut(Out):
    """What the signed-in reader has done (all false when anonymous)."""

    is_author: bool
    endorsed: bool
    following: bool
    voted: bool


class ProposalDetailOut(ProposalOut):
    body: str
    location: str | None
    answer: str | None
    answer_lang: str | None
    hidden_reason: str | None
    tally: TallyOut | None
    endorsement_threshold: int
    history: list[HistoryItemOut]
    viewer: ViewerOut


def proposal_detail_json(p, *, answer: str | None, answer_lang: str | None, tally: dict | None,
                         threshold: int, history, viewer: dict) -> dict:
    """ProposalDetailOut: `tally` as `service.tally` gives it, `history` the transition rows,
    `viewer` a ViewerOut dict."""
    out = proposal_json(p)
    out.update({
        "body": p.body,
        "location": p.location,
        "answer": answer or None,
        "answer_lang": answer_lang,
        "hidden_reason": p.hidden_reason if p.status == "hidden" else None,
        "tally": tally,
        "endorsement_threshold": threshold,
        "history": [
            {"from": t.from_status, "to": t.to_status, "at": iso(t.created_at), "note": t.note}
            for t in history
        ],
        "viewer": viewer,
    })
    return out


class ProposalListOut(Out):
    items: list[ProposalOut]
    next_cursor: str | None


class SimilarOut(Out):
    items: list[ProposalOut]


class TriageOut(Out):
    items: list[TriageItemOut]
    next_cursor: None


class CommentOut(Out):
    id: int
    body: str
    created_at: datetime


class CommentListOut(Out):
    items: list[CommentOut]
    next_cursor: str | None


def comment_json(c) -> dict:
    """CommentOut."""
    return {"id": c.id, "body": c.body, "created_at": iso(c.created_at)}


class ReceiptOut(Out):
    """A ballot's receipt: the SHA-256 (hex) of the sealed ballot, listed once counted."""

    receipt: str = Field(pattern=f"^[0-9a-f]{{{limits.RECEIPT_LENGTH}}}$")


def receipt_json(receipt: str) -> dict:
    """ReceiptOut."""
    return {"receipt": receipt}


class ReceiptListOut(Out):
    """The receipts of a counted vote, sorted."""

    items: list[str]
    next_cursor: str | None


def receipts_json(receipts: list[str], next_cursor: str | None) -> dict:
    """ReceiptListOut."""
    return {"items": receipts, "next_cursor": next_cursor}


class FlaggedOut(Out):
    flagged: Literal[True]


class FollowingOut(Out):
    following: Literal[True]
