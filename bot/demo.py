"""`residesk demo`: the emulator, the real bot (aiogram over HTTP, SQLite) and a terminal chat."""

from __future__ import annotations

import asyncio
import shlex
import struct
import sys
import tempfile
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.app import ResidentDesk, Settings
from bot.emulator.chat import ChatClient
from bot.emulator.server import BotAPIEmulator, SentMessage
from bot.settings import DatabaseSettings, OfficeSettings, TelegramSettings
from storage.repositories import Units

DEMO_UNITS = [{"building": b, "unit": f"{floor}{n:02d}", "floor": str(floor)}
              for b in ("A", "B") for floor in range(1, 13) for n in (1, 2)]

DEMO_PHONE = "+8613800138000"
HELP = """Type as the resident would. Also:
  1, 2, …          press a button under the bot's last message (#1, #2 … for older ones)
  k1, k2, …        press a key of the keyboard below the input field (the menu)
  :contact         share your phone number (the "share my phone" button)
  :photo FILE…     send pictures (several files arrive as one album)
  :sticker         send a sticker
  :quit            leave the demo"""


def tiny_png(rgb: tuple[int, int, int], size: int = 8) -> bytes:
    """A small real PNG, so the demo and tests need no picture files."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


def read_file(name: str) -> bytes:
    return Path(name).expanduser().read_bytes()


def show(messages: list[SentMessage], out: Callable[[str], None]) -> None:
    for message in messages:
        label = "bot (edited)" if message.edits else "bot"
        text = (message.text or f"[{message.kind}]").replace("\n", "\n     ")
        out(f"{label}: {text}")
        number = 0
        for row in message.inline_buttons:
            cells = []
            for b in row:
                number += 1
                cells.append(f"[{number}] {b.text}")
            out("       " + "   ".join(cells))
        if message.keyboard_buttons:
            keys = [b.text for row in message.keyboard_buttons for b in row]
            out("       keyboard: " + "   ".join(f"k{i} {k}" for i, k in enumerate(keys, 1)))


class Demo:
    def __init__(self, workdir: Path, language: str, out: Callable[[str], None] = print) -> None:
        self.workdir = workdir
        self.language = language
        self.out = out

    async def run(self, scripted: bool) -> int:
        async with BotAPIEmulator() as emulator:
            settings = Settings(
                TelegramSettings(bot_token=emulator.token, telegram_api_url=emulator.base_url),
                DatabaseSettings(database_url=f"sqlite+aiosqlite:///{self.workdir / 'demo.db'}"),
                OfficeSettings(media_dir=self.workdir / "media", emergency_phone="+86 10 8888 0000",
                               default_language="en"),
            )
            desk = ResidentDesk(settings)
            await desk.prepare()
            async with desk.db.transaction() as session:
                if not await Units(session).any_loaded():
                    await Units(session).import_rows(DEMO_UNITS)
            polling = asyncio.create_task(desk.run(handle_signals=False, polling_timeout=1))
            user = emulator.user(1001, "Li Wei", language_code=self.language)
            chat = ChatClient(emulator, user, desk.wait_handled)
            try:
                return await (self.script(chat) if scripted else self.interactive(chat))
            finally:
                await desk.stop()
                await polling

    async def step(
        self, said: str, action: Callable[[], Awaitable[list[SentMessage]]]
    ) -> list[SentMessage]:
        self.out(f"\nyou: {said}")
        messages = await action()
        show(messages, self.out)
        return messages

    async def script(self, chat: ChatClient) -> int:
        """The whole journey: register, report with an album, see the ticket."""
        await self.step("/start", lambda: chat.send("/start"))
        await self.step("Li Wei", lambda: chat.send("Li Wei"))
        await self.step("(shares phone)", lambda: chat.share_contact("+8613800138000"))
        await self.step("(presses A)", lambda: chat.click("A"))
        await self.step("1202", lambda: chat.send("1202"))
        await self.step(chat.keyboard[0], lambda: chat.send(chat.keyboard[0]))
        await self.step("(presses Water & plumbing)", lambda: chat.click("rp:cat:water"))
        await self.step("The kitchen ceiling leaks since this morning, water drips on the floor.",
                        lambda: chat.send("The kitchen ceiling leaks since this morning, "
                                          "water drips on the floor."))
        photos = [tiny_png(c) for c in ((200, 30, 30), (30, 200, 30), (30, 30, 200))]
        await self.step("(sends an album of 3 photos)", lambda: chat.send_album(photos))
        await self.step("(presses Done)", lambda: chat.click("rp:done"))
        await self.step("(presses Urgent)", lambda: chat.click("rp:prio:urgent"))
        confirmed = await self.step("(presses Confirm)", lambda: chat.click("✅ Confirm"))
        await self.step(chat.keyboard[1], lambda: chat.send(chat.keyboard[1]))
        await self.step("(opens the ticket)", lambda: chat.click(chat.last_with_buttons
                                                                 .inline_buttons[0][0].text))
        if not any("No." in (m.text or "") or "编号" in (m.text or "") for m in confirmed):
            self.out("\nThe report was not confirmed; something is wrong.")
            return 1
        self.out("\nDemo finished: the report is stored with its photos in "
                 f"{self.workdir}.")
        return 0

    async def interactive(self, chat: ChatClient) -> int:
        self.out(HELP)
        await self.step("/start", lambda: chat.send("/start"))
        while True:
            try:
                line = (await asyncio.to_thread(input, "\nyou> ")).strip()
            except (EOFError, KeyboardInterrupt):
                return 0
            try:
                await self.interpret(chat, line)
            except SystemExit:
                return 0
            except (KeyError, IndexError, AssertionError, OSError, ValueError) as error:
                self.out(f"(demo) {error}")

    async def interpret(self, chat: ChatClient, line: str) -> None:
        if line in (":quit", ":q"):
            raise SystemExit
        if line == ":help":
            self.out(HELP)
            return
        last = chat.messages[-1] if chat.messages else None
        if line.startswith("#") or (line.isdigit() and last is not None and last.inline_buttons
                                    and 1 <= int(line) <= sum(map(len, last.inline_buttons))):
            buttons = [b for row in chat.last_with_buttons.inline_buttons for b in row]
            button = buttons[int(line.lstrip("#")) - 1]
            messages = await chat.click(button.callback_data or button.text)
        elif line[:1] == "k" and line[1:].isdigit():
            key = chat.keyboard_buttons[int(line[1:]) - 1]
            messages = await (chat.share_contact(DEMO_PHONE) if key.request_contact
                              else chat.send(key.text))
        elif line == ":contact":
            messages = await chat.share_contact(DEMO_PHONE)
        elif line == ":sticker":
            messages = await chat.send_sticker()
        elif line.startswith(":photo"):
            files = [await asyncio.to_thread(read_file, name) for name in shlex.split(line)[1:]]
            files = files or [tiny_png((120, 120, 200))]
            messages = await (chat.send_album(files) if len(files) > 1
                              else chat.send_photo(files[0]))
        elif line:
            messages = await chat.send(line)
        else:
            return
        show(messages, self.out)


def main(scripted: bool, language: str = "en") -> int:
    with tempfile.TemporaryDirectory(prefix="residesk-demo-") as workdir:
        try:
            return asyncio.run(Demo(Path(workdir), language).run(scripted))
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main("--script" in sys.argv))
