"""Faults that used to stop the bot or lose a reply (issue 11), through the real bot on both
frameworks: a proxy's HTML page, answers that are not the Bot API's, outages that cut the long
poll, replies Telegram keeps refusing."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.demo import tiny_png
from bot.emulator import Body, BotAPIEmulator
from bot.emulator.chat import ChatClient
from storage.db import Database
from storage.models import Resident
from tests.chats import AGREE, DESCRIPTION, answer_questions, file_report, register
from tests.conftest import Harness, pg_admin_sync
from tests.records import tickets_in

LOST = "Telegram did not let us answer your last message"


@pytest.mark.parametrize(("status", "body", "dropped"), [
    (502, Body.HTML, False), (200, Body.NO_RESULT, False), (200, Body.TEXT, False),
    (502, Body.ERROR, True),
])
async def test_polling_rides_out_an_outage_of_any_kind(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator,
    status: int, body: Body, dropped: bool,
) -> None:
    assert harness.desk is not None and harness._polling is not None
    await resident.send("/start")
    await resident.click(AGREE)
    emulator.start_outage(status, body=body, drop_connection=dropped)
    await emulator.wait_for(lambda: emulator.outage_answers >= 2)  # the poll is cut, tried again
    update_id = emulator.send_text(resident.user, "Li Wei")  # typed while Telegram is down
    await asyncio.sleep(0.5)
    assert not harness._polling.done(), "the bot stopped during the outage"
    emulator.end_outage()
    assert await harness.wait(update_id) == "ok"
    assert "phone number" in resident.last_text  # answered once Telegram is back


async def test_a_reply_answered_with_a_proxy_page_is_sent_again(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator
) -> None:
    emulator.inject_error("sendMessage", 200, body=Body.HTML)  # 200, but not the Bot API
    await resident.send("/start")
    await resident.click(AGREE)
    assert [m.text for m in resident.messages].count(resident.last_text) == 1
    assert "What is your name?" in resident.last_text
    emulator.inject_error("sendMessage", 502, body=Body.HTML)
    await resident.send("Li Wei")
    assert "phone number" in resident.last_text


async def test_a_reply_telegram_keeps_refusing_is_announced_once(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await resident.send("/start")
    await resident.click(AGREE)
    # each answer is tried four times: both answers below are lost, and so is the first try
    # of the notice that says so (the notifier tries again a few seconds later)
    emulator.inject_error("sendMessage", 200, body=Body.HTML, times=9)
    with caplog.at_level(logging.WARNING, logger="residesk"):
        await resident.send("Li Wei")
        await resident.send("/help")
    assert "the reply to chat" in caplog.text and "is lost" in caplog.text
    await emulator.wait_for(lambda: LOST in resident.last_text, timeout=15)
    assert sum(LOST in (m.text or "") for m in resident.messages) == 1
    await resident.send("+8613800138000")  # the conversation goes on where it was
    assert "flat" in resident.last_text


async def test_control_characters_are_removed_wherever_text_comes_in(
    resident: ChatClient, harness: Harness
) -> None:
    """A NUL in a name once made every registration on PostgreSQL fail for good."""
    await resident.send("/start")
    await resident.click(AGREE)
    await resident.send("\x00\x1b")  # nothing but control characters: no name at all
    assert "Please type your name" in resident.last_text
    await resident.send("Li\x00 Wei\x07")
    await resident.send("+86 138\x00 0013 8000")
    await resident.send("3-1202\x1b\ud800")
    assert "registered: Li Wei, 3-1202" in resident.last_text
    await file_report(resident, DESCRIPTION.replace("leaks", "le\x00aks\r\nstill") + "\x7f")
    assert "registered as No." in (resident.messages[-2].text or "")
    [ticket] = await tickets_in(harness.settings.database.database_url)
    assert ticket.description == DESCRIPTION.replace("leaks", "leaks\nstill")
    db = Database(harness.settings.database.database_url)
    async with db.transaction() as session:
        person = await session.scalar(select(Resident))
    await db.dispose()
    assert person is not None and (person.name, person.phone) == ("Li Wei", "+8613800138000")


# --- a full disk -----------------------------------------------------------------------------

FREE = 16 * 1024  # what is left on the small disk: less than the photo below


@contextlib.contextmanager
def small_disk(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 256 kB tmpfs at `folder`, filled up to FREE bytes; yields the filler file (delete it
    to free the disk). Where mounting is not allowed (no root), the writer is patched to fail
    the same way instead: part of the bytes written, then ENOSPC."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    filler = folder / "filler"
    try:
        if mounted:
            with contextlib.suppress(OSError), filler.open("wb") as out:
                out.write(b"\0" * (256 * 1024 - FREE))
        else:
            filler.write_bytes(b"")
            real = tempfile.NamedTemporaryFile  # the module bot/telegram/media.py writes with

            class FullDisk:  # called as bot/telegram/media.py calls NamedTemporaryFile
                def __init__(self, *, dir: Path, suffix: str, delete: bool) -> None:
                    self.file = real(dir=dir, suffix=suffix, delete=delete)
                    self.name = self.file.name

                def __enter__(self) -> FullDisk:
                    return self

                def __exit__(self, *exc: object) -> None:
                    self.file.close()

                def write(self, data: bytes) -> int:
                    if not filler.exists():
                        return int(self.file.write(data))
                    self.file.write(data[:FREE])
                    raise OSError(errno.ENOSPC, "No space left on device")

                def __getattr__(self, name: str) -> object:
                    return getattr(self.file, name)

            monkeypatch.setattr("bot.telegram.media.tempfile.NamedTemporaryFile", FullDisk)
        yield filler
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
async def full_disk_harness(emulator: BotAPIEmulator, database_url: str, tmp_path: Path,
                            transport: str, monkeypatch: pytest.MonkeyPatch,
                            ) -> AsyncIterator[tuple[Harness, Path]]:
    media = tmp_path / "media"
    with small_disk(media, monkeypatch) as filler:
        h = Harness(emulator, database_url, media, transport=transport)
        await h.start()
        try:
            yield h, filler
        finally:
            await h.stop()


async def test_a_full_disk_leaves_no_partial_file_and_the_resident_may_try_again(
    full_disk_harness: tuple[Harness, Path], emulator: BotAPIEmulator,
) -> None:
    harness, filler = full_disk_harness
    media_dir = harness.settings.office.media_dir
    resident = harness.chat(emulator.user(1001, "Li Wei", language_code="en"))
    await register(resident)
    await resident.send("/report")
    await resident.click("Water & plumbing")
    await resident.send(DESCRIPTION)
    await answer_questions(resident, "Water & plumbing")
    photo = tiny_png((1, 2, 3)) + bytes(range(256)) * 256  # 64 kB: more than the disk has
    await resident.send_photo(photo)
    assert "could not store this file just now" in resident.last_text
    assert "try again later" in resident.last_text
    assert list(media_dir.rglob("*.part")) == [], "a partial file stays and fills the disk"
    filler.unlink()  # the office frees some space
    await resident.send_photo(photo)
    assert "1 file attached" in resident.last_text
    assert [p.stat().st_size for p in media_dir.rglob("*.png")] == [len(photo)]


# --- a flood -------------------------------------------------------------------------------


@pytest.fixture
async def office_speed(emulator: BotAPIEmulator, database_url: str, tmp_path: Path,
                       transport: str) -> AsyncIterator[Harness]:
    """The bot with FLOOD_LIMIT's default, as an office runs it."""
    h = Harness(emulator, database_url, tmp_path / "media", transport=transport,
                flood_limit=None)
    await h.start()
    yield h
    await h.stop()


