"""Wiring: settings -> database, engine, the chosen framework's transport, workers. The one
factory; the polling loop, delivery and retries are the same for both frameworks."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cache, partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from bot import logs
from bot.metrics import Metrics
from bot.settings import ConsoleSettings, DatabaseSettings, OfficeSettings, TelegramSettings
from bot.telegram.flood import FloodGuard, Verdict
from bot.telegram.media import MediaStore
from bot.telegram.transport import Forbidden, TelegramFailure, deliver, make_transport, retrying
from bot.workers.leadership import TRY_EVERY, AdvisoryLock, Leadership, OnlyProcess
from bot.workers.notifier import Notifier
from bot.workers.scheduler import Scheduler
from conversations.context import Office
from conversations.engine import COMMANDS, Engine
from conversations.events import CallbackAnswer, Event, Outcome, Reply
from conversations.notices import CardOptions
from locales import SUPPORTED, TELEGRAM_CODES, gettext_for, negotiate
from storage.db import Database
from storage.models import utcnow
from storage.repositories import Outbox, Residents
from tickets.notices import ReplyLost
from tickets.service import TicketService
from tickets.sla import WEEKDAYS

log = logging.getLogger("residesk")
DB_ATTEMPTS = 3
HANDLED_KEPT = 10_000
WORKERS_GRACE = 5.0  # seconds the notifier and the timers get to finish at shutdown
POLL_BACKOFF = (1.0, 30.0)  # seconds: first and longest wait after a failed getUpdates
# a send marked this recently, when this process begins to lead: Telegram's window may still
# hold it (Telegram counts a second overall and per private chat)
SENT_LATELY = timedelta(seconds=2)


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates (`residesk serve` with WEBHOOK_URL), instead of polling."""

    url: str
    secret: str = field(repr=False)
    max_connections: int = 40


