"""The dashboard (managers): `/stats`'s figures for a chosen period with the four charts, and
the period's tickets as CSV or XLSX.

The charts come as SVG whose text stays text, so the reader's browser draws Chinese with its
own fonts whatever the server has; they are shown as images (data: URIs) so that the ids
inside one chart never meet another's. The export streams: CSV row by row as it is read, XLSX
from a temporary file (openpyxl's write-only workbook), deleted once sent.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import tempfile
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiMapping

from bot.statistics.export import FORMATS, csv_value, export, period
from bot.statistics.report import chart_labels
from bot.statistics.text import statistics_text
from locales import N_
from storage.db import Database
from storage.export import HEADERS, ticket_rows
from storage.models import utcnow
from tickets.periods import PERIOD_DAYS
from tickets.periods import period as named_period
from tickets.statistics import compute
from tickets.trends import compute_trends
from web.console.access import DESK, Need, need
from web.console.pages import language_of
from web.console.svg_charts import draw_charts

BAD_PERIOD = N_("Please choose a period: a week, a month, a quarter, or two dates (at most a "
                "year apart, the first not after the second).")
CSV_BATCH = 500  # rows per write to the client


def chosen_period(query: MultiMapping[str], today: date
                  ) -> tuple[tuple[date, date] | None, str, str, str]:
    """(first, last) or None, and the form's values: the named period, and the two dates."""
    name = query.get("period", "week")
    first, last = query.get("from", ""), query.get("to", "")
    words = [first, last] if name == "dates" else [name]
    return named_period(words, today), name, first, last


@need(Need.MANAGER)
async def dashboard_page(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    timezone = desk.engine.office.timezone
    today = utcnow().astimezone(timezone).date()
    found, name, typed_from, typed_to = chosen_period(request.query, today)
    context: dict[str, object] = {"period_name": name, "typed_from": typed_from,
                                  "typed_to": typed_to, "periods": list(PERIOD_DAYS),
                                  "formats": FORMATS, "problem": None, "charts": [],
                                  "figures": None, "first": None, "last": None}
    if found is None:
        context["problem"] = BAD_PERIOD
        return aiohttp_jinja2.render_template("dashboard.html", request, context, status=400)
    first, last = found
    lang = language_of(request)
    start, end = period(first, last, timezone)
    stats, trends = await asyncio.gather(compute(desk.db, start, end, utcnow()),
                                         compute_trends(desk.db, start, end, timezone))
    charts = draw_charts(trends, chart_labels(lang))
    context.update(
        first=first, last=last, stats=stats,
        figures=statistics_text(stats, first, last, timezone, lang),
        charts=[(chart, "data:image/svg+xml;base64," + base64.b64encode(svg).decode())
                for chart, svg in charts])
    return aiohttp_jinja2.render_template("dashboard.html", request, context)


@need(Need.MANAGER)
async def export_download(request: web.Request) -> web.StreamResponse:
    desk = request.app[DESK]
    timezone = desk.engine.office.timezone
    found, _name, _first, _last = chosen_period(request.query,
                                                utcnow().astimezone(timezone).date())
    fmt = request.query.get("format", "csv")
    if found is None or fmt not in FORMATS:
        raise web.HTTPBadRequest(text="choose a period and a format (csv or xlsx)")
    first, last = found
    filename = f"tickets-{first.isoformat()}-{last.isoformat()}.{fmt}"
    response = web.StreamResponse(headers={
        "Content-Type": ("text/csv; charset=utf-8" if fmt == "csv" else
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store",
    })
    if fmt == "csv":
        await response.prepare(request)
        await _stream_csv(response, desk.db, first, last, timezone)
    else:
        with tempfile.TemporaryDirectory(prefix="residesk-export-") as folder:
            path = Path(folder) / filename
            await export(desk.db, first, last, "xlsx", path, timezone)
            await response.prepare(request)
            with path.open("rb") as file:
                while chunk := await asyncio.to_thread(file.read, 256 * 1024):
                    await response.write(chunk)
    await response.write_eof()
    return response


async def _stream_csv(response: web.StreamResponse, db: Database, first: date, last: date,
                      timezone: ZoneInfo) -> None:
    start, end = period(first, last, timezone)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # a BOM: Excel then reads the file as UTF-8
    writer.writerow(HEADERS)
    written = 0
    async with db.reading() as session:
        async for row in ticket_rows(session, start, end):
            writer.writerow([csv_value(v, timezone) for v in row])
            written += 1
            if written % CSV_BATCH == 0:
                await response.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
    await response.write(buffer.getvalue().encode())