async def test_a_flood_from_one_chat_gets_one_warning_and_slows_nobody_else(
    office_speed: Harness, emulator: BotAPIEmulator,
) -> None:
    harness = office_speed
    resident = harness.chat(emulator.user(1001, "Li Wei", language_code="en"))
    await register(resident)
    neighbour = harness.chat(emulator.user(1002, "Wang Fang", language_code="zh-hans"))
    before = len(resident.messages)
    ids = [emulator.send_text(resident.user, f"hello {i}") for i in range(300)]
    answered = await neighbour.send("/help")  # in the middle of the flood
    assert answered and "/report" in neighbour.last_text
    for update_id in ids:
        await harness.wait(update_id)
    replies = [m.text or "" for m in resident.messages[before:]]
    warnings = [t for t in replies if "Please slow down" in t]
    assert len(warnings) == 1, "one polite warning, and nothing more"
    limit = harness.settings.telegram.flood_limit
    assert limit == 30  # the default
    # what was read before the limit: registration left some of the minute's allowance
    assert 0 < len(replies) - 1 <= limit
    assert replies.index(warnings[0]) == len(replies) - 1  # nothing after the warning


# --- a crash between the commit and the answer ----------------------------------------------


class BotProcess:
    """`residesk run` as its own process, killed with SIGKILL and started again."""

    def __init__(self, emulator: BotAPIEmulator, database_url: str, transport: str,
                 workdir: Path) -> None:
        self.emulator, self.workdir, self.transport = emulator, workdir, transport
        self.environment = {**os.environ, "BOT_TOKEN": emulator.token,
                            "TELEGRAM_API_URL": emulator.base_url,
                            "DATABASE_URL": database_url, "FLOOD_LIMIT": "600",
                            "PYTHONPATH": str(Path(__file__).parent.parent)}
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        polls = sum(m == "getUpdates" for m, _ in self.emulator.requests)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--transport", self.transport,
            cwd=self.workdir, env=self.environment, stderr=asyncio.subprocess.DEVNULL)
        await self.emulator.wait_for(
            lambda: sum(m == "getUpdates" for m, _ in self.emulator.requests) > polls,
            timeout=60)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: nothing is finished, nothing is flushed
        await self.process.wait()

    async def wait(self, update_id: int) -> str:
        await self.emulator.wait_until_consumed(update_id, timeout=30)
        return "consumed"


