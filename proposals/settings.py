"""Settings of proposals (app.config, or the environment through `portal.config`), each with
its only default."""

from __future__ import annotations

from portal.settings import Setting

ENDORSEMENT_DAYS = Setting(
    "PROPOSAL_ENDORSEMENT_DAYS", 30, int, minimum=1,
    doc="how many days a new proposal is open for endorsement")
ENDORSEMENT_THRESHOLD = Setting(
    "PROPOSAL_ENDORSEMENT_THRESHOLD", 50, int, minimum=1,
    doc="endorsements that move a proposal to staff review")
LIST_CACHE_SECONDS = Setting(
    "PROPOSAL_LIST_CACHE_SECONDS", 3.0, float, minimum=0,
    doc="how stale the anonymous list page may be (0: off); the tests turn it off")
BALLOT_KEY_ENCRYPTION_KEY = Setting(
    "PROPOSAL_BALLOT_KEY_ENCRYPTION_KEY", "", str,
    doc="encrypts each vote's private key at rest (a Fernet key, or any secret, stretched with "
        "HKDF); empty means SECRET_KEY. Needed by whoever counts: keep it off the database host")
