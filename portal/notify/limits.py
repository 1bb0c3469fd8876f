"""The notification queue's input limits and page sizes, each written once (models, schemas,
API, service)."""

from __future__ import annotations

IDEMPOTENCY_KEY_MAX = 200  # characters: the outbox column's length
ERROR_CODE_MAX = 200       # characters of a failure's machine code (``last_error``)
CLAIM_TOKEN_LENGTH = 16    # hex digits of a delivery claim's random token (64 bits)
INBOX_PAGE = 20            # notices per page of a resident's inbox
MESSAGES_PAGE = 50         # notices per page of the officers' list
RECENT_FAILURES = 20       # failed notices the dashboard lists
REFERENCE_LENGTH = 32      # hex digits of a notice's reference (portal.notify.sealing.REFERENCE_LENGTH)
DIGITS_MAX = 20            # keys a resident pressed, in one provider event
EVENT_REFERENCE_MAX = 64   # characters of a reference a provider reports (longer: not ours)
PROVIDER_EVENT_SKEW = 300  # seconds a provider event's X-Provider-Timestamp may be off, either way
