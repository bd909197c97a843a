"""Fires the timers kept in the database: survey reminders, auto-close, follow-ups.

Timers live in the `timers` table, so a restart forgets none; each fires exactly once (it is
marked fired in the same transaction as what it does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from conversations.context import Office
from storage.db import Database
from storage.models import utcnow
from tickets.service import TicketService

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, db: Database, office: Office, on_fired: Callable[[], None],
                 interval: float = 30.0) -> None:
        self.db, self.office, self.on_fired, self.interval = db, office, on_fired, interval
        self._stopping = asyncio.Event()

    async def tick(self, now: datetime | None = None) -> int:
        """Fire what is due at `now` (tests pass a time in the future)."""
        async with self.db.transaction() as session:
            fired = await TicketService(session, staff_chat_id=self.office.staff_chat_id,
                                        timing=self.office.timing).fire_due_timers(
                now or utcnow())
        if fired:
            self.on_fired()
        return fired

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:  # a database outage must not stop the timers for good
                log.exception("timers failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    def stop(self) -> None:
        """Finish the tick in hand, then return from `run` (never cut a transaction)."""
        self._stopping.set()
