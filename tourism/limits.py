"""Input limits of tourism, each written once: forms, API schemas, the service, the OpenAPI
paths and the tables' column sizes read them from here."""

from __future__ import annotations

from datetime import date

# A guest's details, for a booking or a place on the waiting list.
GUEST_NAME_MAX = 120
EMAIL_MAX = 254
PHONE_MAX = 40
QUANTITY_MIN, QUANTITY_MAX = 1, 10  # seats in one booking or one place in line

IDEMPOTENCY_KEY_MAX = 200  # a booking's idempotency token (portal.idempotency's Claim.token)
REFERENCE_MAX = 20  # a booking reference as typed or scanned (lookup, check-in)
PROVIDER_MAX = 20  # a payment provider's name
GATEWAY_ID_MAX = 80  # a gateway's transaction or refund id
QUERY_MAX = 100  # the listings page's search box

# Listings and slots, as staff write them.
AREA_MAX = 80  # the column that holds an area's code (portal.places.CODE_MAX fits)
TEXT_MAX = 4000  # a listing's name, description, address or policy in one language
FREE_CANCEL_HOURS_MAX = 24 * 60
REFUND_PERCENT_MAX = 100
CAPACITY_MAX = 100_000
PRICE_MAX = 100_000_000  # whole won per seat

# Days as typed in a search or a report, and a slot's start: from DAY_MIN to DAY_YEARS_AHEAD years
# after today (Asia/Seoul). Beyond, 422: nothing is booked there, and a day near the end of the
# calendar would overflow once turned into a time range.
DAY_MIN = date(2000, 1, 1)
DAY_YEARS_AHEAD = 5
