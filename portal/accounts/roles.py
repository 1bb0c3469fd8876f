"""Role names, said once. Services import these instead of writing the strings.

``admin`` passes every role check (``User.has_role``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

RESIDENT = "resident"
STAFF = "staff"
WELFARE_OFFICER = "welfare_officer"
ADMIN = "admin"

ALL = (RESIDENT, STAFF, WELFARE_OFFICER, ADMIN)

LABELS = {
    RESIDENT: _l("Resident"),
    STAFF: _l("City staff"),
    WELFARE_OFFICER: _l("Welfare officer"),
    ADMIN: _l("Administrator"),
}


def label(role: str) -> str:
    """A role as people read it, in the current language (the raw name if unknown)."""
    return str(LABELS.get(role, role))
