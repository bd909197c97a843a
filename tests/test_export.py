"""`residesk export`: tickets of a period, streamed to CSV or XLSX, read back by real readers;
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.statistics.export import export
from storage.db import Database
from storage.export import HEADERS
from storage.models import Building, Resident, Staff, Unit
from tickets.inputs import Submission
from tickets.service import TicketService

SHANGHAI = ZoneInfo("Asia/Shanghai")
TRICKY = 'Water, "everywhere";\nsecond line ' + "x" * 10_000


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


async def seed(db: Database) -> dict[str, str]:
    """Four tickets around the period's edges (office time); returns number by label."""
    numbers: dict[str, str] = {}
    async with db.transaction() as session:
        building = Building(name="3")
        unit = Unit(building=building, number="1202", floor="12")
        manager = Staff(telegram_user_id=501, name="Li Na", role="manager")
        session.add_all([building, unit, manager])
        await session.flush()
        resident = Resident(telegram_user_id=1, chat_id=1, name="Wang Fang",
                            phone="+8613800138000", unit_id=unit.id, unit_text="3-1202",
                            language="en")
        session.add(resident)
        await session.flush()
        service = TicketService(session)
        for label, created, description in [
            ("before", local(2026, 10, 31, 23, 59), "too early"),
            ("first", local(2026, 11, 1, 0, 0), TRICKY),
            ("last", local(2026, 11, 30, 23, 59), "=HYPERLINK(\"http://x\")"),
            ("after", local(2026, 12, 1, 0, 0), "too late"),
        ]:
            ticket, _ = await service.submit(resident, Submission(
                key=label, category="water", description=description), now=created)
            assert ticket.number is not None
            numbers[label] = ticket.number
            if label == "first":
                ticket.assignee_id = manager.id
                ticket.acknowledged_at = local(2026, 11, 1, 9, 30)
                ticket.resolved_at = local(2026, 11, 2, 15, 0)
                ticket.resolution_type, ticket.resolution_text = "repair", "Pipe replaced"
                ticket.rating, ticket.rating_comment = 5, "Thanks"
    return numbers


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_a_period_round_trips_through_a_real_reader(
    db: Database, tmp_path: Path, fmt: str
) -> None:
    numbers = await seed(db)
    output = tmp_path / f"tickets.{fmt}"
    count = await export(db, date(2026, 11, 1), date(2026, 11, 30), fmt, output, SHANGHAI)
    assert count == 2
    if fmt == "csv":
        with output.open(encoding="utf-8-sig", newline="") as stream:
            rows = list(csv.DictReader(stream))
    else:
        sheet = load_workbook(output, read_only=True).active
        assert sheet is not None
        values = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert tuple(values[0]) == tuple(HEADERS)
        rows = [dict(zip(HEADERS, r, strict=True)) for r in values[1:]]
    assert [r["number"] for r in rows] == [numbers["first"], numbers["last"]]
    first, last = rows
    assert first["description"] == TRICKY  # commas, quotes, new lines, 10,000 characters
    assert (first["building"], first["unit"], first["floor"]) == ("3", "1202", "12")
    assert (first["complainant"], first["assignee"]) == ("Wang Fang", "Li Na")
    assert (first["resolution_type"], first["resolution"]) == ("repair", "Pipe replaced")
    assert str(first["rating"]) == "5" and first["rating_comment"] == "Thanks"
    if fmt == "csv":  # ISO times with the office's offset; a formula stays text
        assert first["created_at"] == "2026-11-01T00:00:00+08:00"
        assert first["acknowledged_at"] == "2026-11-01T09:30:00+08:00"
        assert first["closed_at"] == ""
        assert last["description"] == "'=HYPERLINK(\"http://x\")"
    else:  # the office's wall-clock time in real date cells; a formula is a string cell
        # naive on purpose: a spreadsheet cell keeps no time zone, openpyxl reads it naive
        assert first["created_at"] == datetime(2026, 11, 1, 0, 0)  # noqa: DTZ001
        assert first["resolved_at"] == datetime(2026, 11, 2, 15, 0)  # noqa: DTZ001
        assert first["closed_at"] is None
        assert last["description"] == "=HYPERLINK(\"http://x\")"


async def test_an_empty_period_and_bad_requests(db: Database, tmp_path: Path) -> None:
    output = tmp_path / "empty.csv"
    assert await export(db, date(2020, 1, 1), date(2020, 1, 31), "csv", output, SHANGHAI) == 0
    assert output.read_text(encoding="utf-8-sig").strip() == ",".join(HEADERS)
    with pytest.raises(ValueError, match="after"):
        await export(db, date(2020, 2, 1), date(2020, 1, 1), "csv", output, SHANGHAI)
    with pytest.raises(ValueError, match="--output"):
        await export(db, date(2020, 1, 1), date(2020, 1, 2), "xlsx", None, SHANGHAI)


def test_times_cover_whole_days_in_office_time() -> None:
    from bot.statistics.export import period

    start, end = period(date(2026, 11, 1), date(2026, 11, 1), SHANGHAI)
    assert start.astimezone(UTC) == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 24 * 3600
