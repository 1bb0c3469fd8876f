"""The API's bodies: what a request may hold (``...In``: types only, unknown fields are 422;
the service holds the rules and the field messages) and what each answer holds (``...Out``),
each beside the one function that builds that answer as a plain dict."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from portal.api import MAX_LIMIT, Body, Query, iso
from portal.apidoc import checked, required
from portal.i18n import LOCALES, labels
from portal.inputs import MAX_ID
from portal.links import path_of

from . import limits
from .vocabulary import CATEGORIES, CATEGORY_LABELS, CHOICES, SORTS, STATUS_LABELS, STATUSES

# -- requests ------------------------------------------------------------------------------
# The rules of a field (required, one of a set, its length) are documented here, in the JSON
# schema of the model that parses the body, but checked by the service: after trimming, with
# every bad field reported at once and its own message, so no pydantic constraint answers
# first (portal.apidoc.checked / required). Texts also need a character a person can see (the
# service's 422 otherwise).


def _text(lo: int, hi: int, *, nullable: bool = False) -> dict:
    kind = {"type": ["string", "null"]} if nullable else {"type": "string"}
    return {**kind, **({"minLength": lo} if lo else {}), "maxLength": hi}


class ProposalIn(Body):
    model_config = ConfigDict(json_schema_extra=required("title", "body", "category"))

    title: str | None = Field(None, json_schema_extra=checked(**_text(limits.TITLE_MIN, limits.TITLE_MAX)))
    body: str | None = Field(None, json_schema_extra=checked(**_text(limits.BODY_MIN, limits.BODY_MAX)))
    category: str | None = Field(None, json_schema_extra=checked(type="string", enum=list(CATEGORIES)))
    district: str | None = Field(None, json_schema_extra=checked(**_text(0, limits.DISTRICT_MAX, nullable=True)))
    location: str | None = Field(None, json_schema_extra=checked(**_text(0, limits.LOCATION_MAX, nullable=True)))


_ANSWER_TEXT = _text(0, limits.ANSWER_MAX)


class TransitionIn(Body):
    to: str = Field(json_schema_extra=checked(type="string", enum=[s for s in STATUSES if s != "merged"]))
    answer: str | dict[str, str] | None = Field(None, json_schema_extra=checked(
        anyOf=[_ANSWER_TEXT,
               {"type": "object", "additionalProperties": False,
                "properties": {lang: _ANSWER_TEXT for lang in LOCALES}},
               {"type": "null"}],
        description="The official answer (required to accept or reject): a text in the writer's "
                    "language or one text per language"))
    department: str | None = Field(None, json_schema_extra=checked(
        **_text(0, limits.DEPARTMENT_MAX, nullable=True)))
    # With its offset ("2027-03-02T18:00:00+09:00"): a time without one is 422, never guessed.
    vote_ends_at: AwareDatetime | None = Field(None, description=(
        "To put to a vote (required then): with its offset (a time without one is 422), in the "
        f"future, within {limits.VOTE_DAYS_MAX} days"))
    reason: str | None = Field(None, json_schema_extra=checked(
        **_text(0, limits.REASON_MAX, nullable=True), description="Required to hide"))


class BallotIn(Body):
    choice: str = Field(json_schema_extra=checked(type="string", enum=list(CHOICES)))


class CommentIn(Body):
    model_config = ConfigDict(json_schema_extra=required("body"))

    body: str | None = Field(None, json_schema_extra=checked(**_text(1, limits.COMMENT_MAX)))


class FlagIn(Body):
    model_config = ConfigDict(json_schema_extra=required("reason"))

    reason: str | None = Field(None, json_schema_extra=checked(**_text(1, limits.REASON_MAX)))


class MergeIn(Body):
    into: int = Field(ge=1, le=MAX_ID)


# -- query strings -------------------------------------------------------------------------

class PageQuery(Query):
    cursor: str = Field("", description="next_cursor of the page before (none: the first page)")
    limit: int = Field(limits.PAGE_SIZE, ge=1, le=MAX_LIMIT)


class ProposalListQuery(PageQuery):
    """The list's filters (an empty value is no filter; status=hidden lists nothing but for
    staff); q and district are cut to their limits, not refused."""

    status: Literal[("", *STATUSES)] = ""
    category: Literal[("", *CATEGORIES)] = ""
    district: str = Field("", description=f"The first {limits.DISTRICT_MAX} characters count")
    q: str = Field("", description=f"Words searched in titles and bodies (the first {limits.QUERY_MAX} "
                                   "characters count)")
    sort: Literal[("", *SORTS)] = Field("", description="popular when empty")


class SimilarQuery(Query):
    title: str = Field("", description=f"The title typed so far (the first {limits.TITLE_MAX} characters "
                                       "count)")


class CommentsQuery(PageQuery):
    limit: int = Field(limits.COMMENTS_PAGE_SIZE, ge=1, le=MAX_LIMIT)


class ReceiptsQuery(PageQuery):
    limit: int = Field(limits.RECEIPTS_PAGE_SIZE, ge=1, le=MAX_LIMIT)


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


def proposal_json(p, *, flags: int | None = None, words: tuple | None = None) -> dict:
    """ProposalOut, or TriageItemOut with `flags`. A list passes `words` (list_words()): the
    labels and the route are looked up once per list, not per item."""
    link, categories, statuses = words or list_words()
    out = {
        "id": p.id,
        "title": p.title,
        "category": p.category,
        "category_label": categories.get(p.category, p.category),
        "district": p.district,
        "status": p.status,
        "status_label": statuses.get(p.status, p.status),
        "endorsement_count": p.endorsement_count,
        "endorse_until": iso(p.endorse_until),
        "vote_ends_at": iso(p.vote_ends_at),
        "created_at": iso(p.created_at),
        "department": p.department,
        "merged_into": p.merged_into_id,
        "url": link(p.id),
    }
    if flags is not None:
        out["flags"] = flags
    return out


def list_words() -> tuple:
    """What every item of a list shares: id -> the proposal's path, and the category and status
    labels in the current language."""
    return path_of("proposals.detail", "proposal_id"), labels(CATEGORY_LABELS), labels(STATUS_LABELS)


def proposals_json(rows) -> list[dict]:
    """ProposalOut of each proposal of a list."""
    words = list_words()
    return [proposal_json(p, words=words) for p in rows]


def endorsed_json(p) -> dict:
    """EndorsedOut."""
    return {**proposal_json(p), "endorsed": True}


class TallyOut(Out):
    """The result of a vote (null until it ends)."""

    for_: int = Field(alias="for")
    against: int


class HistoryItemOut(Out):
    from_: Literal[STATUSES] = Field(alias="from")
    to: Literal[STATUSES]
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
    answer_lang: Literal[LOCALES] | None
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

    items: list[Annotated[str, Field(pattern=f"^[0-9a-f]{{{limits.RECEIPT_LENGTH}}}$")]]
    next_cursor: str | None


def receipts_json(receipts: list[str], next_cursor: str | None) -> dict:
    """ReceiptListOut."""
    return {"items": receipts, "next_cursor": next_cursor}


class FlaggedOut(Out):
    flagged: Literal[True]


class FollowingOut(Out):
    following: Literal[True]
