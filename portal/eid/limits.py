"""Input limits of the e-ID service, each written once (forms, schemas and the service read them)."""

from __future__ import annotations

# A facility's code: lower-case letters, digits, - or _ (``service.facilities``).
FACILITY_CODE_MIN = 2
FACILITY_CODE_MAX = 40
FACILITY_NAME_MAX = 200  # per language
OPENING_HOURS_MAX = 500  # characters of "mon-fri 09:00-18:00; ..."
DISTRICTS_MAX = 500  # characters of the comma-separated list
AGE_MAX = 150
DISCOUNT_MAX = 100  # per cent
GATE_NAME_MAX = 100
GATE_KEY_MAX = 100  # characters of a gate's API key (a real one has 48)
STATUS_REASON_MAX = 200  # why staff suspended or resumed a card
CARD_SEARCH_MAX = 50  # cards a staff search shows
