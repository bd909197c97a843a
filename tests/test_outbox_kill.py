"""Issue 17's kill -9: an announcement half-way out when the bot's process is killed reaches
every resident after a restart — at least once; a copy Telegram took just before the kill,
whose marking never committed, may arrive twice, and only such a copy. The real `residesk
run`, both frameworks, both databases (the benchmark's own run, `bench/announcement.py
--kill-at`, with a few residents and no clock)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bench.announcement import run_with_kill
from bot.emulator import BotAPIEmulator
from bot.workers.notifier import IN_FLIGHT, LEASE
from storage.db import Database
from storage.models import OutboxMessage

RESIDENTS = 60


async def test_a_kill_in_the_middle_loses_no_copy_and_doubles_only_those_in_flight(
        database_url: str, transport: str, tmp_path: Path) -> None:
    db = Database(database_url)
    try:
        async with BotAPIEmulator(enforce_limits=True) as emulator:
            run = await run_with_kill(emulator, db, database_url, tmp_path, RESIDENTS,
                                      transport, 0.5)
        async with db.transaction() as session:
            states = dict((await session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state))).all())
    finally:
        await db.dispose()
    assert run.deliveries == RESIDENTS and states == {"sent": RESIDENTS}
    assert RESIDENTS / 2 <= run.out_at_kill < RESIDENTS  # killed half-way indeed
    assert run.lost == 0, "every resident has the announcement"
    assert run.doubled <= min(run.claimed, IN_FLIGHT), run
    assert run.rate_limited == 0
    if database_url.startswith("sqlite"):  # the only process: the dead one's claims freed
        assert run.gap < LEASE.total_seconds()  # at start-up, not waited out
