"""Dates and times for people, in their language, with Babel (CLDR data).

Our language codes (`locales.SUPPORTED`) name Babel locales through `BABEL_LOCALES`; an
unknown code is shown as English, as `gettext_for` translates it.

`style` is one of
- "numeric" (the default): the desk's own forms, the same in every language — 2026-11-05 10:30
  and 2026-11-05 (ISO order: nobody reads 05.11 as May 11 or the other way round); the bot has
  always shown these, and the tests pin them;
- "short", "medium", "long", "full": the language's own forms from CLDR (en "Nov 5, 2026",
  zh_Hans "2026年11月5日", ru "5 нояб. 2026 г." for "medium");
- or a CLDR pattern ("yyyy-MM-dd", "MM-dd HH:mm", "d MMMM"), letters quoted as CLDR wants.

Machine formats (ISO dates in exports and payloads, file names, logs, callback data) do not
come here: they must not change with the reader's language.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton, format_timedelta

BABEL_LOCALES: Final = {"en": "en", "zh_Hans": "zh_Hans_CN", "ru": "ru"}
FALLBACK: Final = "en"

NUMERIC_WHEN: Final = "yyyy-MM-dd HH:mm"
NUMERIC_DAY: Final = "yyyy-MM-dd"
MONTH_DAY_SKELETON: Final = "MMMd"  # CLDR picks the order and words: Nov 5, 11月5日, 5 нояб.


@cache
def babel_locale(lang: str) -> Locale:
    """The Babel locale of one of our language codes ("zh_Hans" → zh_Hans_CN)."""
    return Locale.parse(BABEL_LOCALES.get(lang, BABEL_LOCALES[FALLBACK]))


def _pattern(style: str, numeric: str) -> str:
    return numeric if style == "numeric" else style


def format_when(moment: datetime, lang: str, timezone: ZoneInfo,
                style: str = "numeric") -> str:
    """An instant as the wall-clock time of `timezone` (the office's), e.g. 2026-11-05 10:30.

    `moment` must be aware (the desk keeps UTC); a naive one would be read in some zone nobody
    chose, so it is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime given; use an aware (UTC) datetime")
    return format_datetime(moment, _pattern(style, NUMERIC_WHEN), tzinfo=timezone,
                           locale=babel_locale(lang))


def format_numeric_when(moment: datetime, timezone: ZoneInfo) -> str:
    """The desk's numeric form of an instant, the same in every language (2026-11-05 10:30):
    for texts rendered where the reader's language is not at hand, such as staff cards."""
    return format_when(moment, FALLBACK, timezone)


def format_day(day: date, lang: str, style: str = "numeric") -> str:
    """A calendar day (already the office's, e.g. a report's first day): 2026-11-05."""
    if isinstance(day, datetime):  # its clock time and zone would be dropped silently
        raise TypeError("format_day takes a date; format an instant with format_when")
    return format_date(day, _pattern(style, NUMERIC_DAY), locale=babel_locale(lang))


def format_month_day(day: date, lang: str) -> str:
    """A day without its year, in the language's words: "Nov 5", "11月5日", "5 нояб."
    (a chart's axis, a list within one year)."""
    if isinstance(day, datetime):
        raise TypeError("format_month_day takes a date; convert the instant to a local day")
    midnight = datetime.combine(day, time(), UTC)  # read back in UTC: the same day
    return format_skeleton(MONTH_DAY_SKELETON, midnight, tzinfo=UTC, locale=babel_locale(lang))


def format_duration(delta: timedelta, lang: str) -> str:
    """A rough length of time in the language's words: "3 hours", "2 天", "5 минут"."""
    return format_timedelta(delta, threshold=1.5, locale=babel_locale(lang))
