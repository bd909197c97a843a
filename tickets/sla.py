"""Service-level deadlines: how long the office has to acknowledge and to resolve a ticket,
counted on the office's own calendar (working hours, weekdays, days off, make-up working days).

The policy is data (`policy_from` reads the mapping of an SLA file, see `sla.example.toml`), so
an office changes it without code. Everything here is pure arithmetic on aware datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A calendar with no working time in this many days is refused when the policy is read, so
# the arithmetic below always ends.
HORIZON_DAYS = 400
PRIORITIES = ("normal", "urgent")
Unit = Literal["hours", "days", "working hours", "working days"]
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(working\s+)?(hours?|h|days?|d)\s*$", re.IGNORECASE)


class SlaError(ValueError):
    """The SLA file says something impossible; the message names the setting."""


@dataclass(frozen=True)
class Calendar:
    """When the office works: one window a day on working days, in the office's time zone."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    opens: time = time(9)
    closes: time = time(18)
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0
    days_off: frozenset[date] = frozenset()  # public holidays
    working_days: frozenset[date] = frozenset()  # make-up working days (调休) on a weekend
    # whose public holidays are in days_off / working_days ("none": only the office's own),
    # and the years the library knows them for (see `public_holidays`)
    holidays_of: str = "none"
    holiday_years: frozenset[int] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        return day not in self.days_off and day.weekday() in self.weekdays

    @property
    def day_length(self) -> timedelta:
        return (datetime.combine(date.min, self.closes)
                - datetime.combine(date.min, self.opens))

    def windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working time from `moment` on, window by window (UTC; the first one may start
        at `moment` itself)."""
        day = moment.astimezone(self.timezone).date()
        idle = 0  # days in a row without working time
        while idle <= HORIZON_DAYS:
            idle += 1
            if self.is_working_day(day):
                begin = datetime.combine(day, self.opens, self.timezone).astimezone(UTC)
                end = datetime.combine(day, self.closes, self.timezone).astimezone(UTC)
                if end > moment:
                    idle = 0
                    yield max(begin, moment), end
            day += timedelta(days=1)
        raise SlaError(f"the office has no working day within {HORIZON_DAYS} days")

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment when `duration` of working time has passed after `start`."""
        left = duration
        if left <= timedelta(0):
            return start
        for begin, end in self.windows_from(start):
            if end - begin >= left:
                return begin + left
            left -= end - begin
        raise AssertionError("unreachable: windows_from raises first")

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        total = timedelta(0)
        if end <= start:
            return total
        for begin, close in self.windows_from(start):
            if begin >= end:
                break
            total += min(close, end) - begin
        return total

    def knows_holidays_of(self, year: int) -> bool:
        """Whether the year's days off are known: from the holiday library, or the office
        listed some itself."""
        return year in self.holiday_years or any(
            day.year == year for day in self.days_off | self.working_days)


HOLIDAY_SOURCES = ("CN", "none")


def public_holidays(source: str) -> tuple[frozenset[date], frozenset[date], frozenset[int]]:
    """(days off, make-up working days, the years covered) of a country's public holidays,
    as far as `chinesecalendar` knows them ("none": no public holidays at all)."""
    if source == "none":
        return frozenset(), frozenset(), frozenset()
    import chinese_calendar  # type: ignore[import-untyped]  # (no type hints shipped)

    days_off = frozenset(chinese_calendar.holidays)
    years = frozenset(range(min(days_off).year, max(days_off).year + 1))
    return days_off, frozenset(chinese_calendar.workdays), years


