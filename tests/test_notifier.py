"""The outbox notifier: retries with backoff, gives up after a bound and says so, never loses a
row; 403 stops at once."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.app import ResidentDesk
from bot.emulator import BotAPIEmulator
from bot.emulator.chat import ChatClient
from bot.workers.notifier import MAX_ATTEMPTS, RateLimits
from storage.models import OutboxMessage, Resident, Ticket, utcnow
from tests.chats import file_report, register
from tests.conftest import Harness
from tickets.notices import Card

STAFF_CHAT = -100321


async def drain_by_hand(desk: ResidentDesk) -> None:
    """One drain, with the background worker stopped and the pacing forgotten (so each call
    makes one attempt, whenever the test calls it)."""
    await desk.stop_workers()
    desk.notifier.limits = RateLimits()
    await desk.notifier.drain()


async def test_a_failing_notification_is_retried_then_marked_failed_and_reported(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, transport: str
) -> None:
    emulator.add_group(STAFF_CHAT, "Office staff")
    harness = Harness(emulator, database_url, tmp_path / "media", transport=transport,
                      staff_chat_id=STAFF_CHAT)
    desk = await harness.start()
    try:
        await fail_for_good(harness, desk, emulator)
    finally:
        await harness.stop()


async def fail_for_good(harness: Harness, desk: ResidentDesk, emulator: BotAPIEmulator
                        ) -> None:
    resident = harness.chat(emulator.user(1001, "Li Wei"))
    await register(resident)
    await file_report(resident)
    for _ in range(250):  # the card is out and marked sent
        async with desk.db.transaction() as session:
            if not await session.scalar(select(OutboxMessage.id).where(
                    OutboxMessage.state == "pending")):
                break
        await asyncio.sleep(0.02)
    await desk.stop_workers()
    async with desk.db.transaction() as session:
        ticket = await session.scalar(select(Ticket))
        assert ticket is not None
        session.add(OutboxMessage(chat_id=resident.chat_id, payload={
            "kind": "investigating", "ticket_id": ticket.id, "to": "resident"}))
    emulator.inject_error("sendMessage", 502, times=MAX_ATTEMPTS)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        await drain_by_hand(desk)
        async with desk.db.transaction() as session:
            message = await session.scalar(select(OutboxMessage).where(
                OutboxMessage.chat_id == resident.chat_id).order_by(OutboxMessage.id.desc()))
            assert message is not None and message.attempts == attempt
            assert "Bad Gateway" in (message.last_error or "")
            assert message.next_attempt_at > utcnow() or message.state == "failed"
            await session.execute(update(OutboxMessage).values(
                next_attempt_at=utcnow() - timedelta(seconds=1)))
    async with desk.db.transaction() as session:
        states = [(m.chat_id, m.state, m.payload["kind"]) for m in
                  (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()]
    assert (resident.chat_id, "failed", "investigating") in states
    assert "under investigation" not in resident.last_text
    assert (STAFF_CHAT, "pending", "delivery_failed") in states  # the office is told
    emulator.clear_injections()
    await drain_by_hand(desk)
    alert = emulator.last_message(STAFF_CHAT)
    assert "could not be delivered" in (alert.text or "") and "Bad Gateway" in (alert.text or "")


async def test_a_blocked_resident_is_marked_unreachable_without_retries(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator
) -> None:
    desk = harness.desk
    assert desk is not None
    await register(resident)
    await file_report(resident)
    emulator.block(resident.user)
    async with desk.db.transaction() as session:
        ticket = await session.scalar(select(Ticket))
        assert ticket is not None
        for kind in ("acknowledged", "investigating"):
            session.add(OutboxMessage(chat_id=resident.chat_id, payload={
                "kind": kind, "ticket_id": ticket.id, "to": "resident"}))
    calls = len(emulator.requests)
    await drain_by_hand(desk)
    await drain_by_hand(desk)
    sends = [m for m, p in emulator.requests[calls:] if m == "sendMessage"]
    assert len(sends) == 1  # the first 403 stops the chat's queue: no retry, no second try
    async with desk.db.transaction() as session:
        states = [m.state for m in (await session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == resident.chat_id))).all()]
        person = await session.scalar(select(Resident))
    assert states == ["unreachable", "unreachable"]
    assert person is not None and not person.reachable


@pytest.mark.parametrize("failure", ["429", "500", "dropped"])
async def test_transient_failures_are_retried_and_delivered_once(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator, failure: str
) -> None:
    desk = harness.desk
    assert desk is not None
    await register(resident)
    await file_report(resident)
    if failure == "429":
        emulator.inject_error("sendMessage", 429, retry_after=2)
    elif failure == "500":
        emulator.inject_error("sendMessage", 500)
    else:
        emulator.inject_error("sendMessage", 502, drop_connection=True)
    sends_before = sum(1 for m, _p in emulator.requests if m == "sendMessage")
    async with desk.db.transaction() as session:
        ticket = await session.scalar(select(Ticket))
        assert ticket is not None
        session.add(OutboxMessage(chat_id=resident.chat_id, payload={
            "kind": "investigating", "ticket_id": ticket.id, "to": "resident"}))
    desk.notifier.wake.set()
    await emulator.wait_for(
        lambda: sum(1 for m, _p in emulator.requests if m == "sendMessage") > sends_before)
    refused_at = time.monotonic()
    await emulator.wait_for(lambda: "under investigation" in resident.last_text, 15)
    waited = time.monotonic() - refused_at
    assert sum("under investigation" in (m.text or "") for m in resident.messages) == 1
    if failure == "429":
        assert waited >= 1.9  # retry_after honoured
    state = ""
    for _ in range(250):  # the row is marked right after the send
        async with desk.db.transaction() as session:
            state = str(await session.scalar(
                select(OutboxMessage.state).order_by(OutboxMessage.id.desc())))
        if state == "sent":
            break
        await asyncio.sleep(0.02)
    assert state == "sent"


async def test_card_updates_waiting_together_are_drawn_once(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, transport: str
) -> None:
    """Three updates of a posted card waiting at once (a burst of changes) are one edit,
    showing the card as it is then: the group's 20 a minute go to what staff read."""
    emulator.add_group(STAFF_CHAT, "Office staff")
    harness = Harness(emulator, database_url, tmp_path / "media", transport=transport,
                      staff_chat_id=STAFF_CHAT)
    desk = await harness.start()
    try:
        resident = harness.chat(emulator.user(1001, "Li Wei"))
        await register(resident)
        await file_report(resident)
        await drained(desk)
        await desk.stop_workers()
        [card] = [m for m in emulator.messages(STAFF_CHAT) if "Ticket No." in (m.text or "")]
        edits = card.edits
        async with desk.db.transaction() as session:
            ticket = await session.scalar(select(Ticket))
            assert ticket is not None and ticket.card_message_id == card.message_id
            ticket.priority = "urgent"  # (what the card shows must change to be edited)
            for _ in range(3):
                session.add(OutboxMessage(chat_id=STAFF_CHAT, payload=Card(ticket.id)
                                          .to_payload()))
        desk.notifier.limits = RateLimits()
        before = len(emulator.requests)
        while await pending(desk):  # (a pass sends a chat's rows one at a time)
            await desk.notifier.drain()
        now = next(m for m in emulator.messages(STAFF_CHAT) if m.message_id == card.message_id)
        assert now.edits == edits + 1 and "Urgent" in (now.text or ""), now.text
        asked = [name for name, _ in emulator.requests[before:] if name.startswith("edit")]
        assert len(asked) == 1, asked  # one edit asked of Telegram, not three
    finally:
        await harness.stop()


async def pending(desk: ResidentDesk) -> int:
    async with desk.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.state == "pending")) or 0)


async def drained(desk: ResidentDesk) -> None:
    for _ in range(500):
        if not await pending(desk):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox did not drain")