async def test_an_answer_lost_in_a_crash_is_sent_after_the_restart(
    emulator: BotAPIEmulator, database_url: str, transport: str, tmp_path: Path
) -> None:
    bot = BotProcess(emulator, database_url, transport, tmp_path)
    await bot.start()
    try:
        resident = ChatClient(emulator, emulator.user(1001, "Li Wei", language_code="en"),
                              bot.wait)
        await register(resident)
        await resident.send("/report")
        categories = resident.last_with_buttons
        # the answer to the button is held back (a long 429) after the transaction
        for method in ("sendMessage", "editMessageText"):
            emulator.inject_error(method, 429, retry_after=29, times=2)
        seen = len(emulator.requests)
        emulator.click(resident.user, categories, "Water & plumbing")
        await emulator.wait_for(lambda: any(
            m in ("sendMessage", "editMessageText") for m, _ in emulator.requests[seen:]),
            timeout=30)
        assert any(m == "answerCallbackQuery" for m, _ in emulator.requests[seen:])
        await bot.kill()
        emulator.clear_injections()
        assert "describe the problem" not in resident.last_text  # nothing reached the resident
        await bot.start()
        await emulator.wait_for(lambda: "describe the problem" in resident.last_text,
                                timeout=30)
        await resident.send(DESCRIPTION)  # and the report goes on from there
        assert "Where is the water coming from?" in resident.last_text
    finally:
        if bot.process is not None and bot.process.returncode is None:
            await bot.kill()


# --- the database in trouble -----------------------------------------------------------------


async def test_a_held_database_lock_or_lost_connections_only_delay_the_answer(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator, backend: str,
) -> None:
    await resident.send("/start")
    await resident.click(AGREE)
    url = harness.settings.database.database_url
    if backend == "sqlite":  # another process holds SQLite's write lock for 2 s
        blocker = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        update_id = emulator.send_text(resident.user, "Li Wei")
        await asyncio.sleep(2)
        blocker.execute("ROLLBACK")
        blocker.close()
    else:  # the server drops every connection of the bot (a restart, a failover)
        name = url.rsplit("/", 1)[1]
        pg_admin_sync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
        update_id = emulator.send_text(resident.user, "Li Wei")
    assert await harness.wait(update_id) == "ok"
    assert "phone number" in resident.last_text
    assert "went wrong" not in " ".join(m.text or "" for m in resident.messages)
