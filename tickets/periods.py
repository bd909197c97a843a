"""Reporting periods: the last week, month or quarter up to today, or two dates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

PERIOD_DAYS = {"week": 7, "month": 30, "quarter": 90}  # rolling, up to and including today
LONGEST = timedelta(days=366 * 3)


def period(words: Sequence[str], today: date) -> tuple[date, date] | None:
    """(first, last) day for "week", "month", "quarter" (the default: a week) or two dates as
    YYYY-MM-DD; None when the words are none of these."""
    if not words:
        words = ["week"]
    if len(words) == 1 and words[0].lower() in PERIOD_DAYS:
        return today - timedelta(days=PERIOD_DAYS[words[0].lower()] - 1), today
    if len(words) != 2:
        return None
    try:
        first, last = date.fromisoformat(words[0]), date.fromisoformat(words[1])
    except ValueError:
        return None
    if first > last or last - first > LONGEST:
        return None
    return first, last