@dataclass
class _ChatTurn:
    """One chat's updates from the webhook, one at a time (they may arrive side by side)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass(frozen=True)
class Settings:
    telegram: TelegramSettings
    database: DatabaseSettings
    office: OfficeSettings
    console: ConsoleSettings = field(default_factory=ConsoleSettings)


def office_of(office: OfficeSettings, console_url: str = "") -> Office:
    """What the dialogues and the workers know of the office, from its settings."""
    return Office(
        default_language=office.default_language,
        emergency_phone=office.emergency_phone,
        staff_chat_id=office.staff_chat_id,
        timezone=ZoneInfo(office.office_timezone),
        timing=office.timing(),
        console_url=console_url,
        phone_region=office.phone_region,
        questions=office.questions(),
        privacy=office.privacy(),
        hide_dispute_complainant=office.dispute_hide_complainant,
    )


@cache  # once a process: the first start-up's objects
def freeze_start_up() -> None:
    """Move what start-up made (modules, the framework, SQLAlchemy, matplotlib's fonts) out
    of the garbage collector's sight: it lives as long as the process, and each full
    collection walked all of it (~0.1 s of the 0.5 s matplotlib takes for /stats's charts)."""
    gc.collect()
    gc.freeze()


class ResidentDesk:
    def __init__(self, settings: Settings, *, database: Database | None = None,
                 on_handled: Callable[[int, str], None] | None = None) -> None:
        self.settings = settings
        self.on_handled = on_handled  # who watches (the demo, tests, benchmarks)
        office = settings.office
        self.db = database or Database(settings.database.database_url,
                                        settings.database.database_pool_size)
        self.engine = Engine(office_of(office, settings.console.console_url))
        logs.redact(settings.telegram.bot_token.get_secret_value())
        logs.use_key(settings.telegram.bot_token.get_secret_value())  # unless LOG_KEY is set
        telegram = settings.telegram
        self.transport = make_transport(telegram.transport, telegram.bot_token.get_secret_value(),
                                        telegram.telegram_api_url, self.handle,
                                        office.staff_chat_id)
        self.media = MediaStore(self.transport, office.media_dir,
                                keep_originals=office.keep_original_files)
        self.flood = FloodGuard(telegram.flood_limit)
        self._in_flight: dict[asyncio.Task[None], int] = {}  # task -> update id
        # The notifier paces, waits and retries by itself (per row, in the database), so it
        # calls the transport directly, never through `retrying`.
        self.metrics = Metrics()
        self.notifier = Notifier(self.transport, self.db, office.default_language,
                                 self.engine.office.timezone, office.staff_chat_id,
                                 chart_font=office.chart_font, metrics=self.metrics,
                                 console_url=settings.console.console_url,
                                 card_options=CardOptions(
                                     self.engine.office.questions,
                                     office.dispute_hide_complainant))
        weekly = (None if office.weekly_report_day == "off"
                  else (WEEKDAYS.index(office.weekly_report_day), office.weekly_report_hour))
        self.scheduler = Scheduler(self.db, self.engine.office, self.notifier.wake.set,
                                   weekly_report=weekly)
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        # the updates this process answered lately: a redelivery of one is not answered twice
        self._answered: dict[int, None] = {}  # insertion-ordered, bounded
        self._chat_turns: dict[int, _ChatTurn] = {}  # only chats with an update in hand
        self.leadership: Leadership = (
            OnlyProcess(Path(self.db.engine.url.database or "residesk.db"))
            if self.db.is_sqlite else AdvisoryLock(self.db.engine))

    # --- the unit of work of one update --------------------------------------------------
    async def handle(self, event: Event) -> None:
        """Process one update and show the result; a shutdown waits for both to finish."""
        task = asyncio.ensure_future(self._handle(event))
        self._in_flight[task] = event.update_id
        task.add_done_callback(self._in_flight.pop)
        await asyncio.shield(task)

    async def _handle(self, event: Event) -> None:
        verdict = (Verdict.READ if event.in_group
                   else self.flood.check(event.sender.chat_id, event.album_id))
        if verdict != Verdict.READ:
            await self._slow_down(event, verdict)
            return
        outcome = await self.process(event)
        if outcome.result == "duplicate" and event.update_id in self._answered:
            outcome.replies = []  # answered by this very process already: said once is enough
        try:
            await deliver(self.transport, event, outcome.replies, outcome.callback_answer,
                          rate_limited=self.metrics.rate_limited.labels("reply").inc)
            self.metrics.sends.labels("reply").inc(len(outcome.replies))
        except Forbidden:
            await self.mark_unreachable(event.sender.user_id)  # blocked us; their data stays
        except TelegramFailure as error:
            log.error("could not deliver to chat %s: %s", logs.chat_ref(event.sender.chat_id),
                      error.message)
            if not event.in_group:
                await self._tell_reply_lost(event)
        finally:
            await self._mark_handled(event.update_id, outcome.result)
        if outcome.notify:
            self.notifier.wake.set()

    async def process(self, event: Event) -> Outcome:
        """Fetch the event's file if any, then run the engine in one transaction."""
        started = time.perf_counter()
        outcome = Outcome(step="?", result="error")
        try:
            if event.media is not None and not event.in_group:
                # network I/O before the transaction, not inside; staff files are only relayed
                event = replace(event, media=await self.media.fetch(event.media))
            outcome = await self._transaction(event)
        except Exception as error:
            # a safe reason only: database errors quote values, download errors quote URLs
            log.error("update %s failed: %s", event.update_id, logs.reason(error),
                      exc_info=log.isEnabledFor(logging.DEBUG))
            _ = gettext_for(negotiate(event.sender.language_code,
                                      self.settings.office.default_language))
            text = _("Sorry, something went wrong on our side. Please try again in a moment.")
            outcome.replies = [Reply(text)]
            if event.callback_id:
                outcome.callback_answer = CallbackAnswer(text)
        took = time.perf_counter() - started
        self.metrics.handling.observe(took)
        log.info("update=%s chat=%s step=%s outcome=%s duration_ms=%.1f", event.update_id,
                 logs.chat_ref(event.sender.chat_id), outcome.step, outcome.result,
                 took * 1000)
        return outcome

    async def _transaction(self, event: Event) -> Outcome:
        for attempt in range(1, DB_ATTEMPTS + 1):
            try:
                async with self.db.transaction() as session:
                    return await self.engine.handle(session, event)
            except StaleDataError:  # someone changed the ticket at the same moment: look again
                if attempt == DB_ATTEMPTS:
                    raise
                continue
            except DBAPIError as error:  # locked database, serialization failure, lost link
                if attempt == DB_ATTEMPTS or not (
                    error.connection_invalidated or _transient(error)
                ):
                    raise
                # its reason only: the error's text quotes the SQL and its parameters
                log.warning("update %s: database busy (%s), retrying", event.update_id,
                            logs.reason(error))
                await asyncio.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    async def _slow_down(self, event: Event, verdict: Verdict) -> None:
        """A chat over the flood limit: told once, then not read until it calms down."""
        replies, answer = [], None
        if verdict == Verdict.WARN:
            log.warning("chat %s is over the flood limit (%s a minute); not read until it "
                        "calms down", logs.chat_ref(event.sender.chat_id),
                        self.settings.telegram.flood_limit)
            _ = gettext_for(await self._language_of(event))
            text = _("You are sending messages faster than I can read them. Please slow "
                     "down: I will read your messages again in a minute.")
            replies = [Reply(text)]
            answer = CallbackAnswer(text) if event.callback_id else None
        try:
            await deliver(self.transport, event, replies, answer)
        except TelegramFailure as error:
            log.info("chat %s: the flood notice was not delivered: %s",
                     logs.chat_ref(event.sender.chat_id), error.message)
        await self._mark_handled(event.update_id, "flood")

    async def _language_of(self, event: Event) -> str:
        """The resident's language (as chosen in the bot), else their Telegram's."""
        with contextlib.suppress(Exception):  # a database outage: Telegram's language then
            async with self.db.reading() as session:
                resident = await Residents(session).by_user(event.sender.user_id)
                if resident is not None and resident.language:
                    return resident.language
        return negotiate(event.sender.language_code, self.settings.office.default_language)

    async def _tell_reply_lost(self, event: Event) -> None:
        """The resident's answer is lost (Telegram kept failing): tell them once, through the
        outbox, which keeps trying after this update is done."""
        try:
            lang = await self._language_of(event)  # read before the write, not inside it
            async with self.db.transaction() as session:
                outbox = Outbox(session)
                if ReplyLost.KIND in await outbox.pending_kinds(event.sender.chat_id):
                    return  # said already, still waiting to go out
                outbox.enqueue(event.sender.chat_id, ReplyLost(lang))
            self.notifier.wake.set()
            log.warning("update %s: the reply to chat %s is lost; the resident will be told",
                        event.update_id, logs.chat_ref(event.sender.chat_id))
        except Exception as error:
            log.error("update %s: could not queue the lost-reply notice: %s",
                      event.update_id, logs.reason(error))

    async def mark_unreachable(self, user_id: int) -> None:
        async with self.db.transaction() as session:
            resident = await Residents(session).by_user(user_id)
            if resident is not None and resident.chat_id is not None:
                await TicketService(session, staff_chat_id=self.settings.office.staff_chat_id
                                    ).set_reachable(resident, False)
                await Outbox(session).give_up_on_chat(resident.chat_id, "blocked the bot")
        self.notifier.wake.set()  # the cards

    async def _mark_handled(self, update_id: int, result: str) -> None:
        self.metrics.updates.labels(result).inc()
        self._answered[update_id] = None
        while len(self._answered) > HANDLED_KEPT:
            del self._answered[next(iter(self._answered))]
        if self.on_handled is not None:
            self.on_handled(update_id, result)

    # --- life cycle ----------------------------------------------------------------------
    async def _take_the_lead(self, webhook: Webhook | None) -> None:
        """What the leader does once for the deployment: tell Telegram where updates go and
        which commands there are, and start the notifier and the timers."""
        transport = self.transport
        if webhook is None:
            await retrying(transport.delete_webhook)  # polling: Telegram refuses it otherwise
        else:
            await retrying(partial(transport.set_webhook, webhook.url, webhook.secret,
                                   webhook.max_connections))
        for lang in SUPPORTED:
            _ = gettext_for(lang)
            commands = [(c, _(d)) for c, d in COMMANDS]
            await retrying(partial(transport.set_commands, commands, TELEGRAM_CODES[lang]))
            if lang == self.settings.office.default_language:
                await retrying(partial(transport.set_commands, commands, None))
        self._workers = [asyncio.create_task(self.notifier.run()),
                         asyncio.create_task(self.scheduler.run())]

    async def _finish(self) -> None:
        if self._in_flight:
            log.info("finishing %d update(s) in hand", len(self._in_flight))
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self.stop_workers()

    async def stop_workers(self) -> None:
        """The notifier and the timers finish what they hold (a transaction cut by a
        cancellation may still be closing its connection when the pool is gone); one that
        is waiting out a long rate limit is cancelled."""
        self.notifier.stop()
        self.scheduler.stop()
        if self._workers:
            _, waiting = await asyncio.wait(self._workers, timeout=WORKERS_GRACE)
            for worker in waiting:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
        self._workers = []

    async def prepare(self) -> None:
        """Bring the database up to date (a new or older file alike). On SQLite, refuse to
        be a second process on the same file (SecondProcess)."""
        self.leadership.claim()
        await self.db.upgrade(separate_process=True)  # alembic never in the bot's memory
        await self.db.refresh_statistics()
        if isinstance(self.leadership, OnlyProcess):
            # the only process there can be: a claim in the outbox is a dead one's (a kill -9
            # mid-send); its rows go out now, not when its lease runs out
            async with self.db.transaction() as session:
                freed = await Outbox(session).release_every_claim()
            if freed:
                log.warning("%d notifications claimed by a process that died go out again "
                            "(one sent just before it died may arrive twice)", freed)

    async def run(self, *, handle_signals: bool = True, polling_timeout: int = 25,
                  webhook: Webhook | None = None,
                  alongside: contextlib.AbstractAsyncContextManager[object] | None = None,
                  ) -> None:
        """Long polling — or, with `webhook`, updates posted to us — until stopped (SIGINT /
        SIGTERM or `stop()`). `alongside` runs meanwhile (the HTTP server of `serve`)."""
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM) if handle_signals else ()
        try:
            await self.prepare()
            for number in signals:
                loop.add_signal_handler(number, self._stopping.set)
            # the HTTP side first: Telegram may post the first update right after setWebhook
            async with alongside or contextlib.nullcontext():
                await retrying(self.transport.start)
                freeze_start_up()
                followed = False  # someone else led: it may have sent a moment ago
                while not self._stopping.is_set():
                    if await self.leadership.try_lead():
                        await self._lead(webhook, polling_timeout, taking_over=followed)
                    else:  # a follower: serves its HTTP side, and tries again soon
                        followed = True
                        await self._pause(TRY_EVERY)
        finally:
            for number in signals:
                loop.remove_signal_handler(number)
            await self._finish()
            await self.leadership.release()
            await self.transport.close()
            await self.db.dispose()
            log.info("stopped")

    async def _sent_lately(self) -> bool:
        async with self.db.reading() as session:
            last = await Outbox(session).last_sent_at()
        return last is not None and last > utcnow() - SENT_LATELY

    async def _lead(self, webhook: Webhook | None, polling_timeout: int, *,
                    taking_over: bool) -> None:
        """Lead until stopped or until the lead is lost (then a follower again)."""
        log.info("leading the deployment: %s, the notifier and the timers",
                 "webhook" if webhook else "polling")
        # Telegram's limits are the deployment's, not this process's: another leader, or
        # this bot before a kill -9 and a quick restart, may have just spent them
        if taking_over or await self._sent_lately():
            self.notifier.limits.assume_spent()
        await self._take_the_lead(webhook)
        lost = asyncio.Event()
        watch = asyncio.create_task(self._watch_the_lead(lost))
        try:
            if webhook is not None:
                log.info("taking updates at the webhook with %s", self.transport.name)
                await _first(self._stopping, lost)
            else:
                log.info("polling %s with %s", self.settings.telegram.telegram_api_url,
                         self.transport.name)
                await self._poll(polling_timeout, lost)
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
            await self.stop_workers()

    async def _watch_the_lead(self, lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(TRY_EVERY)
            if not await self.leadership.try_lead():
                lost.set()
                return

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _poll(self, polling_timeout: int, lost: asyncio.Event) -> None:
        """Take a batch, handle it, and only then confirm it (the next call's offset).

        The frameworks' own polling (aiogram's, PTB's Updater) confirms a batch as soon as it
        is taken; a crash then loses the updates in hand. Here they come again after a
        restart, and the chat's recent update ids make the second delivery harmless.
        """
        offset: int | None = None
        asked = offset  # the offset of the last call sent: Telegram confirmed up to it
        delay = POLL_BACKOFF[0]
        stopping = asyncio.ensure_future(_first(self._stopping, lost))
        try:
            while not (self._stopping.is_set() or lost.is_set()):
                asked = offset
                fetch = asyncio.ensure_future(self.transport.get_updates(offset,
                                                                         polling_timeout))
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():  # stopped while waiting: nothing was taken
                    fetch.cancel()
                    with contextlib.suppress(asyncio.CancelledError, TelegramFailure):
                        await fetch
                    break
                try:
                    updates = fetch.result()
                except Exception as error:  # whatever Telegram (or a proxy) answered
                    log.warning("getUpdates failed (%s); again in %.1fs", logs.reason(error),
                                delay)
                    with contextlib.suppress(TimeoutError):  # a stop ends the wait
                        await asyncio.wait_for(asyncio.shield(stopping), delay)
                    delay = min(delay * 1.5, POLL_BACKOFF[1])
                    continue
                delay = POLL_BACKOFF[0]
                if not updates:
                    continue
                await self._handle_batch(updates)
                offset = self.transport.update_id(updates[-1]) + 1
        finally:
            stopping.cancel()
        if offset != asked:  # a clean stop confirms the last batch: no answer twice
            with contextlib.suppress(TelegramFailure, TimeoutError):
                async with asyncio.timeout(5):
                    await self.transport.get_updates(offset, 0)

    async def handle_posted(self, data: dict[str, Any]) -> None:
        """An update Telegram posted to the webhook, handled and answered before this returns
        (the 200 then tells Telegram it is done). ValueError when the body is no update."""
        update = self.transport.parse_update(data)
        async with self._turn_of(self.transport.chat_of(update)):
            await self._dispatch(update)

    @contextlib.asynccontextmanager
    async def _turn_of(self, chat_id: int) -> AsyncIterator[None]:
        turn = self._chat_turns.setdefault(chat_id, _ChatTurn())
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if not turn.users:  # nothing kept for a chat with nothing in hand
                del self._chat_turns[chat_id]

    async def _dispatch(self, update: object) -> None:
        try:
            await self.transport.dispatch(update)
        except Exception as error:  # one bad update must not hold back the chat
            log.error("update %s: %s", self.transport.update_id(update), logs.reason(error))

    async def _handle_batch(self, updates: Sequence[object]) -> None:
        """Chats run concurrently; one chat's updates one after another, each shown before
        the next is handled (an album stays in order, replies never overtake each other)."""
        by_chat: dict[int, list[object]] = {}
        for update in updates:
            by_chat.setdefault(self.transport.chat_of(update), []).append(update)

        async def in_order(chat_updates: list[object]) -> None:
            for update in chat_updates:
                await self._dispatch(update)

        await asyncio.gather(*(in_order(chat) for chat in by_chat.values()))

    @property
    def in_hand(self) -> set[int]:
        """Ids of the updates being handled now (a shutdown waits for them)."""
        return set(self._in_flight.values())

    async def stop(self) -> None:
        self._stopping.set()


async def _first(*events: asyncio.Event) -> None:
    """Wait until any of the events is set."""
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def _transient(error: DBAPIError) -> bool:
    text = str(error.orig).lower()
    return any(s in text for s in ("locked", "busy", "serializ", "deadlock", "unique"))
