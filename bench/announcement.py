"""An announcement to everyone: N residents, one announcement to the whole property, queued by
the scheduler's step (`tickets.announcements.queue_due`, twice at once: as two replicas would)
and sent by the real notifier through an emulator that enforces Telegram's limits.

Reported: the time to queue it, the time from queued to the last delivered against the floor
N/30 s, the 429s the emulator had to answer, and lost or doubled copies. Target: ≤ 1.05 ×
floor, zero 429s, each resident exactly once.

    .venv/bin/python bench/announcement.py [--count 3000] [--transport aiogram|ptb]

It is a benchmark, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from bench.notifications import drained, no_updates, seed_residents  # noqa: E402
from bot.emulator import BotAPIEmulator  # noqa: E402
from bot.telegram.transport import TRANSPORTS, make_transport  # noqa: E402
from bot.workers.notifier import Notifier  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Announcement, AnnouncementDelivery, utcnow  # noqa: E402
from tickets.announcements import EVERYONE, queue_due  # noqa: E402
from tickets.scope import Scope, ScopeKind  # noqa: E402

FIRST_USER = 20_000
HEADER = "From the property management office"


async def seed(db: Database, count: int) -> None:
    """N residents and one announcement to all of them, due now (bulk inserts, untimed)."""
    now = utcnow()
    async with db.transaction() as session:
        await seed_residents(session, count, FIRST_USER)
        session.add(Announcement(scope=Scope(ScopeKind.PROPERTY).to_json(),
                                 texts={EVERYONE: "The lifts are serviced on Friday."},
                                 send_at=now, created_at=now))


async def claim(db: Database) -> int:
    async with db.transaction() as session:
        return await queue_due(session, utcnow())


async def measure(count: int, transport_name: str) -> None:
    with tempfile.TemporaryDirectory(prefix="residesk-bench-") as workdir:
        db = Database(f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}")
        await db.upgrade()
        await seed(db, count)
        async with BotAPIEmulator(enforce_limits=True) as emulator:
            for i in range(count):
                emulator.user(FIRST_USER + i, f"R{i}")
            transport = make_transport(transport_name, emulator.token, emulator.base_url,
                                       no_updates, None)
            await transport.start()
            started = time.perf_counter()
            queued = await asyncio.gather(claim(db), claim(db))  # two schedulers at once
            queuing = time.perf_counter() - started
            elapsed = await drained(db, Notifier(transport, db, "en",
                                                 ZoneInfo("Asia/Shanghai")))
            await transport.close()
            async with db.transaction() as s:
                deliveries = int(await s.scalar(
                    select(func.count()).select_from(AnnouncementDelivery)) or 0)
            per_chat = Counter(m.chat_id for i in range(count)
                               for m in emulator.messages(FIRST_USER + i)
                               if HEADER in (m.text or ""))
            limited = emulator.rate_limited
        await db.dispose()
    floor = count / 30
    delivered = sum(1 for i in range(count) if per_chat[FIRST_USER + i] >= 1)
    doubled = sum(1 for c in per_chat.values() if c > 1)
    ratio = elapsed / floor
    print(f"announcement ({transport_name}): 1 announcement to {count} residents; "
          f"python {sys.version.split()[0]}")
    print(f"  queued    {sorted(queued)} by two schedulers at once, in {queuing:.2f} s; "
          f"{deliveries} deliveries")
    print(f"  time      {elapsed:8.1f} s   floor N/30 = {floor:.1f} s   ratio {ratio:.3f}×")
    print(f"  429s      {limited}")
    print(f"  delivered {delivered}   lost {count - delivered}   doubled {doubled}")
    met = (ratio <= 1.05 and limited == 0 and delivered == count and doubled == 0
           and sorted(queued) == [0, count] and deliveries == count)
    print(f"  target ≤ 1.05× floor, zero 429s, each exactly once: {'met' if met else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--transport", choices=TRANSPORTS, default="aiogram")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(measure(args.count, args.transport))
    return 0


if __name__ == "__main__":
    sys.exit(main())
