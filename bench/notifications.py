"""Notification delivery: N outbox rows to N distinct residents, through an emulator that
enforces Telegram's limits (30 messages/s overall, 1/s per private chat, 20/min per group).

The real notifier (`bot/workers/notifier.py`) drains a real SQLite outbox over real HTTP with
aiogram or python-telegram-bot (`--transport`).
Reported: the time against the floor N/30 s (the best any bot can do under the limits), the
429s the emulator had to answer, and lost or doubled messages. Target: ≤ 1.05 × floor, zero
429s, zero lost.

    .venv/bin/python bench/notifications.py [--count 3000] [--transport aiogram|ptb]

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

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.emulator import BotAPIEmulator
from bot.telegram.transport import TRANSPORTS, make_transport
from bot.workers.notifier import Notifier
from conversations.events import Event
from storage.db import Database
from storage.models import OutboxMessage, Resident, Ticket, utcnow
from tickets.notices import Acknowledged

FIRST_USER = 10_000


async def seed_residents(session: AsyncSession, count: int, first_user: int) -> None:
    """N registered residents, their chats numbered from `first_user` (bulk insert)."""
    await session.execute(insert(Resident), [
        {"telegram_user_id": first_user + i, "chat_id": first_user + i, "name": f"R{i}",
         "phone": f"+86139{i:08d}", "unit_text": f"{i // 100}-{i % 100}", "language": "en",
         "unit_verified": False, "reachable": True, "created_at": utcnow()}
        for i in range(count)])


async def drained(db: Database, notifier: Notifier) -> float:
    """Run the notifier until the outbox holds nothing pending; the seconds it took."""
    started = time.perf_counter()
    worker = asyncio.create_task(notifier.run())
    while True:
        async with db.transaction() as s:
            pending = await s.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.state == "pending"))
        if not pending:
            break
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - started
    notifier.stop()
    await worker
    return elapsed


async def seed(db: Database, count: int, first_user: int = FIRST_USER) -> list[int]:
    """N residents, one ticket each, one notification each (bulk inserts, untimed); returns
    their chats. The replica tests seed their outbox with it too."""
    now = utcnow()
    async with db.transaction() as session:
        await seed_residents(session, count, first_user)
        ids = (await session.scalars(select(Resident.id).order_by(Resident.id))).all()
        await session.execute(insert(Ticket), [
            {"number": f"2611-{i:05d}", "submission_key": f"bench-{i}", "resident_id": rid,
             "unit_text": "1-1", "category_code": "noise", "description": "Noise at night",
             "channel": "telegram", "status": "acknowledged", "priority": "normal",
             "reopen_count": 0, "created_at": now, "ack_due_at": now, "resolve_due_at": now,
             "version": 1}
            for i, rid in enumerate(ids)])
        tickets = (await session.scalars(select(Ticket.id).order_by(Ticket.id))).all()
        await session.execute(insert(OutboxMessage), [
            {"chat_id": first_user + i, "payload": Acknowledged(tid).to_payload(),
             "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for i, tid in enumerate(tickets)])
    return [first_user + i for i in range(count)]


async def no_updates(_event: Event) -> None:
    """The notifier only sends; nothing is polled here."""


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
            elapsed = await drained(db, Notifier(transport, db, "en",
                                                 ZoneInfo("Asia/Shanghai")))
            await transport.close()
            async with db.transaction() as s:
                states = {str(state): int(n) for state, n in (await s.execute(
                    select(OutboxMessage.state, func.count())
                    .group_by(OutboxMessage.state))).all()}
            per_chat = Counter(m.chat_id for i in range(count)
                               for m in emulator.messages(FIRST_USER + i))
            limited = emulator.rate_limited
        await db.dispose()
    floor = count / 30
    delivered = sum(1 for i in range(count) if per_chat[FIRST_USER + i] >= 1)
    doubled = sum(1 for c in per_chat.values() if c > 1)
    ratio = elapsed / floor
    print(f"notifications ({transport_name}): {count} to {count} residents; "
          f"python {sys.version.split()[0]}")
    print(f"  time      {elapsed:8.1f} s   floor N/30 = {floor:.1f} s   ratio {ratio:.3f}×")
    print(f"  429s      {limited}")
    print(f"  delivered {delivered}   lost {count - delivered}   doubled {doubled}   "
          f"outbox {states}")
    met = ratio <= 1.05 and limited == 0 and delivered == count
    print(f"  target ≤ 1.05× floor, zero 429s, zero lost: {'met' if met else 'NOT met'}")


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
