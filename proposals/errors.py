"""The errors proposals raise, by name. Codes and messages are what clients and tests see;
validation of fields stays ``portal.errors.Invalid(fields=...)``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.errors import Conflict, Forbidden, NotFound

from .vocabulary import STATUS_LABELS


class NoSuchProposal(NotFound):
    """Also for a hidden proposal asked for by anyone but staff: it does not exist for them."""

    default_message = _l("No such proposal.")


# -- who may act ---------------------------------------------------------------------------

class OwnProposal(Forbidden):
    code = "own_proposal"
    default_message = _l("You cannot endorse your own proposal.")


class NotAuthor(Forbidden):
    """Withdrawing is the author's move, not staff's."""

    code = "not_author"
    default_message = _l("Only the author can withdraw a proposal.")


# -- the proposal's state ------------------------------------------------------------------

class NotOpen(Conflict):
    """Endorsing or withdrawing an endorsement outside the open window."""

    code = "not_open"
    default_message = _l("This proposal is not open for endorsement.")


class NotVoting(Conflict):
    """A ballot outside a vote: none was opened, it has ended, or its ballots are counted."""

    code = "not_voting"
    default_message = _l("This proposal is not being voted on.")


class AlreadyVoted(Conflict):
    """A second ballot: one per resident, decided by the participation row's unique key."""

    code = "already_voted"
    default_message = _l("You have already voted on this proposal.")


class VoteNotEnded(Conflict):
    """Staff accept or reject a proposal in a vote only once the vote has ended."""

    code = "vote_not_ended"
    default_message = _l("The vote has not ended yet.")


class NotCounted(Conflict):
    """The receipts, or a decision on a vote, before the count (every minute after the end)."""

    code = "not_counted"
    default_message = _l("The ballots are not counted yet: they are counted within minutes of the end "
                         "of the vote. Please come back later.")


class Merged(Conflict):
    code = "merged"
    default_message = _l("This proposal was merged into another one.")


class InvalidTransition(Conflict):
    """The status graph does not allow this move: one code, three ways of saying why."""

    code = "invalid_transition"


class CannotMove(InvalidTransition):
    """No edge of the graph leads from `frm` to `to`."""

    def __init__(self, frm: str, to: str):
        super().__init__(_l("A proposal cannot move from “%(frm)s” to “%(to)s”.",
                            frm=STATUS_LABELS.get(frm, frm), to=STATUS_LABELS.get(to, to)))


class CannotMerge(InvalidTransition):
    """From a merged or hidden duplicate, or into a merged, hidden or withdrawn target."""

    default_message = _l("These proposals cannot be merged.")


class ChangedMeanwhile(InvalidTransition):
    """The status moved between our read and our conditional UPDATE."""

    default_message = _l("The proposal changed meanwhile. Please reload.")
