"""The words of proposals, said once: categories, statuses, ballot choices, their labels, and
the status graph (who may move a proposal from one status to another).

The tuples (`CATEGORIES`, `STATUSES`, `CHOICES`) are the keys of the label tables, in the
order forms and lists show them; `models.py` re-exports them beside the tables.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.accounts.roles import STAFF

CATEGORY_LABELS = {
    "safety": _l("Safety"),
    "transport": _l("Transport"),
    "environment": _l("Environment"),
    "welfare": _l("Welfare"),
    "culture": _l("Culture"),
    "education": _l("Education"),
    "administration": _l("Administration"),
    "other": _l("Other"),
}
CATEGORIES = tuple(CATEGORY_LABELS)

# open -> under_review -> voting -> accepted -> implemented, plus the side exits.
STATUS_LABELS = {
    "open": _l("Open for endorsement"),
    "under_review": _l("Under review"),
    "voting": _l("Resident vote"),
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
    "implemented": _l("Implemented"),
    "withdrawn": _l("Withdrawn"),
    "closed": _l("Closed"),
    "hidden": _l("Hidden"),
    "merged": _l("Merged"),
}
STATUSES = tuple(STATUS_LABELS)

CHOICE_LABELS = {"for": _l("For"), "against": _l("Against")}
CHOICES = tuple(CHOICE_LABELS)

SORTS = ("popular", "newest", "ending")

# Statuses anyone may see in the public list (hidden: staff only; merged: reachable by link).
PUBLIC_STATUSES = ("open", "under_review", "voting", "accepted", "rejected", "implemented",
                   "withdrawn", "closed")

AUTHOR = "author"  # in EDGES: only the proposal's author may make the move

# (from, to) -> who may make the move. "hidden" both ways is handled apart (any <-> hidden).
EDGES = {
    ("open", "under_review"): STAFF,
    ("open", "withdrawn"): AUTHOR,
    ("under_review", "voting"): STAFF,
    ("under_review", "accepted"): STAFF,
    ("under_review", "rejected"): STAFF,
    ("voting", "accepted"): STAFF,
    ("voting", "rejected"): STAFF,
    ("accepted", "implemented"): STAFF,
}
