"""Welfare rules of the house: programmes, profiles, CSV import, eligibility and the scan.

Every function takes the session and, where a person acts, the acting user; authorisation is
checked here. Nothing in this package logs profile data. A use case commits once, in its
top-level function (the scan once per batch, by design); a read writes nothing (an officer's
look at a resident's profile writes its audit row, so it is a POST: profiles.look_up_profile).

What views, API, tasks, the command line, bench/ and tests call is re-exported here; the
modules, by concern:

- ``values``: the one normaliser of profile values (CSV rows, API, form, screener answers)
- ``profiles``: the resident's own profile and consent, officers' audited views
- ``imports``: CSV import, all rows or none
- ``programmes``: validation, lists, create / update / delete
- ``eligibility``: a resident's eligibility and the anonymous screener
- ``follow_ups``: officers' follow-ups opened by the call's keypresses and unanswered calls
- ``scan``: the set-based scan (notices and their outbox rows), reach and delivered counts
"""

from welfare.errors import ImportRejected
from welfare.models import Programme
from welfare.service.common import SEOUL, is_officer, require_officer, seoul_today
from welfare.service.eligibility import Eligibility, eligibility_for_facts, my_eligibility, screen
from welfare.service.follow_ups import (
    KEEP,
    due_at,
    follow_up_row,
    list_follow_ups,
    officers,
    on_provider_event,
    open_follow_up,
    update_follow_up,
)
from welfare.service.follow_ups import (
    ORDER as FOLLOW_UP_ORDER,
)
from welfare.service.imports import (
    CSV_COLUMNS,
    ImportResult,
    RowError,
    count_rows,
    import_file,
    import_profiles,
)
from welfare.service.profiles import (
    look_up_profile,
    my_profile,
    own_profile,
    update_my_profile,
    withdraw_consent,
)
from welfare.service.programmes import (
    active_clause,
    create_programme,
    delete_programme,
    get_programme,
    list_programmes,
    update_programme,
    validate_programme,
)
from welfare.service.scan import (
    BATCH_SIZE,
    NOTICE_TEMPLATE,
    ScanResult,
    message_key,
    queue_scan,
    reach,
    scan,
    scan_plan,
)
from welfare.service.values import PROFILE_FIELDS, normalise_profile

__all__ = [
    "FOLLOW_UP_ORDER", "KEEP", "due_at", "follow_up_row", "list_follow_ups", "officers", "on_provider_event",
    "open_follow_up", "update_follow_up",
    "BATCH_SIZE", "CSV_COLUMNS", "NOTICE_TEMPLATE", "PROFILE_FIELDS", "SEOUL", "Eligibility",
    "ImportRejected", "ImportResult", "Programme", "RowError", "ScanResult", "active_clause",
    "count_rows", "create_programme", "delete_programme", "eligibility_for_facts", "get_programme",
    "import_file", "import_profiles", "is_officer", "list_programmes", "look_up_profile", "message_key",
    "my_eligibility", "my_profile", "normalise_profile", "own_profile", "queue_scan", "reach",
    "require_officer", "scan", "scan_plan", "screen", "seoul_today", "update_my_profile",
    "update_programme", "validate_programme", "withdraw_consent",
]
