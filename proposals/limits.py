"""Input limits of proposals, each written once: forms, API schemas, the service and the
tables' column sizes read them from here."""

from __future__ import annotations

TITLE_MIN, TITLE_MAX = 5, 200
BODY_MIN, BODY_MAX = 20, 20_000
DISTRICT_MAX = 100
LOCATION_MAX = 300
DEPARTMENT_MAX = 200
COMMENT_MAX = 5_000
REASON_MAX = 500  # a reason for hiding, and an abuse report's reason
ANSWER_MAX = 20_000  # the official answer, per language
QUERY_MAX = 200  # the list's search box
VOTE_DAYS_MAX = 366  # a vote ends within a year of being opened (a later end is a typing error)

PAGE_SIZE = 20  # proposals per list page
COMMENTS_PAGE_SIZE = 50

RECEIPTS_PAGE_SIZE = 100  # receipts of counted ballots per page

# A sealed ballot: the choice padded to BALLOT_PLAINTEXT_LENGTH bytes, sealed (libsodium sealed
# box: a 32-byte ephemeral public key and a 16-byte tag around the ciphertext), so every sealed
# ballot has the same length whatever the choice. Its receipt is a SHA-256 in hex.
BALLOT_PLAINTEXT_LENGTH = 16
SEALED_BALLOT_LENGTH = 32 + 16 + BALLOT_PLAINTEXT_LENGTH
RECEIPT_LENGTH = 64
