"""The welfare service's errors, named once (codes and texts are what clients and tests see).

Validation of several fields stays ``Invalid(fields=...)``; a malformed eligibility rule is
``welfare.rules.RuleError`` (``invalid_rule``), beside the rule compiler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from portal.errors import Conflict, Invalid, NotFound
from portal.inputs import INVISIBLE  # noqa: F401 - the shell's message, re-exported by name

if TYPE_CHECKING:
    from welfare.service.imports import RowError


# Text a person reads (a programme's name, a district) needs a character they can see.


class _AtField:
    """An error that also names the one field at fault (`field`: `field_message`)."""

    field: str
    field_message = None

    def __init__(self):
        super().__init__(fields={self.field: self.field_message})


class NoProfile(NotFound):
    code = "no_profile"
    default_message = _l("This resident has no welfare profile.")


class NoUser(NotFound):
    code = "no_user"
    default_message = _l("No account has this email.")


class ConsentRequired(_AtField, Invalid):
    code = "consent_required"
    default_message = _l("Please agree to the use of your information first.")
    field, field_message = "consent", _l("Consent is required to save your profile.")


class ImportRejected(Invalid):
    """A CSV import wrote nothing: `rows` lists every bad cell (the first 200 as `fields`)."""

    code = "import_rejected"
    default_message = _l("The file was not imported: some rows are not valid.")
    MAX_FIELDS = 200

    def __init__(self, errors: list[RowError]):
        self.rows = errors
        super().__init__(fields={f"line {e.line}.{e.column}": e.message for e in errors[:self.MAX_FIELDS]})


class NoProgramme(NotFound):
    """No programme has this code, or it is not active and the actor is not an officer (who
    sees ended and future programmes too)."""

    code = "no_programme"
    default_message = _l("No such programme.")


class ProgrammeCodeTaken(_AtField, Conflict):
    code = "programme_code_taken"
    default_message = _l("A programme with this code exists already.")
    field, field_message = "code", _l("Already taken.")


class ProgrammeCodeFixed(_AtField, Conflict):
    """The code names the outbox messages of a programme's notices ("welfare:<code>:<user id>"):
    changed after a scan, it would let another programme take the old code and its keys, and the
    outbox would skip that programme's notices as sent. So once residents were told, it stays."""

    code = "programme_code_fixed"
    default_message = _l("Residents were told about this programme under its code, so the code cannot "
                         "change any more.")
    field, field_message = "code", _l("Cannot change once residents were told about the programme.")


class ProgrammeHasNotices(Conflict):
    code = "programme_has_notices"
    default_message = _l("Residents were told about this programme: end it instead of deleting it.")


class NoFollowUp(NotFound):
    code = "no_follow_up"
    default_message = _l("No such follow-up.")
