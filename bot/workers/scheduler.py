"""Fires the timers kept in the database: deadline reminders and escalations, survey reminders,
auto-close, follow-ups; queues the weekly report; and once a day applies the retention
periods of personal data (tickets/erasure.py). The leader alone runs it: once per deployment.

Timers live in the `timers` table, so a restart forgets none; each fires exactly once (it is
marked fired in the same transaction as what it does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.logs import reason
from bot.statistics.report import weekly_due
from conversations.context import Office
from storage.db import Database
from storage.models import utcnow
from storage.personal_data import PersonalData
from storage.repositories import Outbox, WeeklyReports
from tickets.announcements import queue_due
from tickets.erasure import RetentionDue, RetentionReport, apply_retention, retention_due
from tickets.incidents import close_finished
from tickets.notices import StatisticsReport
from tickets.service import TicketService

log = logging.getLogger(__name__)
STATISTICS_EVERY = 24 * 3600.0  # seconds between refreshes of the query planner's statistics
RETENTION_EVERY = 24 * 3600.0  # seconds between runs of the retention periods
RETENTION_BATCH = 200  # residents (and evidence files) erased per transaction


class Scheduler:
    def __init__(self, db: Database, office: Office, on_fired: Callable[[], None],
                 interval: float = 30.0, weekly_report: tuple[int, int] | None = None) -> None:
        self.db, self.office, self.on_fired, self.interval = db, office, on_fired, interval
        self.weekly_report = weekly_report  # (weekday, hour) in office time
        self._stopping = asyncio.Event()

    async def tick(self, now: datetime | None = None) -> int:
        """Fire what is due at `now` (tests pass a time in the future)."""
        now = now or utcnow()
        async with self.db.transaction() as session:
            fired = await TicketService(session, staff_chat_id=self.office.staff_chat_id,
                                        timing=self.office.timing).fire_due_timers(now)
            fired += await self._weekly_report(session, now)
            fired += await queue_due(session, now)  # announcements whose time has come
            await close_finished(session, now)  # planned works nobody reported, once over
        if fired:
            self.on_fired()
        return fired

    async def _weekly_report(self, session: AsyncSession, now: datetime) -> int:
        """Queue the weekly report once (the row it claims is committed with the outbox row)."""
        chat = self.office.staff_chat_id
        if chat is None or self.weekly_report is None:
            return 0
        day = weekly_due(now, *self.weekly_report, self.office.timezone)
        if day is None or not await WeeklyReports(session).claim(day):
            return 0
        Outbox(session).enqueue(chat, StatisticsReport(day - timedelta(days=7),
                                                       day - timedelta(days=1), weekly=True))
        return 1

    async def run(self) -> None:
        self._stopping.clear()  # a replica that leads again starts it again
        analyzed = time.monotonic()  # at start-up, by ResidentDesk.prepare
        retained: float | None = None  # at start-up, then daily
        while not self._stopping.is_set():
            try:
                await self.tick()
                if time.monotonic() - analyzed > STATISTICS_EVERY:
                    await self.db.refresh_statistics()
                    analyzed = time.monotonic()
                if retained is None or time.monotonic() - retained > RETENTION_EVERY:
                    await run_retention(self.db, self.office)
                    retained = time.monotonic()
            except Exception as error:  # a database outage must not stop the timers for good
                log.error("timers failed; trying again later: %s", reason(error),
                          exc_info=log.isEnabledFor(logging.DEBUG))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    def stop(self) -> None:
        """Finish the tick in hand, then return from `run` (never cut a transaction)."""
        self._stopping.set()


async def run_retention(db: Database, office: Office, *, dry_run: bool = False,
                        now: datetime | None = None) -> RetentionReport:
    """The retention periods: who and what is due, found by one read, then removed batch by
    batch, each batch its own short transaction."""
    now = now or utcnow()
    async with db.reading() as session:
        due = await retention_due(PersonalData(session), office.privacy.retention, now)
    total = RetentionReport()
    if dry_run:
        total.residents, total.files = list(due.residents), len(due.evidence)
        total.tickets = set(due.tickets)
        return total
    for first in range(0, max(len(due.residents), len(due.evidence)), RETENTION_BATCH):
        batch = RetentionDue(due.residents[first:first + RETENTION_BATCH],
                             due.evidence[first:first + RETENTION_BATCH])
        async with db.transaction() as session:
            service = TicketService(session, staff_chat_id=office.staff_chat_id,
                                    timing=office.timing)
            done = await apply_retention(service, office.privacy.retention, now, batch)
        total.residents += done.residents
        total.files += done.files
        total.tickets |= done.tickets
    if total.residents or total.files:
        log.info("retention: %d resident(s) anonymised, %d evidence file(s) deleted",
                 len(total.residents), total.files)
    return total
