"""Statistics and export at scale: N tickets (default 1,000,000) with their events, spread over
a year, 1 in 100 of them reports linked to incidents of 10 to 50 reports each, on SQLite (and
PostgreSQL with --postgres URL); then the whole statistics computation
(`tickets.statistics.compute`, what `residesk stats` and /stats run) for the last 30 days and
for the whole year, and a full-year CSV export by `residesk export` in a child process, whose peak
memory (max RSS) is measured.

    .venv/bin/python bench/stats_export.py [--tickets N] [--postgres postgresql://…/db]
                                           [--sqlite-file FILE] [--no-export]

Targets: statistics ≤ 300 ms on SQLite; the export's peak memory ≤ 200 MB. Seeding is not timed
(bulk inserts). It is a benchmark, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy import bindparam, insert, select, text, update  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from bench.notifications import seed_residents  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Building, Incident, Resident, Ticket, TicketEvent, Unit  # noqa: E402
from tickets.scope import Scope, ScopeKind  # noqa: E402
from tickets.statistics import compute  # noqa: E402

STATS_TARGET_MS = 300.0
EXPORT_TARGET_MB = 200.0
BATCH = 20_000
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CATEGORIES = ["noise", "facility", "water", "electricity", "lift", "cleaning", "parking",
              "security", "neighbours", "other"]
STATUSES = ["closed"] * 6 + ["resolved", "investigating", "acknowledged", "new", "withdrawn"]
CAUSES = ["equipment", "workmanship", "staff", "neighbour", "external", None]
# Incidents: about 1 ticket in 100 is a report linked to one, 10 to 50 reports each, from a
# pool of residents of their own, within a day of the incident's lead ticket
LINKED_SHARE = 0.01
REPORTS_PER_INCIDENT = (10, 50)
REPORTERS = 1000
FIRST_REPORTER = 10_000_000  # their Telegram ids


def ticket_row(i: int, rng: random.Random, units: list[int], resident: int) -> dict[str, Any]:
    created = NOW - timedelta(seconds=rng.randrange(365 * 24 * 3600))
    status = rng.choice(STATUSES)
    ack = created + timedelta(minutes=rng.randrange(10, 72 * 60))
    resolved = ack + timedelta(hours=rng.randrange(1, 240)) if status in (
        "closed", "resolved") else None
    acknowledged = ack if status != "new" else None
    return {
        "number": f"B{i:08d}", "submission_key": f"bench-{i}", "resident_id": resident,
        "unit_id": rng.choice(units), "unit_text": "", "category_code": rng.choice(CATEGORIES),
        "description": "A bench ticket with an ordinary description of a problem.",
        "channel": "telegram" if rng.random() < 0.8 else "phone", "status": status,
        "priority": "urgent" if rng.random() < 0.1 else "normal",
        "cause_category": rng.choice(CAUSES) if resolved else None,
        "rating": rng.choice([1, 2, 3, 4, 4, 5, 5, 5]) if status == "closed" else None,
        "reopen_count": 1 if rng.random() < 0.05 else 0, "created_at": created,
        "acknowledged_at": acknowledged, "resolved_at": resolved,
        # what the model keeps by itself (Core inserts bypass it)
        "acknowledge_seconds": round((acknowledged - created).total_seconds())
        if acknowledged else None,
        "resolve_seconds": round((resolved - created).total_seconds()) if resolved else None,
        "closed_at": resolved if status == "closed" else None,
        "ack_due_at": created + timedelta(hours=48), "resolve_due_at": created + timedelta(days=7),
        "version": 1,
    }


def report_row(i: int, lead: dict[str, Any], rng: random.Random, units: list[int],
               resident: int) -> dict[str, Any]:
    """A report linked to the incident `lead` leads: the same category, within a day of it,
    brought to the lead's stage at once and resolved with it (tickets/incidents.py)."""
    created = min(lead["created_at"] + timedelta(minutes=rng.randrange(1, 24 * 60)),
                  NOW - timedelta(minutes=1))
    acknowledged = created if lead["acknowledged_at"] else None
    resolved = (max(lead["resolved_at"], created + timedelta(minutes=1))
                if lead["resolved_at"] else None)
    return {
        **lead, "number": f"B{i:08d}", "submission_key": f"bench-{i}", "resident_id": resident,
        "unit_id": rng.choice(units), "created_at": created, "acknowledged_at": acknowledged,
        "resolved_at": resolved, "closed_at": resolved if lead["status"] == "closed" else None,
        "rating": rng.choice([1, 3, 4, 5, 5]) if lead["status"] == "closed" else None,
        "reopen_count": 0,
        "acknowledge_seconds": 0 if acknowledged else None,
        "resolve_seconds": round((resolved - created).total_seconds()) if resolved else None,
    }


