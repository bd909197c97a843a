"""Deadline arithmetic on the office calendar: worked examples and properties (hypothesis)."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.sla import Calendar, SlaError, SlaPolicy, Span, policy_from, public_holidays

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = Calendar(SHANGHAI)  # 09:00-18:00, Monday to Friday


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


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


# --- China's public holidays (chinesecalendar), merged with the office's own days -------

SPRING_FESTIVAL_EVE = local(2026, 2, 13, 10)  # Friday; off 15-23 Feb, Saturday 14th and 28th worked


def test_seven_working_days_do_not_run_through_the_spring_festival() -> None:
    policy = policy_from({}, SHANGHAI)  # out of the box: China's holidays and make-up days
    seven = Span(7, "working days")
    # 8 h on Friday, 9 on the make-up Saturday, the festival off, then 24-28 Feb, and Monday
    assert seven.after(SPRING_FESTIVAL_EVE, policy.calendar) == local(2026, 3, 2, 10)
    assert seven.after(SPRING_FESTIVAL_EVE, OFFICE) == local(2026, 2, 24, 10)  # no holidays
    plain = policy_from({"office_hours": {"public_holidays": "none"}}, SHANGHAI)
    assert seven.after(SPRING_FESTIVAL_EVE, plain.calendar) == local(2026, 2, 24, 10)
    # National Day: 1-7 October off, Saturday 10th worked
    assert not policy.calendar.is_working_day(date(2026, 10, 5))
    assert policy.calendar.is_working_day(date(2026, 10, 10))


def test_the_office_file_wins_over_the_public_holidays() -> None:
    policy = policy_from({"office_hours": {"days_off": ["2026-02-14", "2026-02-28"],
                                           "working_days": ["2026-02-23"]}}, SHANGHAI)
    calendar = policy.calendar
    assert not calendar.is_working_day(date(2026, 2, 14))  # the office does not make it up
    assert calendar.is_working_day(date(2026, 2, 23))  # the office opens a festival day
    assert not calendar.is_working_day(date(2026, 2, 16))  # the rest of the festival stays
    # Friday 8 h, 23 Feb 9, 24-27 Feb 36 (53), Monday 2 March 9 (62), then one hour
    assert Span(7, "working days").after(SPRING_FESTIVAL_EVE, calendar) == local(2026, 3, 3, 10)


def test_the_sla_command_warns_when_next_years_holidays_are_not_known() -> None:
    known_to = max(policy_from({}, SHANGHAI).calendar.holiday_years)
    ahead = date(known_to, 12, 3)  # a December whose next year the library does not cover
    [warning] = policy_from({}, SHANGHAI).warnings(ahead)
    assert f"public holidays of {known_to + 1} are not known" in warning
    assert policy_from({}, SHANGHAI).warnings(date(known_to - 1, 6, 1)) == []
    listed = {"office_hours": {"days_off": [f"{known_to + 1}-01-01"]}}
    assert policy_from(listed, SHANGHAI).warnings(ahead) == []  # the office listed its own
    assert policy_from({"office_hours": {"public_holidays": "none"}},
                       SHANGHAI).warnings(ahead) == []


def test_pausing_gives_the_time_left_back() -> None:
    policy = SlaPolicy(OFFICE)
    seven = Span(7, "working days")
    due = seven.after(local(2026, 11, 30, 10), OFFICE)  # Wednesday 9 December, 10:00
    # paused on Tuesday 10:00 with six working days left, resumed on Thursday 10th, 10:00
    assert policy.resumed(local(2026, 12, 1, 10), due, local(2026, 12, 10, 10), seven) == (
        local(2026, 12, 18, 10), local(2026, 12, 16, 12, 15))
    # paused after it was missed: it stays missed, no reminder
    assert policy.resumed(local(2026, 12, 9, 11), due, local(2026, 12, 10, 10), seven) == (
        due, None)
    # around the clock: 20 of 24 hours left after a day's wait; the reminder (at 18 h) is due
    day = Span(24, "hours")
    start = local(2026, 12, 1, 10)
    assert policy.resumed(start + timedelta(hours=4), start + timedelta(hours=24),
                          start + timedelta(hours=28), day) == (
        start + timedelta(hours=48), start + timedelta(hours=42))


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
        days_off=frozenset(days[::2]) | draw(public_days_off),
        working_days=frozenset(days[1::2]) | draw(public_working_days))


# China's public holidays (or none) under the drawn office's own days
CN_OFF, CN_WORKING, _ = public_holidays("CN")
public_days_off = st.sampled_from([frozenset(), CN_OFF])
public_working_days = st.sampled_from([frozenset(), CN_WORKING])


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
@given(calendars(), starts, durations, durations, durations)
def test_a_pause_keeps_the_time_that_was_left(calendar: Calendar, start: datetime,
                                             before: timedelta, allowed: timedelta,
                                             waited: timedelta) -> None:
    span = Span(max(allowed.total_seconds(), 60) / 3600, "working hours")
    policy = SlaPolicy(calendar)
    due = span.after(start, calendar)
    paused_at = start + before
    resumed_at = paused_at + waited
    new_due, reminder = policy.resumed(paused_at, due, resumed_at, span)
    left = calendar.working_time_between(paused_at, due)
    if left == timedelta(0):
        assert (new_due, reminder) == (due, None)  # missed before the pause
    else:
        assert new_due >= resumed_at
        assert calendar.working_time_between(resumed_at, new_due) == left
        if reminder is not None:  # reminded with a quarter of the whole span still to go
            assert resumed_at <= reminder <= new_due
            assert calendar.working_time_between(reminder, new_due) == span.length(
                calendar) * (1 - policy.reminder_share)


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
