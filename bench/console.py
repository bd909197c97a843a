"""The office console at scale: the statistics benchmark's N tickets (default 1,000,000, seeded
by `bench/stats_export.py`'s `seed`) on SQLite, a manager signed in, and the console's pages
asked for over real HTTP on loopback — the desk running as `residesk serve` runs it (polling
the Bot API emulator, its HTTP application with /console/ beside), the bench as the browser.

    .venv/bin/python bench/console.py [--tickets N] [--sqlite-file FILE] [--requests 20]

Each URL is asked for once to warm up, then N times one after another; p50 and p95 are
measured by the client, from sending the request to the last byte of the page. Targets:
the queue (two filters and a search, and its other variants: a plain two-filter view, a
search by ticket number, by phone digits) p95 ≤ 300 ms; a ticket's page (one with a few
events) ≤ 100 ms; the dashboard for 30 days with its charts ≤ 500 ms, the same 30 days again
and again, and 30 days each request asks for first. Seeding is not timed.
It is a benchmark, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.stats_export import NOW, maintain, seed, seeded  # noqa: E402
from bot.app import ResidentDesk, Settings  # noqa: E402
from bot.emulator import BotAPIEmulator  # noqa: E402
from bot.settings import (  # noqa: E402
    ConsoleSettings,
    DatabaseSettings,
    OfficeSettings,
    TelegramSettings,
)
from storage.db import Database  # noqa: E402
from storage.models import Staff, Ticket, TicketEvent, utcnow  # noqa: E402
from storage.sign_in import ConsoleSessions  # noqa: E402
from web.app import listening, make_app  # noqa: E402
from web.console.access import COOKIE  # noqa: E402

QUEUE_TARGET_MS = 300.0
TICKET_TARGET_MS = 100.0
DASHBOARD_TARGET_MS = 500.0
MANAGER = 900_001  # the bench manager's Telegram user id
SESSION_LIFETIME = timedelta(hours=2)
# The seeded year ends at NOW (2026-11-30): "the last 30 days" are asked for as two dates,
# which is what `period=month` shows on that day and does not run empty as the clock moves.
MONTH = (NOW.date() - timedelta(days=29), NOW.date())


@dataclass
class Page:
    name: str
    path: str
    target_ms: float
    marker: str  # text the page must hold (else: signed out, an error page…)
    # request n asks for others[n % len] instead of `path`: a page never seen before, each
    others: tuple[str, ...] = ()
    times: list[float] = field(default_factory=list)  # seconds
    size: int = 0
    problem: str = ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def prepare(db: Database) -> tuple[int, str]:
    """The bench manager (added once, with a ticket given a few more events) and a console
    session of theirs: (the ticket's id, the cookie's value)."""
    async with db.transaction() as session:
        # the newest ticket under investigation: received and acknowledged by the seeding
        ticket_id = await session.scalar(
            select(Ticket.id).where(Ticket.status == "investigating")
            .order_by(Ticket.id.desc()).limit(1))
        if ticket_id is None:
            raise RuntimeError("no ticket under investigation: seed more (--tickets)")
        staff = await session.scalar(select(Staff).where(Staff.telegram_user_id == MANAGER))
        if staff is None:
            staff = Staff(telegram_user_id=MANAGER, name="Bench Manager", role="manager",
                          active=True)
            session.add(staff)
            await session.flush()
            acknowledged = await session.scalar(
                select(func.max(TicketEvent.created_at))
                .where(TicketEvent.ticket_id == ticket_id))
            assert acknowledged is not None
            for minutes, kind, changes in (
                    (5, "assigned", {"note": staff.name}),
                    (30, "status", {"from_status": "acknowledged",
                                    "to_status": "investigating"}),
                    (90, "note", {"note": "Called the resident; a site visit on Friday."})):
                session.add(TicketEvent(ticket_id=ticket_id, kind=kind, actor_type="staff",
                                        actor_id=staff.id,
                                        created_at=acknowledged + timedelta(minutes=minutes),
                                        **changes))
        sessions = ConsoleSessions(session)
        await sessions.forget_expired(utcnow())
        opened = await sessions.open(staff, utcnow(), SESSION_LIFETIME)
        return ticket_id, opened.token


def pages(ticket_id: int, ticket_number: str) -> list[Page]:
    q = QUEUE_TARGET_MS
    return [
        Page("queue: 2 filters", "/console/?status=new&category=water", q, "B0"),
        Page("queue: 2 filters + text (in every description)",
             "/console/?status=new&category=water&q=ordinary", q, "B0"),
        Page("queue: 2 filters + text (in none)",
             "/console/?status=new&category=water&q=leaking", q, "</html>"),
        Page("queue: ticket number", f"/console/?q={ticket_number}", q, ticket_number),
        Page("queue: phone digits (the resident of every ticket)",
             "/console/?q=13800000000", q, "B0"),
        Page("ticket (5 events)", f"/console/tickets/{ticket_id}", TICKET_TARGET_MS,
             "Called the resident"),
        Page("dashboard, 30 days with charts", dashboard(0), DASHBOARD_TARGET_MS,
             "data:image/svg+xml"),
        # 30 days that each request asks for first: nothing the page shows was asked before
        Page("dashboard, 30 days first seen", dashboard(1), DASHBOARD_TARGET_MS,
             "data:image/svg+xml", others=tuple(dashboard(days) for days in range(1, 23))),
    ]


def dashboard(days_earlier: int) -> str:
    last = MONTH[1] - timedelta(days=days_earlier)
    return f"/console/dashboard?period=dates&from={last - timedelta(days=29)}&to={last}"


async def fetch(http: aiohttp.ClientSession, url: str) -> tuple[float, int, str]:
    started = time.perf_counter()
    async with http.get(url, allow_redirects=False) as answer:
        body = await answer.text()
    return time.perf_counter() - started, answer.status, body


async def measure(http: aiohttp.ClientSession, base: str, page: Page, requests: int) -> None:
    for n in range(requests + 1):  # the first warms up
        path = page.others[n % len(page.others)] if page.others else page.path
        seconds, status, body = await fetch(http, base + path)
        if status != 200 or page.marker not in body:
            page.problem = f"HTTP {status}" + ("" if status != 200 else
                                               f", no {page.marker!r} in the page")
            return
        page.size = len(body.encode())
        if n:
            page.times.append(seconds)


def quantile(values: list[float], share: float) -> float:
    """Linear between the two nearest samples (p95 of 20 is not simply the slowest)."""
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def report(measured: list[Page], tickets: int, requests: int) -> None:
    print(f"console bench (SQLite, {tickets:,} tickets): {requests} requests per URL after one "
          f"to warm up, one at a time; python {sys.version.split()[0]}, {os.cpu_count()} cores")
    width = max(len(p.name) for p in measured)
    print(f"  {'page':<{width}}  {'p50':>8}  {'p95':>8}  {'max':>8}  {'target':>8}  "
          f"{'size':>7}  verdict")
    for page in measured:
        if page.problem or not page.times:
            print(f"  {page.name:<{width}}  no figures: {page.problem or 'not measured'}")
            continue
        ms = [t * 1000 for t in page.times]
        p95 = quantile(ms, 0.95)
        print(f"  {page.name:<{width}}  {statistics.median(ms):5.0f} ms  {p95:5.0f} ms  "
              f"{max(ms):5.0f} ms  ≤{page.target_ms:4.0f} ms  {page.size / 1024:4.0f} kB  "
              f"{'met' if p95 <= page.target_ms else 'NOT met'}")
    for page in measured:
        print(f"    {page.name}: {page.path}" + (f" (and {len(page.others) - 1} more like it)"
                                                if page.others else ""))


async def serve_and_measure(url: str, workdir: Path, ticket_id: int, token: str,
                            tickets: int, requests: int) -> None:
    async with BotAPIEmulator() as emulator:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        settings = Settings(
            TelegramSettings(bot_token=SecretStr(emulator.token),
                             telegram_api_url=emulator.base_url),
            DatabaseSettings(database_url=url),
            OfficeSettings(media_dir=workdir / "media", weekly_report_day="off"),
            ConsoleSettings(console_url=f"{base}/console"))
        desk = ResidentDesk(settings)
        running = asyncio.create_task(desk.run(
            handle_signals=False, polling_timeout=1,
            alongside=listening(make_app(desk), "127.0.0.1", port)))
        try:
            await emulator.wait_for(lambda: running.done() or any(
                m == "getUpdates" for m, _ in emulator.requests[-3:]), 300)
            if running.done():
                running.result()  # its error
            async with desk.db.reading() as session:
                number = await session.scalar(select(Ticket.number)
                                              .where(Ticket.id == ticket_id))
            measured = pages(ticket_id, number or "")
            async with aiohttp.ClientSession(
                    headers={"Accept": "text/html,*/*;q=0.8", "Cookie": f"{COOKIE}={token}"},
                    timeout=aiohttp.ClientTimeout(total=120)) as http:
                for page in measured:
                    print(f"  {page.name} …", flush=True)
                    await measure(http, base, page, requests)
        finally:
            await desk.stop()
            await running
    report(measured, tickets, requests)


async def run(url: str, count: int, workdir: Path, requests: int) -> None:
    db = Database(url)
    try:
        await db.upgrade()  # a kept database (an older stats run's) gets 0009 and later here
        started = time.perf_counter()
        found = await seeded(db)
        if found not in (0, count):
            raise RuntimeError(f"the database holds {found:,} tickets, not {count:,}: "
                               "delete it (an interrupted seeding?) or give --tickets")
        if found:
            print(f"  reusing the {found:,} tickets already there (--sqlite-file)")
        else:
            await seed(db, count)
        ticket_id, token = await prepare(db)
        await maintain(db)
        print(f"  {'ANALYZE' if found else 'seeding'} took "
              f"{time.perf_counter() - started:.0f} s (not timed)")
    finally:
        await db.dispose()
    await serve_and_measure(url, workdir, ticket_id, token, count, requests)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--sqlite-file", metavar="FILE", type=Path,
                        help="seed this SQLite file and keep it; when it already holds the "
                             "tickets (this bench's or the stats bench's), reuse them "
                             "(newer migrations are applied first)")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per URL")
    args = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory(prefix="residesk-bench-") as tmp:
            workdir = Path(tmp)
            print(f"SQLite, {args.tickets:,} tickets")
            sqlite_file = args.sqlite_file.resolve() if args.sqlite_file else workdir / "bench.db"
            asyncio.run(run(f"sqlite+aiosqlite:///{sqlite_file}", args.tickets, workdir,
                            max(args.requests, 1)))
    except Exception:  # a benchmark reports, it does not fail the build
        traceback.print_exc()
        print("\nbenchmark aborted: no figures (see the error above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