async def seed_units(session: AsyncSession) -> list[Unit]:
    """20 buildings of 30 floors, 4 flats a floor."""
    buildings = [Building(name=str(b)) for b in range(1, 21)]
    session.add_all(buildings)
    await session.flush()
    units = [Unit(building_id=b.id, number=f"{f:02d}{u:02d}", floor=str(f))
             for b in buildings for f in range(1, 31) for u in range(1, 5)]
    session.add_all(units)
    await session.flush()
    return units


async def seed(db: Database, count: int) -> None:
    rng = random.Random(7)
    async with db.transaction() as session:
        units = await seed_units(session)
        resident = Resident(telegram_user_id=1, chat_id=1, name="Bench", phone="+8613800000000",
                            unit_text="1-0101", language="en")
        session.add(resident)
        await session.flush()
        await seed_residents(session, REPORTERS, FIRST_REPORTER)
        reporters = list((await session.scalars(
            select(Resident.id).where(Resident.id != resident.id))).all())
        unit_ids, resident_id = [u.id for u in units], resident.id
    # a new incident after a plain ticket with this chance gives LINKED_SHARE linked reports
    mean_reports = sum(REPORTS_PER_INCIDENT) / 2
    incident_chance = LINKED_SHARE / (mean_reports * (1 - LINKED_SHARE))
    scope = Scope(ScopeKind.PROPERTY).to_json()
    lead: dict[str, Any] = {}
    reports_left = incidents = 0
    first_id = 1
    for start in range(0, count, BATCH):
        rows, leads, links = [], [], []
        for i in range(start, min(count, start + BATCH)):
            if reports_left:
                rows.append(report_row(i, lead, rng, unit_ids, rng.choice(reporters)))
                links.append({"ticket": first_id + i - start, "incident": incidents})
                reports_left -= 1
                continue
            rows.append(ticket_row(i, rng, unit_ids, resident_id))
            if rng.random() < incident_chance:  # this one leads an incident
                lead, incidents = rows[-1], incidents + 1
                reports_left = rng.randint(*REPORTS_PER_INCIDENT)
                leads.append({"id": incidents, "lead_ticket_id": first_id + i - start,
                              "category_code": lead["category_code"], "scope": scope,
                              "opened_at": lead["created_at"], "closed_at": lead["resolved_at"]})
        async with db.transaction() as session:
            # Core executemany: the ORM's bulk path costs several times more per row
            await session.execute(insert(Ticket.metadata.tables["tickets"]), rows)
            if leads:  # (the tickets first: an incident names its lead, a report its incident)
                await session.execute(insert(Incident.metadata.tables["incidents"]), leads)
            if links:
                tickets = Ticket.metadata.tables["tickets"]
                await session.execute(
                    update(tickets).where(tickets.c.id == bindparam("ticket"))
                    .values(incident_id=bindparam("incident")), links)
            events = []
            for offset, row in enumerate(rows):
                ticket_id = first_id + offset
                events.append({"ticket_id": ticket_id, "kind": "status", "to_status": "new",
                               "actor_type": "resident", "created_at": row["created_at"]})
                if row["acknowledged_at"]:
                    events.append({"ticket_id": ticket_id, "kind": "status",
                                   "from_status": "new", "to_status": "acknowledged",
                                   "actor_type": "staff", "created_at": row["acknowledged_at"]})
            await session.execute(insert(TicketEvent.metadata.tables["ticket_events"]), events)
        first_id += len(rows)
        print(f"\r  seeded {first_id - 1:,} tickets", end="", flush=True)
    print(f" ({incidents:,} incidents)")


async def time_stats(db: Database, days: int, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        stats = await compute(db, NOW - timedelta(days=days), NOW, NOW)
        best = min(best, time.perf_counter() - started)
    print(f"  stats, last {days} days: {best * 1000:7.1f} ms (best of {repeats}; "
          f"{stats.total:,} tickets, overdue {stats.overdue:,}; {stats.incidents.incidents:,} "
          f"incidents, {stats.incidents.reports:,} reports linked)")
    return best * 1000


def measure_export(url: str, workdir: Path) -> tuple[float, float, int]:
    """`residesk export` of the whole year in a child process: (seconds, peak MB, bytes)."""
    output = workdir / "export.csv"
    environment = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT),
                   "OFFICE_TIMEZONE": "UTC"}
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "bot.cli", "export", "--from", "2025-11-01",
                              "--to", "2026-11-30", "--output", str(output)], env=environment,
                             cwd=workdir)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest so far
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("the export failed")
    peak_kb = usage.ru_maxrss
    return elapsed, peak_kb / 1024, output.stat().st_size