@dataclass(frozen=True)
class Span:
    """A time allowed: around the clock ("48 hours", "3 days") or in working time only
    ("16 working hours", "7 working days" = seven working days' worth of office hours)."""

    amount: float
    unit: Unit

    def after(self, start: datetime, calendar: Calendar) -> datetime:
        return self.plus(start, self.length(calendar), calendar)

    def length(self, calendar: Calendar) -> timedelta:
        """The time allowed: clock time, or working time (a working day is one day's office
        hours)."""
        if self.unit == "hours" or self.unit == "working hours":
            return timedelta(hours=self.amount)
        if self.unit == "days":
            return timedelta(days=self.amount)
        return calendar.day_length * self.amount

    @property
    def working(self) -> bool:
        return self.unit in ("working hours", "working days")

    def time_between(self, start: datetime, end: datetime, calendar: Calendar) -> timedelta:
        """How much of this kind of time (clock or working) passes from `start` to `end`."""
        if not self.working:
            return max(end - start, timedelta(0))
        return calendar.working_time_between(start, end)

    def plus(self, start: datetime, length: timedelta, calendar: Calendar) -> datetime:
        """`start` moved on by `length` of this kind of time."""
        return calendar.add_working_time(start, length) if self.working else start + length

    def part(self, share: float) -> Span:
        return replace(self, amount=self.amount * share)

    def __str__(self) -> str:
        amount = f"{self.amount:g}"
        return f"{amount} {self.unit[:-1] if amount == '1' else self.unit}"

    @classmethod
    def parse(cls, text: object, where: str) -> Span:
        match = _SPAN.match(text) if isinstance(text, str) else None
        if match is None:
            raise SlaError(f"{where}: expected a time such as \"2 hours\", \"3 days\", "
                           f"\"16 working hours\" or \"7 working days\", not {text!r}")
        amount, working, unit = float(match[1]), bool(match[2]), match[3].lower()
        if not 0 < amount <= 24 * 366:
            raise SlaError(f"{where}: {amount:g} is out of range")
        kind: Unit
        if unit.startswith("d"):
            kind = "working days" if working else "days"
        else:
            kind = "working hours" if working else "hours"
        return cls(amount, kind)


@dataclass(frozen=True)
class Deadlines:
    acknowledge: Span
    resolve: Span


DEFAULT_DEADLINES = {  # issue 5's defaults; the urgent ones run around the clock
    "urgent": Deadlines(Span(2, "hours"), Span(24, "hours")),
    "normal": Deadlines(Span(48, "hours"), Span(7, "working days")),
}


