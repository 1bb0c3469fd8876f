"""Input limits of tourism, each written once: forms, API schemas, the service, the OpenAPI
paths and the tables' column sizes read them from here."""

from __future__ import annotations

# A guest's details, for a booking or a place on the waiting list.
GUEST_NAME_MAX = 120
EMAIL_MAX = 254
PHONE_MAX = 40
QUANTITY_MIN, QUANTITY_MAX = 1, 10  # seats in one booking or one place in line

IDEMPOTENCY_KEY_MAX = 200  # the Idempotency-Key header of POST /bookings
REFERENCE_MAX = 20  # a booking reference as typed or scanned (lookup, check-in)
PROVIDER_MAX = 20  # a payment provider's name
QUERY_MAX = 100  # the listings page's search box

# Listings and slots, as staff write them.
AREA_MAX = 80  # the area key, and its name in each language
TEXT_MAX = 4000  # a listing's name, description, address or policy in one language
FREE_CANCEL_HOURS_MAX = 24 * 60
REFUND_PERCENT_MAX = 100
CAPACITY_MAX = 100_000
PRICE_MAX = 100_000_000  # whole won per seat
