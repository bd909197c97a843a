"""Memory stays flat however many chats the bot has seen (issue 18, P4): nothing in the bot
process grows with every chat or every update. Each structure that could is shown bounded
here; `./dev bench memory` measures the whole process (bench/README.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.emulator import BotAPIEmulator
from bot.handled import HandledUpdates
from bot.telegram.aiogram_transport import AiogramTransport
from bot.telegram.ptb_transport import PTBTransport
from bot.telegram.transport import TRANSPORTS, make_transport
from bot.workers.notifier import RateLimits
from conversations.events import Event

CHATS = 300


@pytest.fixture
async def emu() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator() as emulator:
        yield emulator


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_the_framework_keeps_nothing_for_each_chat_it_saw(
    emu: BotAPIEmulator, name: str,
) -> None:
    handled: list[Event] = []

    async def handle(event: Event) -> None:
        handled.append(event)

    for n in range(CHATS):  # a text and a button press from each of many chats
        user = emu.user(80_000 + n, f"R{n}")
        emu.send_text(user, "hello")
        emu.send_callback(user, 1, "rp:skip")
    transport = make_transport(name, emu.token, emu.base_url, handle, None)
    await transport.start()
    try:
        offset = None
        while updates := await transport.get_updates(offset, 0):
            for update in updates:
                await transport.dispatch(update)
            offset = transport.update_id(updates[-1]) + 1
    finally:
        await transport.close()
    assert len({e.sender.chat_id for e in handled}) == CHATS and len(handled) == 2 * CHATS
    if isinstance(transport, AiogramTransport):
        # aiogram's default FSM storage made a record for every chat
        assert vars(transport.dispatcher.fsm.storage)["storage"] == {}
    else:
        assert isinstance(transport, PTBTransport)
        # PTB marked every chat and user for a persistence that is never there
        application = transport.application
        assert not application._chat_ids_to_be_updated_in_persistence
        assert not application._user_ids_to_be_updated_in_persistence
        assert not application.chat_data and not application.user_data


def test_the_notifiers_pacing_forgets_the_chats_it_no_longer_limits() -> None:
    clock = Clock()
    limits = RateLimits(clock)
    limits.hold(1, 300.0)  # Telegram said: nothing to this chat for five minutes
    per_second = 100  # faster than Telegram's 30 a second allows
    for chat in range(2, 100_002):  # 100,000 chats sent to once each, over 1,000 s
        limits.finish(chat)
        clock.now += 1 / per_second
    # only the last minute's chats limit anything; at most twice that many are kept
    assert limits.chats_kept <= 2 * per_second * RateLimits.FORGET_AFTER
    assert limits.ready_at(100_001, clock.now) > clock.now  # the last one: its second holds
    assert limits.ready_at(50_000, clock.now) == clock.now  # long ago: free, as if never sent

    clock.now = 2000.0
    limits = RateLimits(clock)
    limits.hold(1, 300.0)
    for chat in range(2, 10_002):  # 100 s of sends: the five minutes' hold is kept
        limits.finish(chat)
        clock.now += 1 / per_second
    assert limits.ready_at(1, clock.now) > clock.now


async def test_a_wait_that_times_out_keeps_nothing() -> None:
    handled = HandledUpdates()
    waits = [handled.wait(update_id, within=0.01) for update_id in range(1_000)]
    results = await asyncio.gather(*waits, return_exceptions=True)
    assert all(isinstance(r, TimeoutError) for r in results)
    assert handled.waiting == 0
    handled(5, "ok")  # one handled later is still seen by a new wait
    assert await handled.wait(5) == "ok" and handled.waiting == 0
