"""Input limits of accounts, each written once: the forms, the API bodies, the service and the
tables' column sizes read them from here."""

from __future__ import annotations

EMAIL_MAX = 254  # user.email
NAME_MAX = 100  # user.name, resident_register.name
DISTRICT_MAX = 50  # user.district, resident_register.district
PHONE_MAX = 30  # user.phone
TOKEN_NAME_MAX = 100  # api_token.name
REASON_MAX = 200  # why staff verified an account or released a register entry (audit details)
DOCUMENT_MIN, DOCUMENT_MAX = 6, 32  # a resident registration number's characters
# A birth date before this year (or after today, in Seoul) is a typing error.
EARLIEST_BIRTH_YEAR = 1890
