"""Wiring: settings -> database, engine, aiogram bot and dispatcher. The one factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.methods import GetUpdates
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from aiogram.utils.backoff import Backoff, BackoffConfig
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from bot import logs
from bot.aiogram_transport import RetryMiddleware, Send, build_router
from bot.media import MediaStore
from bot.notifier import Notifier
from bot.scheduler import Scheduler
from bot.settings import DatabaseSettings, OfficeSettings, TelegramSettings
from conversations.context import Office
from conversations.engine import COMMANDS, Engine
from conversations.events import CallbackAnswer, Event, Outcome, Reply
from locales import SUPPORTED, TELEGRAM_CODES, gettext_for, negotiate
from storage.db import Database
from storage.repositories import Residents
from tickets.policy import Timing

log = logging.getLogger("residesk")
DB_ATTEMPTS = 3
HANDLED_KEPT = 10_000
ALLOWED_UPDATES = ["message", "callback_query"]


@dataclass(frozen=True)
class Settings:
    telegram: TelegramSettings
    database: DatabaseSettings
    office: OfficeSettings


class ChatLocks:
    """Updates of one chat are handled one at a time (an album's photos must not race)."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[chat_id] -= 1
            if not self._users[chat_id]:
                del self._users[chat_id], self._locks[chat_id]


class ResidentDesk:
    def __init__(self, settings: Settings, *, database: Database | None = None) -> None:
        self.settings = settings
        office = settings.office
        self.db = database or Database(settings.database.database_url)
        self.engine = Engine(Office(
            default_language=office.default_language,
            emergency_phone=office.emergency_phone,
            staff_chat_id=office.staff_chat_id,
            timezone=ZoneInfo(office.office_timezone),
            timing=Timing(survey_reminder_after=timedelta(hours=office.survey_reminder_hours),
                          survey_close_after=timedelta(hours=office.survey_close_hours)),
        ))
        logs.redact(settings.telegram.bot_token)
        api = TelegramAPIServer.from_base(settings.telegram.telegram_api_url)
        session = AiohttpSession(api=api)
        session.middleware(RetryMiddleware())
        self.bot = Bot(settings.telegram.bot_token, session=session,
                       default=DefaultBotProperties(link_preview_is_disabled=True))
        self.media = MediaStore(self.bot, office.media_dir)
        self.locks = ChatLocks()
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(build_router(self.handle, self.mark_unreachable,
                                                    office.staff_chat_id))
        self.dispatcher.startup.register(self._on_startup)
        self.dispatcher.shutdown.register(self._on_shutdown)
        self._in_flight: dict[asyncio.Task[None], int] = {}  # task -> update id
        # The notifier paces, waits and retries by itself (per row, in the database): its bot
        # has no retrying middleware that would hold a sending slot for seconds.
        self.notifier_bot = Bot(settings.telegram.bot_token,
                                session=AiohttpSession(api=api),
                                default=DefaultBotProperties(link_preview_is_disabled=True))
        self.notifier = Notifier(self.notifier_bot, self.db, office.default_language,
                                 self.engine.office.timezone, office.staff_chat_id)
        self.scheduler = Scheduler(self.db, self.engine.office, self.notifier.wake.set)
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.handled: dict[int, list[str]] = {}  # update_id -> results, for tests and the demo
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}

    # --- the unit of work of one update --------------------------------------------------
    async def handle(self, event: Event, send: Send) -> None:
        """Process one update and show the result; a shutdown waits for both to finish."""
        task = asyncio.ensure_future(self._handle(event, send))
        self._in_flight[task] = event.update_id
        task.add_done_callback(self._in_flight.pop)
        await asyncio.shield(task)

    async def _handle(self, event: Event, send: Send) -> None:
        # The chat's lock spans delivery too, so replies never overtake each other (a 429 wait
        # on one update must not let the next update's answer arrive first). FIFO: an album
        # stays in order.
        async with self.locks.hold(event.sender.chat_id):
            outcome = await self.process(event)
            try:
                await send(outcome)
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
            # the class only: database errors quote SQL, download errors quote URLs
            log.error("update %s failed: %s", event.update_id, type(error).__name__,
                      exc_info=log.isEnabledFor(logging.DEBUG))
            _ = gettext_for(negotiate(event.sender.language_code,
                                      self.settings.office.default_language))
            text = _("Sorry, something went wrong on our side. Please try again in a moment.")
            outcome.replies = [Reply(text)]
            if event.callback_id:
                outcome.callback_answer = CallbackAnswer(text)
        log.info("update=%s chat=%s step=%s outcome=%s duration_ms=%.1f", event.update_id,
                 event.sender.chat_id, outcome.step, outcome.result,
                 (time.perf_counter() - started) * 1000)
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
                log.warning("update %s: database busy (%s), retrying", event.update_id, error)
                await asyncio.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    async def mark_unreachable(self, user_id: int) -> None:
        async with self.db.transaction() as session:
            resident = await Residents(session).by_user(user_id)
            if resident is not None:
                resident.reachable = False

    # --- test and demo hooks -------------------------------------------------------------
    async def _mark_handled(self, update_id: int, result: str) -> None:
        self.handled.setdefault(update_id, []).append(result)
        while len(self.handled) > HANDLED_KEPT:  # a window for waiters, not a history
            del self.handled[next(iter(self.handled))]
        for waiter in self._waiters.pop(update_id, []):  # wake only who waits for this one
            if not waiter.done():
                waiter.set_result(None)

    async def wait_handled(self, update_id: int, times: int = 1, within: float = 10.0) -> str:
        """Wait until the update was handled `times` times (a redelivery counts again)."""
        async with asyncio.timeout(within):
            while len(self.handled.get(update_id, ())) < times:
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.setdefault(update_id, []).append(waiter)
                await waiter
            return self.handled[update_id][-1]

    # --- life cycle ----------------------------------------------------------------------
    async def _on_startup(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)
        for lang in SUPPORTED:
            _ = gettext_for(lang)
            commands = [BotCommand(command=c, description=_(d)) for c, d in COMMANDS]
            await self.bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats(),
                                           language_code=TELEGRAM_CODES[lang])
            if lang == self.settings.office.default_language:
                await self.bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())

        self._workers = [asyncio.create_task(self.notifier.run()),
                         asyncio.create_task(self.scheduler.run())]

    async def _on_shutdown(self) -> None:
        if self._in_flight:
            log.info("finishing %d update(s) in hand", len(self._in_flight))
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        for worker in self._workers:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []

    async def prepare(self) -> None:
        """Bring the database up to date (a new or older file alike)."""
        await self.db.upgrade()

    async def run(self, *, handle_signals: bool = True, polling_timeout: int = 25) -> None:
        """Long polling until stopped (SIGINT / SIGTERM or `stop()`)."""
        await self.prepare()
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM) if handle_signals else ()
        for number in signals:
            loop.add_signal_handler(number, self._stopping.set)
        await self.dispatcher.emit_startup(bot=self.bot)
        log.info("polling %s", self.settings.telegram.telegram_api_url)
        try:
            await self._poll(polling_timeout)
        finally:
            for number in signals:
                loop.remove_signal_handler(number)
            await self.dispatcher.emit_shutdown(bot=self.bot)
            await self.bot.session.close()
            await self.notifier_bot.session.close()
            await self.db.dispose()
            log.info("stopped")

    async def _poll(self, polling_timeout: int) -> None:
        """Take a batch, handle it, and only then confirm it (the next call's offset).

        aiogram's own polling confirms a batch as soon as it is taken; a crash then loses the
        updates in hand. Here they come again after a restart, and the chat's recent update
        ids make the second delivery harmless.
        """
        request = GetUpdates(timeout=polling_timeout, allowed_updates=ALLOWED_UPDATES)
        request_timeout = int(self.bot.session.timeout + polling_timeout)
        backoff = Backoff(BackoffConfig(min_delay=1.0, max_delay=30.0, factor=1.5, jitter=0.1))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                fetch = asyncio.ensure_future(self.bot(request, request_timeout=request_timeout))
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():  # stopped while waiting: nothing was taken
                    fetch.cancel()
                    with contextlib.suppress(asyncio.CancelledError, TelegramAPIError,
                                             TelegramNetworkError):
                        await fetch
                    break
                try:
                    updates = fetch.result()
                except (TelegramAPIError, TelegramNetworkError) as error:
                    delay = next(backoff)
                    log.warning("getUpdates failed (%s); again in %.1fs",
                                type(error).__name__, delay)
                    await asyncio.sleep(delay)
                    continue
                backoff.reset()
                if not updates:
                    continue
                # chats run concurrently; each chat's updates in order (ChatLocks is FIFO)
                results = await asyncio.gather(
                    *(self.dispatcher.feed_update(self.bot, update) for update in updates),
                    return_exceptions=True)
                for update, result in zip(updates, results, strict=True):
                    if isinstance(result, Exception):
                        log.error("update %s: %s", update.update_id, type(result).__name__)
                request.offset = updates[-1].update_id + 1
        finally:
            stopping.cancel()

    @property
    def in_hand(self) -> set[int]:
        """Ids of the updates being handled now (a shutdown waits for them)."""
        return set(self._in_flight.values())

    async def stop(self) -> None:
        self._stopping.set()


def _transient(error: DBAPIError) -> bool:
    text = str(error.orig).lower()
    return any(s in text for s in ("locked", "busy", "serializ", "deadlock", "unique"))
