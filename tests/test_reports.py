"""The report the staff group gets (`/stats`, the weekly report): its day, its text in the
office's language, its charts; and `residesk sla`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.statistics.charts import cjk_font
from bot.statistics.report import Reporter, weekly_due
from storage.db import Database
from tests.known_tickets import seed
from tests.processes import residesk

OFFICE = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize(("local", "due"), [
    (datetime(2026, 11, 30, 8, 59, tzinfo=OFFICE), None),  # Monday, before the hour
    (datetime(2026, 11, 30, 9, 0, tzinfo=OFFICE), date(2026, 11, 30)),
    # a late start the next morning
    (datetime(2026, 12, 1, 8, 59, tzinfo=OFFICE), date(2026, 11, 30)),
    # a day late: that week is skipped, not sent late
    (datetime(2026, 12, 1, 9, 0, tzinfo=OFFICE), None),
    (datetime(2026, 12, 6, 23, 0, tzinfo=OFFICE), None),  # Sunday
])
def test_the_weekly_report_day(local: datetime, due: date | None) -> None:
    assert weekly_due(local, 0, 9, OFFICE) == due


async def test_the_report_in_chinese_with_its_charts(db: Database) -> None:
    await seed(db)
    text, charts = await Reporter(db, "zh_Hans", OFFICE).build(date(2026, 11, 1),
                                                                 date(2026, 11, 7))
    assert text.startswith("2026-11-01 – 2026-11-07 创建的工单（Asia/Shanghai）：8")
    assert "满意度：平均" in text
    assert [c.name for c in charts] == ["volume.png", "resolve_time.png", "satisfaction.png",
                                        "hotspots.png"]
    assert all(c.kind == "photo" and (c.data or b"").startswith(b"\x89PNG") for c in charts)
    if cjk_font() is None:  # drawn with English labels rather than boxes; said in the README
        assert charts == (await Reporter(db, "en", OFFICE).build(
            date(2026, 11, 1), date(2026, 11, 7)))[1]


def test_residesk_sla_shows_the_policy_in_force(tmp_path: Path) -> None:
    shown = residesk("sla", cwd=ROOT, env={"SLA_FILE": str(ROOT / "sla.example.toml")})
    assert shown.returncode == 0, shown.stderr
    assert "office hours: 09:00-18:00 mon,tue,wed,thu,fri (Asia/Shanghai)" in shown.stdout
    assert "public holidays: CN, known for 2004-" in shown.stdout
    assert "water        normal  acknowledge 4 hours" in shown.stdout
    assert residesk("sla", cwd=ROOT, env={}).stdout.count("default") == 2
    broken = tmp_path / "sla.toml"
    broken.write_text('[normal]\nresolve = "a week"\n')
    refused = residesk("sla", cwd=ROOT, env={"SLA_FILE": str(broken)})
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"residesk: configuration error: SLA_FILE {broken}: normal.resolve: expected a time "
        "such as \"2 hours\", \"3 days\", \"16 working hours\" or \"7 working days\", not "
        "'a week'")
    missing = residesk("sla", cwd=ROOT, env={"SLA_FILE": str(tmp_path / "none.toml")})
    assert missing.returncode == 2 and "cannot be read" in missing.stderr


def test_a_day_to_come_is_not_reported_twice_or_early() -> None:
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=OFFICE)
    days = {weekly_due(monday + timedelta(minutes=m), 0, 9, OFFICE)
            for m in range(-60, 60 * 24 * 7, 30)}
    assert days == {None, date(2026, 11, 30)}
