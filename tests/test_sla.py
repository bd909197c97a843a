"""Deadline arithmetic on the office calendar: worked examples and properties (hypothesis)."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.sla import Calendar, SlaError, SlaPolicy, Span, policy_from

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = Calendar(SHANGHAI)  # 09:00-18:00, Monday to Friday


def local(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("start", "span", "due"), [
    # inside office hours: the same day
    (local(2026, 11, 30, 10), Span(2, "working hours"), local(2026, 11, 30, 12)),
    # Friday afternoon: the rest runs on Monday morning
    (local(2026, 12, 4, 17), Span(2, "working hours"), local(2026, 12, 7, 10)),
    # on a Saturday night the clock starts on Monday at opening time
    (local(2026, 12, 5, 23), Span(1, "working hours"), local(2026, 12, 7, 10)),
    # exactly a day's worth ends at closing time, not the next morning
    (local(2026, 11, 30, 9), Span(9, "working hours"), local(2026, 11, 30, 18)),
    # seven working days from Monday 10:00: Wednesday of the next week, 10:00
    (local(2026, 11, 30, 10), Span(7, "working days"), local(2026, 12, 9, 10)),
    # around the clock, weekends included
    (local(2026, 12, 4, 17), Span(24, "hours"), local(2026, 12, 5, 17)),
    (local(2026, 12, 4, 17), Span(2, "days"), local(2026, 12, 6, 17)),
])
def test_examples(start: datetime, span: Span, due: datetime) -> None:
    assert span.after(start, OFFICE) == due


def test_days_off_and_make_up_working_days() -> None:
    holiday = Calendar(SHANGHAI, days_off=frozenset({date(2027, 1, 1)}),
                       working_days=frozenset({date(2027, 1, 2)}))  # Friday off, Saturday on
    start = local(2026, 12, 31, 17)  # Thursday, an hour before closing
    assert Span(2, "working hours").after(start, holiday) == local(2027, 1, 2, 10)
    assert Span(2, "working hours").after(start, OFFICE) == local(2027, 1, 1, 10)


def test_the_defaults_are_the_issues() -> None:
    policy = SlaPolicy(OFFICE)
    start = local(2026, 12, 4, 17)  # Friday 17:00
    assert policy.due_times(start, "water", "urgent") == (local(2026, 12, 4, 19),
                                                          local(2026, 12, 5, 17))
    assert policy.due_times(start, "water", "normal") == (local(2026, 12, 6, 17),
                                                          local(2026, 12, 15, 17))


def test_reminder_comes_when_three_quarters_of_working_time_are_gone() -> None:
    policy = SlaPolicy(OFFICE)
    start = local(2026, 12, 4, 17)  # 8 working hours from Friday 17:00: due Monday 16:00
    assert policy.reminder(start, Span(8, "working hours")) == local(2026, 12, 7, 14)


# --- properties --------------------------------------------------------------------------

ZONES = [ZoneInfo(z) for z in ("Asia/Shanghai", "Europe/Moscow", "America/New_York", "UTC")]


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    opens = draw(st.integers(0, 22 * 4))  # quarter hours
    closes = draw(st.integers(opens + 1, 24 * 4 - 1))
    days = draw(st.lists(st.dates(date(2026, 1, 1), date(2028, 12, 31)), max_size=30))
    return Calendar(
        timezone=draw(st.sampled_from(ZONES)),
        opens=time(opens // 4, opens % 4 * 15), closes=time(closes // 4, closes % 4 * 15),
        weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        days_off=frozenset(days[::2]), working_days=frozenset(days[1::2]))


# hypothesis takes naive bounds (read in each drawn zone); the values drawn are aware UTC
starts = st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31),  # noqa: DTZ001
                      timezones=st.just(UTC))
durations = st.integers(0, 60 * 24 * 20).map(lambda minutes: timedelta(minutes=minutes))


@settings(max_examples=150, deadline=None)
@given(calendars(), starts, durations)
def test_the_working_time_between_start_and_due_is_the_time_allowed(
        calendar: Calendar, start: datetime, allowed: timedelta) -> None:
    due = calendar.add_working_time(start, allowed)
    assert due >= start
    assert calendar.working_time_between(start, due) == allowed


@settings(max_examples=150, deadline=None)
@given(calendars(), starts, durations.filter(lambda d: d > timedelta(0)))
def test_a_deadline_falls_in_office_hours_on_a_working_day(
        calendar: Calendar, start: datetime, allowed: timedelta) -> None:
    due = calendar.add_working_time(start, allowed).astimezone(calendar.timezone)
    assert calendar.is_working_day(due.date())
    assert calendar.opens < due.time() <= calendar.closes


@settings(max_examples=150, deadline=None)
@given(calendars(), starts, durations, durations)
def test_time_allowed_adds_up(calendar: Calendar, start: datetime, first: timedelta,
                              second: timedelta) -> None:
    step = calendar.add_working_time(calendar.add_working_time(start, first), second)
    if first > timedelta(0):  # from outside office hours, zero time stays where it is
        assert step == calendar.add_working_time(start, first + second)
    assert calendar.add_working_time(start, first) <= calendar.add_working_time(
        start, first + second)


@settings(max_examples=150, deadline=None)
@given(calendars(), starts, starts, durations)
def test_a_later_report_is_never_due_earlier(calendar: Calendar, a: datetime, b: datetime,
                                             allowed: timedelta) -> None:
    early, late = sorted((a, b))
    assert calendar.add_working_time(early, allowed) <= calendar.add_working_time(late, allowed)


# --- the SLA file ------------------------------------------------------------------------

def test_the_example_file_reads_and_keeps_the_defaults_it_does_not_change() -> None:
    data = tomllib.loads(Path(__file__).parents[1].joinpath("sla.example.toml").read_text())
    policy = policy_from(data, SHANGHAI)
    defaults = SlaPolicy(OFFICE)
    assert policy.deadlines == defaults.deadlines
    assert policy.calendar.days_off and policy.calendar.working_days
    water = policy.for_ticket("water", "normal")
    assert water.acknowledge == Span(4, "hours")
    assert water.resolve == defaults.deadlines["normal"].resolve  # not overridden: the default


@pytest.mark.parametrize(("data", "named"), [
    ({"normal": {"acknowledge": "soon"}}, "normal.acknowledge"),
    ({"urgent": {"resolve": "0 hours"}}, "urgent.resolve"),
    ({"office_hours": {"opens": "18:00", "closes": "09:00"}}, "closes must be later"),
    ({"office_hours": {"weekdays": ["monday"]}}, "office_hours.weekdays"),
    ({"office_hours": {"days_off": ["31.12.2026"]}}, "office_hours.days_off"),
    ({"categories": {"water": {"slow": {}}}}, "categories.water"),
    ({"reminder": 1.5}, "reminder"),
    ({"repeat_window_days": -1}, "repeat_window_days"),
    ({"weekly_report": "mon"}, "unknown setting 'weekly_report'"),
])
def test_a_wrong_setting_is_named(data: dict[str, object], named: str) -> None:
    with pytest.raises(SlaError, match=named.replace(".", r"\.")):
        policy_from(data, SHANGHAI)
