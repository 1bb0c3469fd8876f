"""The welfare service's input limits, each written once: the service checks them (welfare.service
.values, .programmes), the forms and the API schemas declare them, the rule compiler bounds its
conditions by them (welfare.rules.RANGES).

A range is (lowest, highest), both allowed.
"""

from __future__ import annotations

from datetime import date

# -- a resident's situation (profile, CSV import, screener answers, rule bounds) -------------
AGE = (0, 130)  # years
# Household income as a percentage of the standard median income (기준 중위소득 대비 %,
# welfare.service.income); above 100 is common. The top stands for "that much or more".
MEDIAN_INCOME_PCT = (0, 1000)
MONTHLY_INCOME = (0, 10_000_000_000)  # won per month, the household's (asked to compute the %)
HOUSEHOLD_SIZE = (1, 30)  # people
DISABILITY_GRADE = (1, 6)  # 1 is the most severe
YOUNGEST_CHILD_AGE = (0, 30)  # years (the screener asks an age, the profile a birth date)
EARLIEST_BIRTH_YEAR = 1890  # an earlier date is a typing error (the message says "after 1890")
DISTRICT_MAX = 64  # characters (welfare_profile.district is VARCHAR(64))
EMAIL_MAX = 320  # characters of the address an officer looks a resident up by (user.email)
USER_ID_MAX = 2**31 - 1  # the user id an officer looks a resident up by (an integer column)

# -- a programme ------------------------------------------------------------------------------
PROGRAMME_CODE_MIN, PROGRAMME_CODE_MAX = 2, 64  # characters (welfare_programme.code is VARCHAR(64))
# A lower-case letter or digit, then lower-case letters, digits, "-" or "_".
PROGRAMME_CODE_PATTERN = rf"^[a-z0-9][a-z0-9_-]{{{PROGRAMME_CODE_MIN - 1},{PROGRAMME_CODE_MAX - 1}}}$"
CALLBACK_PHONE_MAX = 32  # characters (welfare_programme.callback_phone is VARCHAR(32))
# An optional "+", a digit, then digits, spaces or "-": 3 to CALLBACK_PHONE_MAX characters.
CALLBACK_PHONE_PATTERN = rf"^\+?[0-9][0-9 -]{{2,{CALLBACK_PHONE_MAX - 2}}}$"
# The days a programme may start and end on, and a scan may be dated: a date outside is a typing
# error (9999-12-31 for "no end" is written as no date at all).
CALENDAR = (date(2000, 1, 1), date(2099, 12, 31))

# -- officers' follow-ups ----------------------------------------------------------------------
FOLLOW_UP_WORKING_DAYS = 2  # a follow-up is due this many working days (Mon-Fri, Seoul) after it opened
UNREACHABLE_CALLS = 3  # unanswered calls (no_answer, busy, failed) of a notice: "could not reach"
