"""Household income as a percentage of the standard median income (기준 중위소득 대비 %), the
measure Korean welfare criteria are written in ("기준 중위소득 50% 이하").

The table is data, welfare/data/median_income.csv (year, household size, won per month, source),
read once. A year's figures apply from 1 January; before the first year listed, the first year's
figures are used, after the last, the last year's (until the next year's rows are added).
"""

from __future__ import annotations

import csv
from datetime import date
from functools import cache
from pathlib import Path

from welfare import limits

TABLE = Path(__file__).resolve().parent.parent / "data" / "median_income.csv"


@cache
def table() -> dict[int, dict[int, int]]:
    """{year: {household size: won per month}} from TABLE (lines starting with # are comments)."""
    with TABLE.open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(line for line in fh if line.strip() and not line.startswith("#"))
        out: dict[int, dict[int, int]] = {}
        for row in rows:
            out.setdefault(int(row["year"]), {})[int(row["household_size"])] = int(row["monthly_krw"])
    return out


def table_year(today: date) -> int:
    """The year whose figures apply on `today`."""
    years = sorted(table())
    return max((y for y in years if y <= today.year), default=years[0])


def median_income(household_size: int, today: date) -> int:
    """The standard median income, in won per month, of a household of `household_size`."""
    sizes = table()[table_year(today)]
    largest = max(sizes)
    if household_size <= largest:
        return sizes[household_size]
    step = sizes[largest] - sizes[largest - 1]  # each member beyond the table adds the last step
    return sizes[largest] + step * (household_size - largest)


def median_income_pct(monthly_income: int, household_size: int, today: date) -> int:
    """`monthly_income` (won) as a whole percentage of the household's standard median income,
    rounded up: a rule "at most N%" then holds exactly when the income is at most N% of the
    median (one won more than half the median is 51, not 50). Capped at the top of
    limits.MEDIAN_INCOME_PCT, which stands for "that much or more"."""
    median = median_income(household_size, today)
    pct = -(-100 * monthly_income // median)  # ceil without floats
    return min(pct, limits.MEDIAN_INCOME_PCT[1])
