"""Drains the outbox into Telegram within Telegram's limits: notifications survive crashes and
outages, and go out in order per chat.

Limits (Telegram's, for bots): about 30 messages a second overall, one a second per private
chat, 20 a minute per group. A 429 is waited out (retry_after); a 403 means the resident blocked
the bot: no more tries, the resident is marked unreachable and the card shows it; 5xx, timeouts
and dropped connections are retried with backoff; after the last attempt the row is kept as
failed and the staff group is told. Delivery is at least once: a crash between sending and
marking may send a message twice, never zero times — at most IN_FLIGHT messages, the sends
between their request and their marking at the moment of the crash.

Linked reports of one incident that wait together in the staff group go out as one post
(`_join_reports`): thirty residents reporting one outage would otherwise take the group's
20 messages a minute for a minute and a half; and a card update that a later one waiting in
the same chat supersedes is not sent (the later one shows the card as it is then).
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
from conversations.notices import (
    JOINED_MAX,
    CardOptions,
    IncidentFacts,
    LinkedReport,
    Notice,
    incident_reports,
    render,
    reply_lost,
)
from storage.announcements import Announcements
from storage.db import Database
from storage.incidents import Incidents
from storage.models import OutboxMessage, Ticket, utcnow
from storage.repositories import MessageLinks, Outbox, Residents
from tickets.notices import (
    AnnouncementNotice,
    Card,
    DeliveryFailed,
    IncidentReport,
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
# Sends at once, each from its request until its row is marked: a crash (kill -9) may send
# again only those, so at most this many messages twice. Telegram answers in milliseconds:
# a few at once keep its 30 a second going, also on a busy machine (a window's thirty go
# eight at a time, never as one burst).
IN_FLIGHT = 8


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
        self._held: dict[int, float] = {}  # chat -> no message before then (Telegram's 429)
        self._sweep_at = self.SWEEP_FROM

    def ready_at(self, chat_id: int, now: float) -> float:
        """The monotonic time at which a message to this chat may go (`now` if free)."""
        held = self._held.get(chat_id, now)
        if held <= now:
            self._held.pop(chat_id, None)
        return max(held, self._paced(chat_id, now))

    def _paced(self, chat_id: int, now: float) -> float:
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
        """Telegram said wait: no message to this chat before then (and from then on the
        chat's own pace, counted from the sends it had: a group is not held a further minute,
        as it was when the hold filled its window)."""
        now = self.clock()
        until = now + seconds
        self._held[chat_id] = max(self._held.get(chat_id, until), until)
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
        for chat_id in [c for c, until in self._held.items() if until <= now]:
            del self._held[chat_id]
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
    # more rows this one message stands for (an incident's reports joined in one post, and
    # the lead's card updates a later one makes needless): settled with it, never before
    joined: tuple[int, ...] = ()

    @property
    def rows(self) -> tuple[int, ...]:
        return (self.row_id, *self.joined)


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
        self.sending = asyncio.Semaphore(IN_FLIGHT)
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
                await Outbox(session).release([row_id for d in batch if d.row_id not in sending
                                               for row_id in d.rows])
        if not ready:  # every chat in the batch must wait a little
            wait = min(self.limits.ready_at(d.chat_id, now) for d in batch) - now
            await asyncio.sleep(max(wait, 0.01))
            return 1
        tasks = []
        for due in ready:
            await self.sending.acquire()
            try:
                if due.notice is not None or due.report is not None:
                    await self.limits.take()
            except BaseException:
                self.sending.release()
                raise
            tasks.append(asyncio.create_task(self._deliver_and_free(due)))
        await asyncio.gather(*tasks)
        return len(ready)

    async def _deliver_and_free(self, due: Due) -> None:
        try:
            await self._deliver(due)
        finally:
            self.sending.release()  # marked (or retried): the next may go

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
                if (isinstance(notice, Card) and ticket.card_message_id is not None
                        and await outbox.followed_by(row, Card.KIND, ticket.id)):
                    # an edit a later one supersedes (a burst of linked reports): the group's
                    # 20 a minute are kept for what staff read
                    return Due(row.id, row.chat_id, None)
                if (isinstance(notice, IncidentReport) and ticket.incident is not None
                        and row.chat_id == self.staff_chat_id):
                    joined = await self._join_reports(outbox, row, ticket, notice)
                    if joined is not None:
                        return joined
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

    async def _join_reports(self, outbox: Outbox, row: OutboxMessage, ticket: Ticket,
                            notice: IncidentReport) -> Due | None:
        """Reports linked to one incident that wait together in the staff group — thirty
        residents reporting one outage in a minute — go out as one post under the lead's
        card, not one each (the group takes 20 messages a minute; the other tickets' cards
        would wait behind them). Taken are the chat's next rows as they come, while each is
        a report of this incident or an update of its lead's posted card; joined are as many
        reports as fit in one message. The card updates among them (an edit: where it sits
        does not change) are needless but the last, which goes right after the post and
        draws the card as it is then. None: nothing to join."""
        assert ticket.incident is not None
        lead_id = ticket.incident.lead_ticket_id
        if lead_id is None:  # (planned works nobody leads yet: no thread to join under)
            return None
        incident = await incident_facts(outbox.session, ticket)
        edits = incident is not None and incident.lead_card is not None
        steps: list[tuple[OutboxMessage, LinkedReport | None]] = []  # None: the lead's card
        for follower in await outbox.following(row, utcnow(), 2 * JOINED_MAX + 1):
            match read_payload(follower.payload):
                case Card(ticket_id=card_of) if card_of == lead_id and edits:
                    steps.append((follower, None))
                    continue
                case IncidentReport() as next_notice:
                    other = await outbox.ticket(next_notice.ticket_id)
                    if other is not None and other.incident_id == ticket.incident_id:
                        steps.append((follower, LinkedReport(other, next_notice)))
                        continue
            break
        offered = [LinkedReport(ticket, notice), *(r for _, r in steps if r is not None)]
        if len(offered) == 1:
            return None
        post = incident_reports(offered, lead_id, staff_lang=self.lang, incident=incident)
        taken = steps[:_after_report(steps, post.joined - 1)]
        cards = [i for i, (_, report) in enumerate(taken) if report is None]
        if cards and all(report is not None for _, report in steps[len(taken):]):
            del taken[cards[-1]]  # no later update of the card: this one stays, and goes next
        outbox.claim_rows([r for r, _ in taken], self.owner, utcnow() + LEASE)
        return Due(row.id, row.chat_id, post.notice, joined=tuple(r.id for r, _ in taken))

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
            outbox = Outbox(session)
            rows = [row for row_id in due.rows if (row := await outbox.settling(row_id))]
            if not rows:
                return
            for row in rows:
                row.attempts += 1
                if ids is not None:
                    row.state, row.sent_at = "sent", utcnow()
                else:
                    row.state, row.last_error = "failed", (error or "")[:500]
            if ids is not None:
                if due.notice is not None:
                    await self._remember(session, due, ids)
                return
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
            outbox = Outbox(session)
            rows = [row for row_id in due.rows if (row := await outbox.settling(row_id))]
            if not rows:
                return
            for row in rows:  # (joined rows: tried as one, so they keep one count)
                row.last_error = error[:500]
                if counts:
                    row.attempts += 1
            if rows[0].attempts >= MAX_ATTEMPTS:
                for row in rows:
                    row.state = "failed"
                log.error("outbox %s failed for good: %s", due.row_id, error)
                await self._alert(session, due, error)
                return
            backoff = delay if not counts else max(
                delay, min(MAX_BACKOFF, 5.0 * 2.0 ** (rows[0].attempts - 1)))
            for row in rows:
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


def _after_report(steps: list[tuple[OutboxMessage, LinkedReport | None]], reports: int) -> int:
    """How many steps it takes to meet `reports` reports (0 for none)."""
    if reports <= 0:
        return 0
    seen = 0
    for position, (_, report) in enumerate(steps):
        if report is not None:
            seen += 1
            if seen == reports:
                return position + 1
    return len(steps)
