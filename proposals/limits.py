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

PAGE_SIZE = 20  # proposals per list page
COMMENTS_PAGE_SIZE = 50
