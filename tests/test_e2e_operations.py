"""Operations: log lines, clean shutdown with an update in hand."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.demo import tiny_png
from bot.emulator import BotAPIEmulator
from bot.emulator.chat import ChatClient
from tests.chats import AGREE, answer_questions, register
from tests.conftest import Harness


async def test_logs_hold_no_token_phone_or_text(
    resident: ChatClient, emulator: BotAPIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await register(resident)
    await resident.send("/report")
    await resident.click("Noise")
    await resident.send("Secret description of the neighbour's party")
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert any("update=" in line and "step=rp:details" in line and "duration_ms=" in line
               for line in lines)
    for line in lines:
        assert emulator.token not in line and emulator.token.split(":")[1] not in line
        assert "8613800138000" not in line and "Secret description" not in line
        assert "Li Wei" not in line


async def test_shutdown_finishes_the_update_in_hand(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator
) -> None:
    await register(resident)
    desk = harness.desk
    assert desk is not None
    emulator.inject_error("sendMessage", 429, retry_after=1)  # the answer waits a second
    update_id = emulator.send_text(resident.user, "/report")
    await emulator.wait_for(lambda: update_id in desk.in_hand)
    stopping = asyncio.create_task(harness.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done(), "shutdown must wait for the update in hand"
    await stopping
    assert "Choose a category" in resident.last_text
    await harness.start()
    await resident.click("Noise")  # the state saved before shutdown is there after restart
    assert "describe the problem" in resident.last_text


async def test_a_failed_download_is_explained_and_logs_no_secret(
    resident: ChatClient, emulator: BotAPIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the requirement's level; our own tracebacks too:
    for ours in ("residesk", "bot"):
        caplog.set_level(logging.DEBUG, logger=ours)
    await register(resident)
    await resident.send("/report")
    await resident.click("Noise")
    await resident.send("Drilling every morning at six o'clock.")
    await answer_questions(resident, "Noise")
    emulator.inject_error("getFile", 500, times=4)  # every retry fails: no file for us
    await resident.send_photo(tiny_png((9, 9, 9)))
    assert "could not receive this file" in resident.last_text
    emulator.inject_error("getFile", 502, drop_connection=True, times=4)
    await resident.send_photo(tiny_png((8, 8, 8)))
    assert "could not receive this file" in resident.last_text
    await resident.send_photo(tiny_png((7, 7, 7)))  # Telegram is back
    assert "1 file attached" in resident.last_text
    logged = caplog.text  # formatted records, tracebacks included
    assert emulator.token not in logged and emulator.token.split(":")[1] not in logged
    assert "8613800138000" not in logged and "Drilling every morning" not in logged


async def test_each_chat_keeps_its_order_while_chats_run_side_by_side(
    harness: Harness, emulator: BotAPIEmulator
) -> None:
    """Three residents type their whole registration at once, before the bot looks: one
    batch of twelve updates (after /start and its privacy notice). Each chat's answers come
    in the order of its messages."""
    users = [emulator.user(3001 + i, f"Resident {i}", language_code="en") for i in range(3)]
    for update_id in [emulator.send_text(user, "/start") for user in users]:
        await harness.wait(update_id)
    last_ids = []
    for i, user in enumerate(users):
        emulator.click(user, emulator.last_message(user.id), AGREE)
        emulator.send_text(user, f"Resident Number{i}")
        emulator.send_contact(user, f"+86138001380{i:02d}")
        last_ids.append(emulator.send_text(user, f"3-12{i:02d}"))
    for update_id in last_ids:
        await harness.wait(update_id)
    for i, user in enumerate(users):
        texts = [m.text or "" for m in emulator.messages(user.id)]
        assert len(texts) == 5, texts
        assert "name" in texts[1].lower() and "phone" in texts[2].lower()
        assert "unit" in texts[3].lower() or "flat" in texts[3].lower()
        assert f"registered: Resident Number{i}, 3-12{i:02d}" in texts[4]