@dataclass(frozen=True)
class SlaPolicy:
    calendar: Calendar = field(default_factory=Calendar)
    deadlines: Mapping[str, Deadlines] = field(default_factory=lambda: dict(DEFAULT_DEADLINES))
    # category code -> priority -> deadlines, where a category differs from the defaults
    categories: Mapping[str, Mapping[str, Deadlines]] = field(default_factory=dict)
    reminder_share: float = 0.75  # the assignee is reminded when this share of the time is gone
    # a missed deadline: the resident is promised a new time, this share of the time allowed on
    extension_share: float = 0.5
    repeat_window: timedelta = timedelta(days=30)  # a new ticket within it is a repeat
    # category code -> days after closing for the call-back (回访), where it differs from
    # FOLLOW_UP_DAYS (0: none for that category)
    call_back_days: Mapping[str, int] = field(default_factory=dict)

    def for_ticket(self, category: str, priority: str) -> Deadlines:
        found = self.categories.get(category, {}).get(priority)
        return found or self.deadlines.get(priority) or self.deadlines["normal"]

    def due_times(self, start: datetime, category: str, priority: str
                  ) -> tuple[datetime, datetime]:
        deadlines = self.for_ticket(category, priority)
        return (deadlines.acknowledge.after(start, self.calendar),
                deadlines.resolve.after(start, self.calendar))

    def reminder(self, start: datetime, span: Span) -> datetime:
        """When to remind the assignee of a deadline `span` after `start`."""
        return span.part(self.reminder_share).after(start, self.calendar)

    def resumed(self, paused_at: datetime, due: datetime, now: datetime, span: Span
                ) -> tuple[datetime, datetime | None]:
        """A deadline of `span` that stood still from `paused_at` to `now` (the office waited
        for the resident): (the new due time, with the time that was left then; when to remind
        the assignee, None when that point had already passed before the pause)."""
        calendar = self.calendar
        left = span.time_between(paused_at, due, calendar)
        new_due = span.plus(now, left, calendar)
        if new_due <= now:  # already missed before the pause: it stays missed
            return due, None
        # the reminder comes when this much is left (reminder_share of the whole is gone)
        left_at_reminder = span.length(calendar) * (1 - self.reminder_share)
        if left <= left_at_reminder:
            return new_due, None
        return new_due, span.plus(now, left - left_at_reminder, calendar)

    def extended(self, now: datetime, span: Span) -> datetime:
        """The new time promised to the resident when a deadline of `span` was missed."""
        return span.part(self.extension_share).after(now, self.calendar)

    def warnings(self, today: date) -> list[str]:
        """What the office should fix before it bites: a year ahead without known holidays."""
        found: list[str] = []
        if self.calendar.holidays_of == "none":  # the office keeps its own days off
            return found
        for year in (today.year, today.year + 1):
            if not self.calendar.knows_holidays_of(year):
                found.append(f"warning: the public holidays of {year} are not known (the "
                             f"holiday library covers "
                             + (f"up to {max(self.calendar.holiday_years)}"
                                if self.calendar.holiday_years else "no year")
                             + f"); list {year}'s days_off and working_days in the SLA file, "
                             f"or upgrade chinesecalendar")
        return found

    def describe(self, today: date) -> list[str]:
        """The policy in plain lines (for `residesk sla`), the days off as of `today`."""
        c = self.calendar
        year_on = today + timedelta(days=365)
        off = sorted(d for d in c.days_off if today <= d < year_on and d.weekday() in c.weekdays
                     and d not in c.working_days)
        worked = sorted(d for d in c.working_days if today <= d < year_on
                        and d.weekday() not in c.weekdays)
        lines = [f"office hours: {c.opens:%H:%M}-{c.closes:%H:%M} "
                 f"{','.join(WEEKDAYS[d] for d in sorted(c.weekdays))} ({c.timezone.key})",
                 (f"public holidays: {c.holidays_of}, known for {min(c.holiday_years)}-"
                  f"{max(c.holiday_years)}" if c.holiday_years
                  else "public holidays: none (the office's own days off only)"),
                 f"in the year from {today}: {len(off)} working day(s) off"
                 + (f" ({', '.join(map(str, off[:12]))}{', …' if len(off) > 12 else ''})"
                    if off else "")
                 + f", {len(worked)} make-up working day(s)"
                 + (f" ({', '.join(map(str, worked))})" if worked else "")]
        rows = [("", priority, d) for priority, d in self.deadlines.items()]
        rows += [(code, priority, d) for code, by in sorted(self.categories.items())
                 for priority, d in by.items()]
        for code, priority, d in rows:
            lines.append(f"{code or 'default':<12} {priority:<7} acknowledge {d.acknowledge!s:<18}"
                         f" resolve {d.resolve}")
        lines.append(f"reminder when {self.reminder_share:.0%} of the time is gone; a missed "
                     f"deadline promises a new one {self.extension_share:.0%} of the time later; "
                     f"repeat complaints within {self.repeat_window.days} days")
        lines += [f"{code:<12} call-back {days} day(s) after closing" if days
                  else f"{code:<12} no call-back" for code, days
                  in sorted(self.call_back_days.items())]
        return lines


