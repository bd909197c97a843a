"""The outbox notifier: retries with backoff, gives up after a bound, never loses a row."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.emulator.chat import ChatClient
from bot.emulator.server import BotAPIEmulator
from bot.notifier import MAX_ATTEMPTS
from storage.models import OutboxMessage, utcnow
from tests.conftest import Harness
from tests.test_e2e_report import file_report, register


async def test_a_refused_notification_is_retried_then_marked_failed(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = harness.desk
    assert desk is not None
    await register(resident)
    await file_report(resident)
    async with desk.db.transaction() as session:
        session.add(OutboxMessage(chat_id=-999, payload={"text": "to a chat the bot left"}))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        await desk.notifier.drain()
        async with desk.db.transaction() as session:
            message = await session.scalar(select(OutboxMessage))
            assert message is not None and message.attempts == attempt
            assert "chat not found" in (message.last_error or "")
            assert message.next_attempt_at > utcnow() or message.state == "failed"
            await session.execute(update(OutboxMessage).values(
                next_attempt_at=utcnow() - timedelta(seconds=1)))
    async with desk.db.transaction() as session:
        message = await session.scalar(select(OutboxMessage))
        assert message is not None and message.state == "failed"
    assert await desk.notifier.drain() == 0