async def seeded(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(text("SELECT count(*) FROM tickets")) or 0)


async def maintain(db: Database) -> None:
    """What a running residesk keeps: the planner's statistics, refreshed as the bot does at
    start-up and daily (sampled on SQLite); on PostgreSQL also the visibility map that
    index-only scans need (VACUUM: autovacuum does it on a server that runs it, and the test
    server does not)."""
    if not db.is_sqlite:
        async with db.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM"))
    await db.refresh_statistics()


async def run(url: str, count: int, workdir: Path, export: bool = True) -> None:
    backend = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    db = Database(url)
    try:
        await db.upgrade()  # a kept database gets any newer migration here
        started = time.perf_counter()
        found = await seeded(db)
        if found not in (0, count):
            raise RuntimeError(f"the database holds {found:,} tickets, not {count:,}: "
                               "delete it (an interrupted seeding?) or give --tickets")
        if found:
            print(f"  reusing the {found:,} tickets already there (--sqlite-file)")
        else:
            await seed(db, count)
        await maintain(db)
        print(f"  {'ANALYZE' if found else 'seeding'} took "
              f"{time.perf_counter() - started:.0f} s (not timed)")
        month = await time_stats(db, 30)
        await time_stats(db, 365)
    finally:
        await db.dispose()
    if not export:
        print(f"  targets: stats ≤ {STATS_TARGET_MS:.0f} ms on SQLite ({backend}, last 30 days: "
              f"{month:.0f} ms{f', {verdict(month)}' if backend == 'SQLite' else ''})")
        return
    seconds, peak, size = await asyncio.to_thread(measure_export, url, workdir)
    print(f"  export, whole year: {seconds:.1f} s, {size / 1e6:.0f} MB of CSV, "
          f"peak memory {peak:.0f} MB")
    print(f"  targets: stats ≤ {STATS_TARGET_MS:.0f} ms on SQLite ({backend}, last 30 days: "
          f"{month:.0f} ms{f', {verdict(month)}' if backend == 'SQLite' else ''}); export peak ≤ "
          f"{EXPORT_TARGET_MB:.0f} MB ({'met' if peak <= EXPORT_TARGET_MB else 'NOT met'})")


def verdict(month_ms: float) -> str:
    return "met" if month_ms <= STATS_TARGET_MS else "NOT met"


async def postgres_database(admin_url: str, name: str, drop: bool = False) -> None:
    connection = await asyncpg.connect(admin_url.replace("+asyncpg", ""))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--postgres", metavar="URL",
                        help="also on PostgreSQL: an admin URL (a scratch database is made)")
    parser.add_argument("--sqlite-file", metavar="FILE", type=Path,
                        help="seed this SQLite file and keep it; when it already holds the "
                             "tickets, reuse them (no seeding; newer migrations are applied)")
    parser.add_argument("--no-export", action="store_true",
                        help="statistics only: skip the export")
    args = parser.parse_args()
    export = not args.no_export
    try:
        with tempfile.TemporaryDirectory(prefix="residesk-bench-") as tmp:
            workdir = Path(tmp)
            print(f"SQLite, {args.tickets:,} tickets")
            sqlite_file = args.sqlite_file.resolve() if args.sqlite_file else workdir / "bench.db"
            asyncio.run(run(f"sqlite+aiosqlite:///{sqlite_file}", args.tickets, workdir,
                            export))
            if args.postgres:
                name = f"residesk_bench_{os.getpid()}"
                base = args.postgres.rsplit("/", 1)[0]
                print(f"PostgreSQL, {args.tickets:,} tickets")
                asyncio.run(postgres_database(args.postgres, name))
                try:
                    asyncio.run(run(f"{base}/{name}", args.tickets, workdir, export))
                finally:
                    asyncio.run(postgres_database(args.postgres, name, drop=True))
    except Exception:  # a benchmark reports, it does not fail the build
        traceback.print_exc()
        print("\nbenchmark aborted: no figures (see the error above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
