"""Drains the outbox into Telegram within Telegram's limits: notifications survive crashes and
outages, and go out in order per chat.

Limits (Telegram's, for bots): about 30 messages a second overall, one a second per private
chat, 20 a minute per group. A 429 is waited out (retry_after); a 403 means the resident blocked
the bot: no more tries, the resident is marked unreachable and the card shows it; 5xx, timeouts
and dropped connections are retried with backoff; after the last attempt the row is kept as
failed and the staff group is told. Delivery is at least once: a crash between sending and
marking may send a message twice, never zero times.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.logs import chat_ref, reason
from bot.metrics import Metrics, chat_kind
from bot.personal_copy import copy_reply
from bot.statistics.report import Reporter
from bot.telegram.transport import (
    BadRequest,
    Forbidden,
    RetryAfter,
    TelegramFailure,
    Transport,
    send_reply,
)
from conversations import announcements
from conversations.notices import CardOptions, IncidentFacts, Notice, render, reply_lost
from storage.announcements import Announcements
from storage.db import Database
from storage.incidents import Incidents
from storage.models import OutboxMessage, Ticket, utcnow
from storage.repositories import MessageLinks, Outbox, Residents
from tickets.notices import (
    AnnouncementNotice,
    DeliveryFailed,
    PersonalDataCopy,
    ReplyLost,
    StatisticsReport,
    TicketNotice,
    read_payload,
)
from tickets.offers import leads_incident
from tickets.service import TicketService

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10  # with the backoff below: about 25 minutes of trying
MAX_BACKOFF = 300.0
# How long a claimed row is ours: a notifier that dies mid-send frees its rows after this.
# Far longer than any send (an album of charts takes seconds).
LEASE = timedelta(seconds=30)
BATCH = 100


class RateLimits:
    """Client-side pacing, so Telegram never has to answer 429.

    A send is stamped when its answer arrives, which is after Telegram counted it: a window
    measured from those stamps always holds at least as many sends as Telegram's own, so the
    budget can be Telegram's exact limits and still never be exceeded, whatever the network's
    jitter. Sends in flight count too."""

    GLOBAL_PER_SECOND = 30
    PRIVATE_INTERVAL = 1.0  # seconds between two messages to one private chat
    GROUP_PER_MINUTE = 20

    FORGET_AFTER = 60.0  # seconds: a chat's stamps older than this no longer limit it
    SWEEP_FROM = 1_000  # chats kept before the first sweep for forgotten ones

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._done: collections.deque[float] = collections.deque()
        self._in_flight = 0
        self._chats: dict[int, collections.deque[float]] = {}
        self._sweep_at = self.SWEEP_FROM

    def ready_at(self, chat_id: int, now: float) -> float:
        """The monotonic time at which a message to this chat may go (`now` if free)."""
        sent = self._chats.get(chat_id)
        if not sent:
            return now
        if chat_id > 0:
            return max(now, sent[-1] + self.PRIVATE_INTERVAL)
        window = [t for t in sent if t > now - 60.0]
        if len(window) < self.GROUP_PER_MINUTE:
            return now
        return window[-self.GROUP_PER_MINUTE] + 60.0

    async def take(self) -> None:
        """Wait for a slot in the overall budget."""
        while True:
            now = time.monotonic()
            while self._done and self._done[0] <= now - 1.0:
                self._done.popleft()
            if len(self._done) + self._in_flight < self.GLOBAL_PER_SECOND:
                break
            wake = self._done[0] + 1.0 - now if self._done else 0.005
            await asyncio.sleep(max(wake, 0.001))
        self._in_flight += 1

    def assume_spent(self) -> None:
        """Another sender may have used the whole budget a moment ago (a leader that just
        died): send nothing for one window. A private chat's second then has passed too; a
        group's minute may not have (Telegram's 429 is then waited out)."""
        now = time.monotonic()
        self._done.extend([now] * (self.GLOBAL_PER_SECOND - len(self._done)))

    def finish(self, chat_id: int) -> None:
        """The send is answered: stamp it, for the overall budget and the chat's."""
        self._in_flight -= 1
        now = self.clock()
        self._done.append(now)
        self._chats.setdefault(
            chat_id, collections.deque(maxlen=self.GROUP_PER_MINUTE)).append(now)
        self._forget(now)

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram said wait: no message to this chat before then."""
        sent = self._chats.setdefault(chat_id, collections.deque(maxlen=self.GROUP_PER_MINUTE))
        now = self.clock()
        until = now + seconds
        for _ in range(sent.maxlen or 1):
            sent.append(until)
        self._forget(now)

    def _forget(self, now: float) -> None:
        """Keep memory flat (issue 18, P4): a chat whose every stamp is a minute old limits
        nothing any more, the same as a chat never sent to. Swept when the chats kept have
        doubled since the last sweep, so a sweep's cost is shared by as many sends."""
        if len(self._chats) < self._sweep_at:
            return
        horizon = now - self.FORGET_AFTER
        for chat_id in [c for c, sent in self._chats.items() if max(sent) <= horizon]:
            del self._chats[chat_id]
        self._sweep_at = max(self.SWEEP_FROM, 2 * len(self._chats))

    @property
    def chats_kept(self) -> int:
        """The chats whose recent sends are kept."""
        return len(self._chats)


