"""`residesk export`: the tickets of a period as CSV or XLSX, written row by row.

Times are the office's local time. Text that a spreadsheet would run as a formula (starting
with = + - @) is kept as text: quoted with a leading apostrophe in CSV (OWASP's advice), a
plain string cell in XLSX.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from storage.db import Database
from storage.export import HEADERS, ticket_rows

FORMATS = ("csv", "xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def period(first: date, last: date, timezone: ZoneInfo) -> tuple[datetime, datetime]:
    """[first 00:00, the day after last 00:00) in the office's time zone."""
    if last < first:
        raise ValueError("--from is after --to")
    start = datetime.combine(first, time(), timezone)
    return start, datetime.combine(last + timedelta(days=1), time(), timezone)


def csv_value(value: Any, timezone: ZoneInfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone).isoformat(timespec="seconds")
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def xlsx_value(value: Any, timezone: ZoneInfo) -> Any:
    if isinstance(value, datetime):  # Excel keeps no time zone: local wall-clock time
        return value.astimezone(timezone).replace(tzinfo=None)
    return value


async def export(db: Database, first: date, last: date, fmt: str, output: Path | None,
                 timezone: ZoneInfo) -> int:
    """Write the tickets created from `first` to `last` (inclusive, office time) to `output`
    (None: standard output, CSV only); returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose csv or xlsx")
    start, end = period(first, last, timezone)
    async with db.reading() as session:  # read only: writers (the bot) go on meanwhile
        rows = ticket_rows(session, start, end)
        if fmt == "xlsx":
            if output is None:
                raise ValueError("an XLSX export needs --output FILE")
            return await _write_xlsx(rows, output, timezone)
        target: AbstractContextManager[IO[str]] = (
            nullcontext(sys.stdout) if output is None
            else output.open("w", encoding="utf-8-sig", newline=""))  # BOM: Excel reads UTF-8
        with target as stream:
            writer = csv.writer(stream)
            writer.writerow(HEADERS)
            count = 0
            async for row in rows:
                writer.writerow([csv_value(v, timezone) for v in row])
                count += 1
            return count


async def _write_xlsx(rows: AsyncIterator[tuple[Any, ...]], output: Path,
                      timezone: ZoneInfo) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)  # rows go to a temporary file, not to memory
    sheet = book.create_sheet("tickets")
    sheet.append(list(HEADERS))
    count = 0
    async for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):  # XLSX cannot hold control characters
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell = WriteOnlyCell(sheet, xlsx_value(value, timezone))
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            cells.append(cell)
        sheet.append(cells)
        count += 1
    book.save(output)
    return count
