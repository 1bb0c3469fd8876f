"""The rules of policy proposals, by concern. Views, the API, tasks and tests call these.

Every use case takes the session and the acting user, checks what that user may do, and
either commits one unit of work (in the function named here; the steps it calls only flush)
or raises a domain error (`proposals.errors`; nothing committed). Reads never write.
Concurrency is left to the database; each rule is written on the statement that enforces it.

- lifecycle: submitting, the status graph and transitions, departments, merging, closing
  expired windows, history;
- endorsements: endorse, withdraw, the threshold;
- ballots: the secret ballot in two envelopes (who voted; the sealed choice), the tally and
  the receipts;
- sealing: a vote's key pair (its private half encrypted at rest), sealing and opening a ballot;
- counting: the count once a vote has ended (beat task and CLI, never a read);
- discussion: comments, abuse reports, following;
- listing: the list and its cursors, search, similar titles, staff queues, open data;
- common: finding a proposal, who is acting, a text field, recording a transition.
"""

from .ballots import (
    cast_ballot,
    has_voted,
    is_counted,
    receipt_counted,
    receipts_page,
    tally,
    vote_ended,
    why_not_vote,
)
from .common import get_proposal, is_staff
from .counting import CountReport, count_ended_votes
from .discussion import add_comment, comments_page, flag, follow, is_following, unfollow
from .endorsements import endorse, has_endorsed, why_not_endorse, withdraw_endorsement
from .lifecycle import (
    allowed_moves,
    assign_department,
    close_expired,
    create_proposal,
    history,
    merge,
    public_answer,
    transition,
    validate_proposal,
)
from .listing import ListQuery, export_rows, flagged, list_proposals, parse_list_query, similar, triage_queue

__all__ = [
    "CountReport",
    "ListQuery",
    "add_comment",
    "allowed_moves",
    "assign_department",
    "cast_ballot",
    "close_expired",
    "count_ended_votes",
    "comments_page",
    "create_proposal",
    "endorse",
    "export_rows",
    "flag",
    "flagged",
    "follow",
    "get_proposal",
    "has_endorsed",
    "has_voted",
    "history",
    "is_counted",
    "is_following",
    "is_staff",
    "list_proposals",
    "merge",
    "parse_list_query",
    "public_answer",
    "receipt_counted",
    "receipts_page",
    "similar",
    "tally",
    "transition",
    "triage_queue",
    "unfollow",
    "validate_proposal",
    "vote_ended",
    "why_not_endorse",
    "why_not_vote",
    "withdraw_endorsement",
]
