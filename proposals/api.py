"""The proposals JSON API, under /api/v1/proposals (`flask --app portal routes` lists it)."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, jsonify, request, stream_with_context
from flask_login import current_user

from portal.api import api_login_required, iso, parse_body, parse_limit
from portal.extensions import db
from portal.i18n import current_locale

from . import service, settings
from .limits import COMMENTS_PAGE_SIZE, RECEIPTS_PAGE_SIZE
from .schemas import (
    BallotIn,
    CommentIn,
    FlagIn,
    MergeIn,
    ProposalIn,
    TransitionIn,
    comment_json,
    endorsed_json,
    proposal_detail_json,
    proposal_json,
    receipt_json,
    receipts_json,
)

bp = Blueprint("proposals_api", __name__)


@bp.before_request
def _resolve_locale_early():
    # The locale depends on the signed-in user; settle it before a service commits and expires
    # that user, so answering does not load the user again.
    current_locale()


def _detail(p) -> dict:
    """ProposalDetailOut of `p`, as the signed-in reader sees it."""
    session = db.session
    answer, answer_lang = service.public_answer(p, current_locale())
    return proposal_detail_json(
        p, answer=answer, answer_lang=answer_lang, tally=service.tally(session, p),
        threshold=settings.ENDORSEMENT_THRESHOLD(), history=service.history(session, current_user, p.id),
        viewer={
            "is_author": current_user.is_authenticated and current_user.id == p.author_id,
            "endorsed": service.has_endorsed(session, current_user, p.id),
            "following": service.is_following(session, current_user, p.id),
            "voted": service.has_voted(session, current_user, p.id),
        })


# -- listing, search, open data ------------------------------------------------------------

@bp.get("")
def list_proposals():
    query = service.parse_list_query(request.args)
    rows, next_cursor = service.list_proposals(db.session, current_user, query,
                                               request.args.get("cursor") or None, parse_limit())
    return jsonify({"items": [proposal_json(p) for p in rows], "next_cursor": next_cursor})


@bp.get("/similar")
def similar():
    rows = service.similar(db.session, request.args.get("title", ""))
    return jsonify({"items": [proposal_json(p) for p in rows]})


EXPORT_FIELDS = ("id", "title", "category", "district", "status", "endorsement_count", "created_at",
                 "endorse_until", "vote_ends_at", "department", "answer", "merged_into")


@bp.get("/export.csv")
def export_csv():
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
@api_login_required
def create():
    body = parse_body(ProposalIn)
    p = service.create_proposal(db.session, current_user, body.model_dump())
    return jsonify(_detail(p)), 201


@bp.get("/<int:proposal_id>")
def detail(proposal_id: int):
    return jsonify(_detail(service.get_proposal(db.session, current_user, proposal_id)))


@bp.post("/<int:proposal_id>/endorsement")
@api_login_required
def endorse(proposal_id: int):
    p, created = service.endorse(db.session, current_user, proposal_id)
    return jsonify(endorsed_json(p)), 201 if created else 200


@bp.delete("/<int:proposal_id>/endorsement")
@api_login_required
def withdraw_endorsement(proposal_id: int):
    service.withdraw_endorsement(db.session, current_user, proposal_id)
    return "", 204


@bp.post("/<int:proposal_id>/ballot")
@api_login_required
def ballot(proposal_id: int):
    body = parse_body(BallotIn)
    receipt = service.cast_ballot(db.session, current_user, proposal_id, body.choice)
    return jsonify(receipt_json(receipt)), 201


@bp.get("/<int:proposal_id>/ballots")
def ballots(proposal_id: int):
    receipts, next_cursor = service.receipts_page(db.session, current_user, proposal_id,
                                                  request.args.get("cursor") or None,
                                                  parse_limit(RECEIPTS_PAGE_SIZE))
    return jsonify(receipts_json(receipts, next_cursor))


@bp.post("/<int:proposal_id>/transitions")
@api_login_required
def transition(proposal_id: int):
    body = parse_body(TransitionIn)
    p = service.transition(db.session, current_user, proposal_id, body.to, answer=body.answer,
                           department=body.department, vote_ends_at=body.vote_ends_at, reason=body.reason)
    return jsonify(_detail(p))


@bp.get("/<int:proposal_id>/comments")
def comments(proposal_id: int):
    p = service.get_proposal(db.session, current_user, proposal_id)
    rows, next_cursor = service.comments_page(db.session, p.id, request.args.get("cursor") or None,
                                              parse_limit(COMMENTS_PAGE_SIZE))
    return jsonify({"items": [comment_json(c) for c in rows], "next_cursor": next_cursor})


@bp.post("/<int:proposal_id>/comments")
@api_login_required
def add_comment(proposal_id: int):
    body = parse_body(CommentIn)
    c = service.add_comment(db.session, current_user, proposal_id, body.body)
    return jsonify(comment_json(c)), 201


@bp.post("/<int:proposal_id>/flags")
@api_login_required
def add_flag(proposal_id: int):
    body = parse_body(FlagIn)
    created = service.flag(db.session, current_user, proposal_id, body.reason)
    return jsonify({"flagged": True}), 201 if created else 200


@bp.put("/<int:proposal_id>/follow")
@api_login_required
def follow(proposal_id: int):
    created = service.follow(db.session, current_user, proposal_id)
    return jsonify({"following": True}), 201 if created else 200


@bp.delete("/<int:proposal_id>/follow")
@api_login_required
def unfollow(proposal_id: int):
    service.unfollow(db.session, current_user, proposal_id)
    return "", 204


# -- staff ---------------------------------------------------------------------------------

@bp.get("/triage")
@api_login_required
def triage():
    rows = service.triage_queue(db.session, current_user)
    return jsonify({"items": [proposal_json(p, flags=n) for p, n in rows], "next_cursor": None})


@bp.post("/<int:proposal_id>/merge")
@api_login_required
def merge(proposal_id: int):
    body = parse_body(MergeIn)
    target = service.merge(db.session, current_user, proposal_id, body.into)
    return jsonify(_detail(target))