def _time(value: object, where: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise SlaError(f"{where}: expected a time of day such as \"09:00\"") from None


def _dates(value: object, where: str) -> frozenset[date]:
    if not isinstance(value, list):
        raise SlaError(f"{where}: expected a list of dates such as [\"2027-01-01\"]")
    try:
        return frozenset(v if isinstance(v, date) else date.fromisoformat(str(v)) for v in value)
    except ValueError:
        raise SlaError(f"{where}: expected dates as YYYY-MM-DD") from None


def _deadlines(table: object, where: str, fallback: Deadlines | None) -> Deadlines:
    if not isinstance(table, Mapping) or not set(table) <= {"acknowledge", "resolve"}:
        raise SlaError(f"{where}: expected acknowledge = \"…\" and resolve = \"…\"")
    if fallback is None and set(table) != {"acknowledge", "resolve"}:
        raise SlaError(f"{where}: both acknowledge and resolve are needed")
    ack = (Span.parse(table["acknowledge"], f"{where}.acknowledge") if "acknowledge" in table
           else fallback.acknowledge if fallback else None)
    resolve = (Span.parse(table["resolve"], f"{where}.resolve") if "resolve" in table
               else fallback.resolve if fallback else None)
    assert ack is not None and resolve is not None
    return Deadlines(ack, resolve)


def policy_from(data: Mapping[str, Any], timezone: ZoneInfo) -> SlaPolicy:
    """The policy an SLA file describes; anything it leaves out keeps its default."""
    known = {"office_hours", "reminder", "extension", "repeat_window_days", "categories",
             *PRIORITIES}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SlaError(f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    hours = data.get("office_hours", {})
    if not isinstance(hours, Mapping):
        raise SlaError("office_hours: expected a table")
    calendar = Calendar(timezone=timezone)
    if "opens" in hours:
        calendar = replace(calendar, opens=_time(hours["opens"], "office_hours.opens"))
    if "closes" in hours:
        calendar = replace(calendar, closes=_time(hours["closes"], "office_hours.closes"))
    if calendar.closes <= calendar.opens:
        raise SlaError("office_hours: closes must be later than opens")
    if "weekdays" in hours:
        days = hours["weekdays"]
        if not isinstance(days, list) or not days or not set(days) <= set(WEEKDAYS):
            raise SlaError(f"office_hours.weekdays: expected a list of {', '.join(WEEKDAYS)}")
        calendar = replace(calendar, weekdays=frozenset(WEEKDAYS.index(d) for d in days))
    source = hours.get("public_holidays", "CN")
    if source not in HOLIDAY_SOURCES:
        raise SlaError(f"office_hours.public_holidays: expected one of "
                       f"{', '.join(HOLIDAY_SOURCES)}, not {source!r}")
    days_off = _dates(hours.get("days_off", []), "office_hours.days_off")
    working_days = _dates(hours.get("working_days", []), "office_hours.working_days")
    # the country's days, where the office's own file does not say otherwise
    public_off, public_working, years = public_holidays(source)
    calendar = replace(calendar, days_off=(public_off - working_days) | days_off,
                       working_days=(public_working - days_off) | working_days,
                       holidays_of=source, holiday_years=years)
    deadlines = {p: _deadlines(data[p], p, DEFAULT_DEADLINES[p]) if p in data
                 else DEFAULT_DEADLINES[p] for p in PRIORITIES}
    categories: dict[str, dict[str, Deadlines]] = {}
    table = data.get("categories", {})
    if not isinstance(table, Mapping):
        raise SlaError("categories: expected tables such as [categories.water.urgent]")
    call_back_days: dict[str, int] = {}
    for code, by_priority in table.items():
        if not isinstance(by_priority, Mapping) or not set(by_priority) <= {
                *PRIORITIES, "follow_up_days"}:
            raise SlaError(f"categories.{code}: expected [categories.{code}.normal] and/or "
                           f"[categories.{code}.urgent], and follow_up_days = N")
        if "follow_up_days" in by_priority:
            days = by_priority["follow_up_days"]
            if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 366:
                raise SlaError(f"categories.{code}.follow_up_days: expected whole days from 0 "
                               f"to 366")
            call_back_days[code] = days
        categories[code] = {p: _deadlines(d, f"categories.{code}.{p}", deadlines[p])
                            for p, d in by_priority.items() if p in PRIORITIES}
    share, extension = data.get("reminder", 0.75), data.get("extension", 0.5)
    if not isinstance(share, int | float) or not 0 < share < 1:
        raise SlaError("reminder: expected a share of the time between 0 and 1, e.g. 0.75")
    if not isinstance(extension, int | float) or not 0 < extension <= 2:
        raise SlaError("extension: expected a share of the time allowed, e.g. 0.5")
    window = data.get("repeat_window_days", 30)
    if not isinstance(window, int) or not 0 <= window <= 366:
        raise SlaError("repeat_window_days: expected whole days from 0 to 366")
    policy = SlaPolicy(calendar, deadlines, categories, float(share), float(extension),
                       timedelta(days=window), call_back_days)
    # refuse a calendar without working time now, not at the first ticket
    next(calendar.windows_from(datetime.now(UTC)))
    return policy