@dataclass
class Due:
    row_id: int
    chat_id: int
    notice: Notice | None
    report: StatisticsReport | None = None  # the office's figures, drawn when sent
    unreadable: str | None = None  # a row that can never be sent: why


async def incident_facts(session: AsyncSession, ticket: Ticket) -> IncidentFacts | None:
    """The incident a ticket leads (its scope and counts, for its card) or is linked to (the
    lead's card, which its posts go under); None for most tickets."""
    if ticket.incident is not None and ticket.incident.lead_ticket_id is not None:
        lead = await session.get(Ticket, ticket.incident.lead_ticket_id)
        return IncidentFacts(lead_card=lead.card_message_id if lead else None,
                             lead_number=lead.number or "" if lead else "")
    if not leads_incident(ticket):
        return None
    incidents = Incidents(session)
    incident = await incidents.led_by(ticket.id)
    if incident is None:
        return None
    reports, residents = await incidents.counts(incident.id, ticket)
    scope = next((e.note or "" for e in ticket.events if e.kind == "incident"), "")
    works = ((incident.starts_at, incident.ends_at)
             if incident.starts_at is not None and incident.ends_at is not None else None)
    return IncidentFacts(scope=scope, reports=reports, residents=residents, works=works)


class Notifier:
    def __init__(self, transport: Transport, db: Database, lang: str, timezone: ZoneInfo,
                 staff_chat_id: int | None = None, interval: float = 1.0,
                 chart_font: Path | None = None, metrics: Metrics | None = None,
                 console_url: str = "", card_options: CardOptions | None = None) -> None:
        self.transport, self.db, self.lang, self.timezone = transport, db, lang, timezone
        self.console_url = console_url  # the cards link to the ticket's page there
        self.card_options = card_options or CardOptions()
        self.reporter = Reporter(db, lang, timezone, chart_font)
        self.staff_chat_id = staff_chat_id
        self.interval = interval
        self.wake = asyncio.Event()
        self.limits = RateLimits()
        self.metrics = metrics or Metrics()
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{id(self) % 100_000}"
        self._stopping = False

    def stop(self) -> None:
        """Finish the sends in hand, then return from `run` (never cut a transaction)."""
        self._stopping = True
        self.wake.set()

    async def run(self) -> None:
        self._stopping = False  # a replica that leads again starts it again
        while not self._stopping:
            try:
                busy = await self.drain()
            except Exception as error:  # keep draining whatever one bad row or outage does
                log.error("outbox drain failed: %s", reason(error),
                          exc_info=log.isEnabledFor(logging.DEBUG))
                busy = 0
            if busy:
                continue
            if self._stopping:
                break
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.interval)

    async def drain(self) -> int:
        """Send what is due and allowed now; returns how many rows were handled."""
        batch = await self._due()
        if not batch:
            return 0
        now = time.monotonic()
        ready = [d for d in batch if self.limits.ready_at(d.chat_id, now) <= now]
        if len(ready) < len(batch):  # claimed, but their chats must wait: free them again
            sending = {d.row_id for d in ready}
            async with self.db.transaction() as session:
                await Outbox(session).release([d.row_id for d in batch
                                               if d.row_id not in sending])
        if not ready:  # every chat in the batch must wait a little
            wait = min(self.limits.ready_at(d.chat_id, now) for d in batch) - now
            await asyncio.sleep(max(wait, 0.01))
            return 1
        tasks = []
        for due in ready:
            if due.notice is not None or due.report is not None:
                await self.limits.take()
            tasks.append(asyncio.create_task(self._deliver(due)))
        await asyncio.gather(*tasks)
        return len(ready)

    async def _due(self) -> list[Due]:
        async with self.db.transaction() as session:
            outbox = Outbox(session)
            found = []
            for row in await outbox.claim(utcnow(), BATCH, self.owner, LEASE):
                found.append(await self._read(outbox, row))
            return found

    async def _read(self, outbox: Outbox, row: OutboxMessage) -> Due:
        """What to send for the row, drawn now (a card shows the ticket as it is now)."""
        match read_payload(row.payload):
            case StatisticsReport() as report:
                return Due(row.id, row.chat_id, None, report=report)
            case ReplyLost() as lost:
                return Due(row.id, row.chat_id, reply_lost(lost))
            case AnnouncementNotice() as notice:
                found = await Announcements(outbox.session).get(notice.announcement_id)
                return Due(row.id, row.chat_id, announcements.for_resident(
                    found, notice, self.lang) if found is not None else None)
            case PersonalDataCopy() as copy:
                reply = await copy_reply(outbox.session, copy)
                return Due(row.id, row.chat_id, Notice(reply, None) if reply else None)
            case TicketNotice() as notice:
                ticket = await outbox.ticket(notice.ticket_id)
                if ticket is None:
                    return Due(row.id, row.chat_id, None)  # nothing to say any more
                lang = ticket.resident.language if ticket.resident else self.lang
                return Due(row.id, row.chat_id, render(
                    ticket, notice, resident_lang=lang, staff_lang=self.lang,
                    timezone=self.timezone, console_url=self.console_url,
                    options=self.card_options,
                    # an alert a manager asked for in their own chat: not under the card
                    in_thread=row.chat_id == self.staff_chat_id,
                    incident=await incident_facts(outbox.session, ticket)))
            case None if row.payload.get("kind") == StatisticsReport.KIND:
                return Due(row.id, row.chat_id, None,
                           unreadable="report failed: no such period")
        return Due(row.id, row.chat_id, None)  # a kind this code does not know

    async def _deliver(self, due: Due) -> None:
        if due.unreadable is not None:
            log.error("outbox row %s cannot be sent: %s", due.row_id, due.unreadable)
            await self._settle(due, None, due.unreadable, failed=True)
            return
        if due.notice is None and due.report is None:
            await self._settle(due, None, "nothing to send")
            return
        try:
            try:
                if due.report is not None:
                    ids = await self._report(due)
                else:
                    assert due.notice is not None
                    ids = await send_reply(self.transport, due.chat_id, due.notice.reply)
            finally:
                self.limits.finish(due.chat_id)
        except Forbidden as error:
            if due.chat_id < 0:  # the bot was removed from the staff group: keep trying
                log.error("the bot cannot post in chat %s: %s", chat_ref(due.chat_id),
                          error.message)
                await self._retry(due, error.message, MAX_BACKOFF, counts=False)
            else:
                await self._unreachable(due, error.message)
        except RetryAfter as error:
            self.metrics.rate_limited.labels(chat_kind(due.chat_id)).inc()
            self.limits.hold(due.chat_id, error.retry_after)
            await self._retry(due, error.message, error.retry_after, counts=False)
        except BadRequest as error:  # will not get better by trying again
            await self._settle(due, None, error.message, failed=True)
        except TelegramFailure as error:  # unavailable, or a token refused for now
            await self._retry(due, error.message, 0.0)
        else:
            self.metrics.sends.labels(chat_kind(due.chat_id)).inc(len(ids))
            await self._settle(due, ids, None)

    async def _report(self, due: Due) -> list[int]:
        """Draw and post the office's figures; a report that cannot be drawn is dropped (and
        logged), never retried for ever in front of the staff group's other messages."""
        assert due.report is not None
        try:
            return await self.reporter.send(self.transport, due.chat_id, due.report)
        except TelegramFailure:
            raise
        except Exception as error:
            log.error("the report could not be made: %s", reason(error),
                      exc_info=log.isEnabledFor(logging.DEBUG))
            raise BadRequest(f"report failed: {type(error).__name__}") from error

    async def _settle(self, due: Due, ids: list[int] | None, error: str | None,
                      *, failed: bool = False) -> None:
        async with self.db.transaction() as session:
            row = await Outbox(session).settling(due.row_id)
            if row is None:
                return
            row.attempts += 1
            if ids is not None:
                row.state, row.sent_at = "sent", utcnow()
                if due.notice is not None:
                    await self._remember(session, due, ids)
                return
            row.state, row.last_error = "failed", (error or "")[:500]
            if failed:
                log.error("outbox %s failed: %s", due.row_id, error)
                await self._alert(session, due, error or "")

    async def _remember(self, session: AsyncSession, due: Due, ids: list[int]) -> None:
        """Link what was sent to its ticket: replies to it find their way back."""
        assert due.notice is not None
        notice = due.notice
        if notice.ticket_id is None:
            return
        links = MessageLinks(session)
        for message_id in ids:
            await links.link(due.chat_id, message_id, notice.ticket_id, notice.survey_id,
                             notice.kind)
        if notice.is_card:
            # a plain UPDATE: where the card sits is not a change of the ticket, so its
            # version (which the card's buttons carry) stays
            await session.execute(update(Ticket).where(Ticket.id == notice.ticket_id)
                                  .values(card_message_id=ids[0]))

    async def _retry(self, due: Due, error: str, delay: float, *, counts: bool = True) -> None:
        async with self.db.transaction() as session:
            row = await Outbox(session).settling(due.row_id)
            if row is None:
                return
            row.last_error = error[:500]
            if counts:
                row.attempts += 1
            if row.attempts >= MAX_ATTEMPTS:
                row.state = "failed"
                log.error("outbox %s failed for good: %s", due.row_id, error)
                await self._alert(session, due, error)
                return
            backoff = delay if not counts else max(
                delay, min(MAX_BACKOFF, 5.0 * 2.0 ** (row.attempts - 1)))
            row.next_attempt_at = utcnow() + timedelta(seconds=backoff)
            log.warning("outbox %s: %s; again in %.0fs", due.row_id, error, backoff)

    async def _unreachable(self, due: Due, error: str) -> None:
        async with self.db.transaction() as session:
            outbox = Outbox(session)
            row = await outbox.settling(due.row_id)
            if row is not None:
                row.attempts += 1
                row.state, row.last_error = "unreachable", error[:500]
            await outbox.give_up_on_chat(due.chat_id, error[:500])
            resident = await Residents(session).by_chat(due.chat_id)
            if resident is not None:  # the cards of their live tickets show it
                await TicketService(session, staff_chat_id=self.staff_chat_id).set_reachable(
                    resident, False)
        log.info("chat %s blocked the bot; its notifications stop", chat_ref(due.chat_id))

    async def _alert(self, session: AsyncSession, due: Due, error: str) -> None:
        """Tell the staff group that a resident's notification could not go out."""
        if (self.staff_chat_id is None or due.chat_id == self.staff_chat_id
                or due.notice is None or due.notice.ticket_id is None):
            return
        Outbox(session).enqueue(self.staff_chat_id,
                                DeliveryFailed(due.notice.ticket_id, error=error[:200]))
