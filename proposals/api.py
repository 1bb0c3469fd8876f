"""The proposals JSON API, under /api/v1/proposals (`flask --app portal routes` lists it)."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, jsonify, stream_with_context
from flask_login import current_user

from portal.api import api_login_required, iso, parse_body, parse_query
from portal.apidoc import doc
from portal.extensions import db
from portal.i18n import current_locale

from . import service, settings
from .schemas import (
    BallotIn,
    CommentIn,
    CommentListOut,
    CommentOut,
    CommentsQuery,
    EndorsedOut,
    FlaggedOut,
    FlagIn,
    FollowingOut,
    MergeIn,
    ProposalDetailOut,
    ProposalIn,
    ProposalListOut,
    ProposalListQuery,
    ReceiptListOut,
    ReceiptOut,
    ReceiptsQuery,
    SimilarOut,
    SimilarQuery,
    TransitionIn,
    TriageOut,
    comment_json,
    endorsed_json,
    list_words,
    proposal_detail_json,
    proposal_json,
    proposals_json,
    receipt_json,
    receipts_json,
)
from .service.lifecycle import read_detail

bp = Blueprint("proposals_api", __name__)
TAGS = ("proposals",)
NOT_VOTING = "not_voting: the proposal is not being voted on (never was, or the vote has ended)"


@bp.before_request
def _resolve_locale_early():
    # The locale depends on the signed-in user; settle it before a service commits and expires
    # that user, so answering does not load the user again.
    current_locale()


def _detail(p, read=None) -> dict:
    """ProposalDetailOut of `p`, as the signed-in reader sees it. `read`: what
    service.lifecycle.read_detail read (then `p` is its row), else read here."""
    session = db.session
    answer, answer_lang = service.public_answer(p, current_locale())
    if read is None:
        tally = service.tally(session, p)
        endorsed = service.has_endorsed(session, current_user, p.id)
        following = service.is_following(session, current_user, p.id)
        voted = service.has_voted(session, current_user, p.id)
    else:
        tally, endorsed, following, voted = read.tally, read.endorsed, read.following, read.voted
    return proposal_detail_json(
        p, answer=answer, answer_lang=answer_lang, tally=tally,
        threshold=settings.ENDORSEMENT_THRESHOLD(), history=service.history(session, current_user, p.id),
        viewer={
            "is_author": current_user.is_authenticated and current_user.id == p.author_id,
            "endorsed": endorsed,
            "following": following,
            "voted": voted,
        })


# -- listing, search, open data ------------------------------------------------------------

@bp.get("")
@doc(query=ProposalListQuery, answers={200: ProposalListOut}, public=True, tags=TAGS)
def list_proposals():
    """List, search, filter and sort proposals

    A cursor that is not a next_cursor is 422 bad_cursor."""
    args = parse_query(ProposalListQuery)
    query = service.parse_list_query(args.model_dump(exclude={"cursor", "limit"}))
    rows, next_cursor = service.list_proposals(db.session, current_user, query, args.cursor or None,
                                               args.limit)
    return jsonify({"items": proposals_json(rows), "next_cursor": next_cursor})


@bp.get("/similar")
@doc(query=SimilarQuery, answers={200: SimilarOut}, public=True, tags=TAGS)
def similar():
    """Up to five proposals with similar titles"""
    rows = service.similar(db.session, parse_query(SimilarQuery).title)
    return jsonify({"items": proposals_json(rows)})


EXPORT_FIELDS = ("id", "title", "category", "district", "status", "endorsement_count", "created_at",
                 "endorse_until", "vote_ends_at", "department", "answer", "merged_into")


@bp.get("/export.csv")
@doc(answers={200: "The public fields of the public proposals, a header row first"}, raw={200: "text/csv"},
     public=True, tags=TAGS)
def export_csv():
    """Open data: the public proposals as CSV"""
    session = db.session

    def rows():
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(EXPORT_FIELDS)
        for p, answer in service.export_rows(session):
            writer.writerow([p.id, _cell(p.title), p.category, _cell(p.district or ""), p.status,
                             p.endorsement_count, iso(p.created_at), iso(p.endorse_until),
                             iso(p.vote_ends_at) or "", _cell(p.department or ""), _cell(answer),
                             p.merged_into_id or ""])
            if buf.tell() > 64_000:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return Response(stream_with_context(rows()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=proposals.csv"})


def _cell(text: str) -> str:
    """Neutralise spreadsheet formulas in free text (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- one proposal --------------------------------------------------------------------------

@bp.post("")
@doc(body=ProposalIn, answers={201: ProposalDetailOut, 403: "not_verified, email_not_confirmed: residents "
                               "with a verified residency and a confirmed address propose"}, tags=TAGS)
@api_login_required
def create():
    """Submit a proposal (verified residents with a confirmed address)"""
    body = parse_body(ProposalIn)
    p = service.create_proposal(db.session, current_user, body.model_dump())
    return jsonify(_detail(p)), 201


@bp.get("/<int:proposal_id>")
@doc(answers={200: ProposalDetailOut}, public=True, tags=TAGS)
def detail(proposal_id: int):
    """One proposal with its history; tally null until the ballots are counted"""
    read = read_detail(db.session, current_user, proposal_id)  # one statement, the history a second
    return jsonify(_detail(read.row, read))


@bp.post("/<int:proposal_id>/endorsement")
@doc(answers={201: EndorsedOut, 200: EndorsedOut,
              403: "not_verified, email_not_confirmed; own_proposal: the author cannot endorse",
              409: "not_open: the proposal is not open for endorsement"}, tags=TAGS)
@api_login_required
def endorse(proposal_id: int):
    """Endorse (verified residents with a confirmed address, not the author)

    201 for a new endorsement, 200 when it was endorsed already."""
    p, created = service.endorse(db.session, current_user, proposal_id)
    return jsonify(endorsed_json(p)), 201 if created else 200


@bp.delete("/<int:proposal_id>/endorsement")
@doc(answers={204: None, 409: "not_open: the proposal is not open for endorsement"}, tags=TAGS)
@api_login_required
def withdraw_endorsement(proposal_id: int):
    """Withdraw an endorsement"""
    service.withdraw_endorsement(db.session, current_user, proposal_id)
    return "", 204


@bp.post("/<int:proposal_id>/ballot")
@doc(body=BallotIn, answers={201: ReceiptOut, 403: "not_verified, email_not_confirmed",
                             409: NOT_VOTING + "; already_voted"}, tags=TAGS)
@api_login_required
def ballot(proposal_id: int):
    """Cast a secret ballot (verified residents with a confirmed address)

    The choice is sealed with the vote's public key; the answer is its receipt, listed once the
    ballots are counted."""
    body = parse_body(BallotIn)
    receipt = service.cast_ballot(db.session, current_user, proposal_id, body.choice)
    return jsonify(receipt_json(receipt)), 201


@bp.get("/<int:proposal_id>/ballots")
@doc(query=ReceiptsQuery, answers={200: ReceiptListOut, 409: "not_voting: never voted on; not_counted: "
                                   "the ballots are not counted yet"}, public=True, tags=TAGS)
def ballots(proposal_id: int):
    """The receipts of the counted ballots, sorted"""
    args = parse_query(ReceiptsQuery)
    receipts, next_cursor = service.receipts_page(db.session, current_user, proposal_id,
                                                  args.cursor or None, args.limit)
    return jsonify(receipts_json(receipts, next_cursor))


@bp.post("/<int:proposal_id>/transitions")
@doc(body=TransitionIn, answers={
    200: ProposalDetailOut, 403: "staff move proposals; not_author: only the author withdraws",
    409: "invalid_transition: not a move from the current status (or the proposal changed meanwhile); "
         "vote_not_ended; not_counted: decided on the result once counted"}, tags=TAGS)
@api_login_required
def transition(proposal_id: int):
    """Change status (staff; the author may withdraw)"""
    body = parse_body(TransitionIn)
    p = service.transition(db.session, current_user, proposal_id, body.to, answer=body.answer,
                           department=body.department, vote_ends_at=body.vote_ends_at, reason=body.reason)
    return jsonify(_detail(p))


@bp.get("/<int:proposal_id>/comments")
@doc(query=CommentsQuery, answers={200: CommentListOut}, public=True, tags=TAGS)
def comments(proposal_id: int):
    """Comments, oldest first"""
    args = parse_query(CommentsQuery)
    p = service.get_proposal(db.session, current_user, proposal_id)
    rows, next_cursor = service.comments_page(db.session, p.id, args.cursor or None, args.limit)
    return jsonify({"items": [comment_json(c) for c in rows], "next_cursor": next_cursor})


@bp.post("/<int:proposal_id>/comments")
@doc(body=CommentIn, answers={201: CommentOut, 403: "not_verified",
                              409: "merged: comment on the proposal it was merged into"}, tags=TAGS)
@api_login_required
def add_comment(proposal_id: int):
    """Comment (verified residents)"""
    body = parse_body(CommentIn)
    c = service.add_comment(db.session, current_user, proposal_id, body.body)
    return jsonify(comment_json(c)), 201


@bp.post("/<int:proposal_id>/flags")
@doc(body=FlagIn, answers={201: FlaggedOut, 200: FlaggedOut}, tags=TAGS)
@api_login_required
def add_flag(proposal_id: int):
    """Report abuse (201 a new report, 200 reported already)"""
    body = parse_body(FlagIn)
    created = service.flag(db.session, current_user, proposal_id, body.reason)
    return jsonify({"flagged": True}), 201 if created else 200


@bp.put("/<int:proposal_id>/follow")
@doc(answers={201: FollowingOut, 200: FollowingOut}, tags=TAGS)
@api_login_required
def follow(proposal_id: int):
    """Follow: notices of every change of status (201 new, 200 followed already)"""
    created = service.follow(db.session, current_user, proposal_id)
    return jsonify({"following": True}), 201 if created else 200


@bp.delete("/<int:proposal_id>/follow")
@doc(answers={204: None}, tags=TAGS)
@api_login_required
def unfollow(proposal_id: int):
    """Stop following"""
    service.unfollow(db.session, current_user, proposal_id)
    return "", 204


# -- staff ---------------------------------------------------------------------------------

@bp.get("/triage")
@doc(answers={200: TriageOut}, tags=TAGS)
@api_login_required
def triage():
    """Staff: proposals under review, oldest first, with their abuse reports (at most 100)"""
    rows = service.triage_queue(db.session, current_user)
    words = list_words()
    return jsonify({"items": [proposal_json(p, flags=n, words=words) for p, n in rows], "next_cursor": None})


@bp.post("/<int:proposal_id>/merge")
@doc(body=MergeIn, answers={200: ProposalDetailOut, 404: "not_found: no such proposal, this one or "
                            "`into` (then `fields.into` says so)",
                            409: "invalid_transition: from a merged or hidden "
                            "duplicate, or into a merged, hidden or withdrawn proposal"}, tags=TAGS)
@api_login_required
def merge(proposal_id: int):
    """Staff: merge this duplicate into another proposal; the answer is the target"""
    body = parse_body(MergeIn)
    target = service.merge(db.session, current_user, proposal_id, body.into)
    return jsonify(_detail(target))
