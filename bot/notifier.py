"""Drains the outbox into Telegram, with retries: notifications survive crashes and outages.

Delivery is at least once: a crash between sending and marking may send a message twice,
never zero times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter

from conversations.events import Reply
from conversations.staff import new_ticket_card, resident_update
from storage.db import Database
from storage.models import OutboxMessage, utcnow
from storage.repositories import Outbox

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6


class Notifier:
    def __init__(self, bot: Bot, db: Database, lang: str, timezone: ZoneInfo,
                 interval: float = 1.0) -> None:
        self.bot, self.db, self.lang, self.timezone = bot, db, lang, timezone
        self.interval = interval
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                await self.drain()
            except Exception:  # keep draining whatever one bad row or outage does
                log.exception("outbox drain failed")
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.interval)

    async def drain(self) -> int:
        """Send what is due; returns how many were sent."""
        async with self.db.transaction() as session:
            outbox = Outbox(session)
            batch = [(m.id, m.chat_id, await self.render(outbox, m))
                     for m in await outbox.due(utcnow())]
        sent = 0
        for message_id, chat_id, reply in batch:
            error: str | None = None
            delay = 0.0
            if reply is not None:
                try:
                    await self.bot.send_message(chat_id, reply.text)
                except TelegramRetryAfter as exc:
                    error, delay = exc.message, float(exc.retry_after)
                except TelegramAPIError as exc:
                    error = exc.message
            await self.settle(message_id, error, delay, skipped=reply is None)
            sent += error is None and reply is not None
        return sent

    async def render(self, outbox: Outbox, message: OutboxMessage) -> Reply | None:
        payload = message.payload
        if "ticket_id" in payload:
            ticket = await outbox.ticket(int(payload["ticket_id"]))
            if ticket is None:
                return None
            if payload.get("kind") == "new_ticket":
                return new_ticket_card(ticket, self.lang, self.timezone)
            return resident_update(ticket, str(payload.get("kind")), payload, self.lang)
        if "text" in payload:
            return Reply(str(payload["text"]))
        return None

    async def settle(self, message_id: int, error: str | None, delay: float,
                     *, skipped: bool) -> None:
        async with self.db.transaction() as session:
            message = await Outbox(session).get(message_id)
            if message is None:
                return
            message.attempts += 1
            if skipped:
                message.state, message.last_error = "failed", "nothing to send"
            elif error is None:
                message.state = "sent"
            else:
                message.last_error = error[:500]
                if message.attempts >= MAX_ATTEMPTS:
                    message.state = "failed"
                    log.error("outbox %s failed for good: %s", message_id, error)
                else:
                    backoff = max(delay, 2.0 ** message.attempts)
                    message.next_attempt_at = utcnow() + timedelta(seconds=backoff)
