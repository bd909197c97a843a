"""Personal data at scale: N tickets (default 1,000,000) of R residents (default 100,000), with
their events and one evidence row in three, on SQLite (and PostgreSQL with --postgres URL).

Measured, beside a month's statistics in the same run (the desk's everyday heavy query, target
300 ms, as the ratio's baseline):
- the daily retention run when nothing is due (what every day costs): its read, found outside
  the writers' queue, and the whole run;
- the read when everything is due (the first run after three years without one; dry);
- erasing one resident with 10 tickets (/forget's transaction);
- a resident's copy (/mydata's JSON) for one with 10 tickets.

    .venv/bin/python bench/personal_data.py [--tickets N] [--residents R] [--postgres URL]

Seeding is not timed. It is a benchmark, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bench.stats_export import (  # noqa: E402
    BATCH,
    NOW,
    maintain,
    postgres_database,
    seed_units,
    ticket_row,
    time_stats,
)
from bot.workers.scheduler import run_retention  # noqa: E402
from conversations.context import Office  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Attachment, Resident, Ticket, TicketEvent  # noqa: E402
from storage.personal_data import PersonalData  # noqa: E402
from tickets.erasure import ErasedBy  # noqa: E402
from tickets.personal_copy import document  # noqa: E402
from tickets.service import TicketService  # noqa: E402


async def seed(db: Database, tickets: int, residents: int) -> None:
    rng = random.Random(16)
    async with db.transaction() as session:
        unit_ids = [u.id for u in await seed_units(session)]
    for start in range(0, residents, BATCH):
        async with db.transaction() as session:
            await session.execute(insert(Resident.metadata.tables["residents"]), [
                {"telegram_user_id": 10_000_000 + i, "chat_id": 10_000_000 + i,
                 "name": f"Resident {i}", "phone": f"+86139{i:08d}", "unit_verified": False,
                 "language": "en", "reachable": True,
                 "created_at": NOW - timedelta(days=400)}
                for i in range(start, min(residents, start + BATCH))])
    first_id = 1
    for start in range(0, tickets, BATCH):
        rows = [ticket_row(i, rng, unit_ids, i % residents + 1)
                for i in range(start, min(tickets, start + BATCH))]
        async with db.transaction() as session:
            await session.execute(insert(Ticket.metadata.tables["tickets"]), rows)
            events, files = [], []
            for offset, row in enumerate(rows):
                ticket_id = first_id + offset
                events.append({"ticket_id": ticket_id, "kind": "status", "to_status": "new",
                               "actor_type": "resident", "created_at": row["created_at"]})
                if row["closed_at"]:
                    events.append({"ticket_id": ticket_id, "kind": "status",
                                   "from_status": "resolved", "to_status": "closed",
                                   "actor_type": "system", "created_at": row["closed_at"]})
                if ticket_id % 3 == 0:
                    files.append({"ticket_id": ticket_id, "kind": "photo", "file_id": "x",
                                  "file_unique_id": f"u{ticket_id}", "size": 200_000,
                                  "local_path": f"/nonexistent/{ticket_id}.jpg",
                                  "created_at": row["created_at"]})
            await session.execute(insert(TicketEvent.metadata.tables["ticket_events"]), events)
            await session.execute(insert(Attachment.metadata.tables["attachments"]), files)
        first_id += len(rows)
        print(f"\r  seeded {first_id - 1:,} tickets", end="", flush=True)
    print()


async def timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return (time.perf_counter() - started) * 1000


async def run(url: str, tickets: int, residents: int) -> None:
    db = Database(url)
    office = Office()
    try:
        await db.upgrade()
        started = time.perf_counter()
        await seed(db, tickets, residents)
        await maintain(db)
        print(f"  seeding took {time.perf_counter() - started:.0f} s (not timed)")
        month = await time_stats(db, 30)

        async def due_read() -> None:
            async with db.reading() as session:
                await PersonalData(session).inactive(NOW - timedelta(days=3 * 365))

        read_ms = await timed(due_read)
        daily_ms = await timed(lambda: run_retention(db, office, now=NOW))
        later = NOW + timedelta(days=4 * 365)
        everything = await run_retention(db, office, dry_run=True, now=later)
        all_ms = await timed(lambda: run_retention(db, office, dry_run=True, now=later))
        print(f"  retention, nothing due: the read {read_ms:.0f} ms, the whole daily run "
              f"{daily_ms:.0f} ms ({daily_ms / month:.1f}× a month's statistics)")
        print(f"  retention, everything due ({len(everything.residents):,} residents, "
              f"{everything.files:,} files): the read {all_ms:.0f} ms (dry)")

        async def copy() -> None:
            async with db.reading() as session:
                resident = await session.get(Resident, 7)
                assert resident is not None
                document(await PersonalData(session).copy_facts(resident), NOW)

        copy_ms = await timed(copy)

        async def forget() -> None:
            async with db.transaction() as session:
                resident = await session.get(Resident, 5)
                assert resident is not None
                await TicketService(session).forget_resident(resident, ErasedBy.STAFF)

        forget_ms = await timed(forget)
        async with db.reading() as session:
            count = len((await session.scalars(select(Ticket.id).where(
                Ticket.resident_id == 5))).all())
        print(f"  a copy (/mydata's JSON) of a resident with {tickets // residents} tickets: "
              f"{copy_ms:.0f} ms; erasing one with {count}: {forget_ms:.0f} ms")
        print(f"  (a month's statistics in the same run: {month:.0f} ms)")
    finally:
        await db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL",
                        help="also on PostgreSQL: an admin URL (a scratch database is made)")
    args = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory(prefix="residesk-bench-") as tmp:
            print(f"SQLite, {args.tickets:,} tickets of {args.residents:,} residents")
            asyncio.run(run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args.tickets,
                            args.residents))
        if args.postgres:
            name = f"residesk_bench_{os.getpid()}"
            base = args.postgres.rsplit("/", 1)[0]
            print(f"PostgreSQL, {args.tickets:,} tickets of {args.residents:,} residents")
            asyncio.run(postgres_database(args.postgres, name))
            try:
                asyncio.run(run(f"{base}/{name}", args.tickets, args.residents))
            finally:
                asyncio.run(postgres_database(args.postgres, name, drop=True))
    except Exception:  # a benchmark reports, it does not fail the caller
        traceback.print_exc()
    return 0


if __name__ == "__main__":
    sys.exit(main())
