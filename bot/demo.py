"""`residesk demo`: the emulator, the real bot (aiogram or python-telegram-bot over HTTP,
SQLite) and a terminal chat."""

from __future__ import annotations

import asyncio
import shlex
import socket
import struct
import sys
import tempfile
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import ResidentDesk, Settings
from bot.cli import add_staff
from bot.emulator import BotAPIEmulator, SentMessage
from bot.emulator.chat import ChatClient, GroupMember
from bot.handled import HandledUpdates
from bot.settings import ConsoleSettings, DatabaseSettings, OfficeSettings, TelegramSettings
from conversations.keyboards import Callback, Prefix
from storage.models import Ticket, utcnow
from storage.repositories import Outbox, StaffMembers, Units
from storage.sign_in import SignInLinks
from tickets.privacy import BUILT_IN_VERSION

DEMO_UNITS = [{"building": b, "unit": f"{floor}{n:02d}", "floor": str(floor)}
              for b in ("A", "B") for floor in range(1, 13) for n in (1, 2)]

DEMO_PHONE = "+8613800138000"
HELP = """You are the resident; `:staff` makes you the office's manager in the staff group,
`:resident` brings you back. Type as that person would. Also:
  1, 2, …          press a button under the bot's last message with buttons (#1, #2 …)
  :reply TEXT      staff: reply to the latest ticket card (reaches the resident);
                   resident: reply to the office's latest message
  k1, k2, …        press a key of the keyboard below the input field (the menu)
  :contact         share your phone number (the "share my phone" button)
  :photo FILE…     send pictures (several files arrive as one album)
  :sticker         send a sticker
  :console         a new one-time sign-in link to the office console (in your browser)
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
                link = b.url or b.web_app_url
                cells.append(f"[{number}] {b.text}" + (f" <{link}>" if link else ""))
            out("       " + "   ".join(cells))
        if message.keyboard_buttons:
            keys = [b.text for row in message.keyboard_buttons for b in row]
            out("       keyboard: " + "   ".join(f"k{i} {k}" for i, k in enumerate(keys, 1)))


STAFF_CHAT = -1001000
STAFF_USER, STAFF_NAME = 2001, "Li Na"


def tap(client: ChatClient, prefix: str, target: Callable[[], SentMessage] | None = None
        ) -> Callable[[], Awaitable[list[SentMessage]]]:
    """Press the button whose data starts with `prefix` on `target()` (default: the client's
    latest message), whatever language its label is in."""
    async def press() -> list[SentMessage]:
        message = target() if target is not None else client.last
        return await client.click(data(message, prefix), message)
    return press


def data(message: SentMessage, prefix: str) -> str:
    """The callback data of the message's button whose data starts with `prefix`."""
    for row in message.inline_buttons:
        for button in row:
            if (button.callback_data or "").startswith(prefix):
                return button.callback_data or ""
    raise KeyError(f"no button {prefix}… on message {message.message_id}")


class Demo:
    """The resident's chat and the office's staff group side by side; you act in one at a
    time (`:staff` / `:resident`) and see what arrives in both."""

    def __init__(self, workdir: Path, language: str, out: Callable[[str], None] = print,
                 transport: str | None = None) -> None:
        self.workdir = workdir
        self.language = language
        self.transport = transport
        self.out = out
        self.seen: set[tuple[int, int, str | None, int]] = set()

    def _telegram(self, emulator: BotAPIEmulator) -> TelegramSettings:
        telegram = TelegramSettings(bot_token=SecretStr(emulator.token),
                                    telegram_api_url=emulator.base_url)
        if self.transport:  # else TRANSPORT from the environment, or aiogram
            telegram = telegram.model_copy(update={"transport": self.transport})
        return telegram

    async def run(self, scripted: bool) -> int:
        from web.app import listening, make_app  # the HTTP face: the console on localhost

        port = free_port()
        self.console = f"http://127.0.0.1:{port}/console"
        async with BotAPIEmulator() as emulator:
            emulator.add_group(STAFF_CHAT, "Office staff")
            settings = Settings(
                self._telegram(emulator),
                DatabaseSettings(database_url=f"sqlite+aiosqlite:///{self.workdir / 'demo.db'}"),
                OfficeSettings(media_dir=self.workdir / "media", emergency_phone="+86 10 8888 0000",
                               default_language="en", staff_chat_id=STAFF_CHAT,
                               weekly_report_day="off"),  # a fresh office: nothing to report
                ConsoleSettings(console_url=self.console),
            )
            handled = HandledUpdates()
            desk = ResidentDesk(settings, on_handled=handled)
            await desk.prepare()
            async with desk.db.transaction() as session:
                if not await Units(session).any_loaded():
                    await Units(session).import_rows(DEMO_UNITS)
                await add_staff(session, STAFF_USER, STAFF_NAME, "manager")
            polling = asyncio.create_task(desk.run(
                handle_signals=False, polling_timeout=1,
                alongside=listening(make_app(desk), "127.0.0.1", port)))
            self.desk, self.emulator = desk, emulator
            await self.show_console_link()
            resident = ChatClient(emulator, emulator.user(1001, "Li Wei",
                                                          language_code=self.language),
                                  handled.wait)
            staff = GroupMember(emulator, emulator.user(STAFF_USER, STAFF_NAME),
                                STAFF_CHAT, handled.wait)
            try:
                return await (self.script(resident, staff) if scripted
                              else self.interactive(resident, staff))
            finally:
                await desk.stop()
                await polling

    async def sign_in_link(self) -> str:
        """A one-time sign-in link for the demo's manager, as /console gives one."""
        async with self.desk.db.transaction() as session:
            staff = await StaffMembers(session).by_user(STAFF_USER)
            assert staff is not None
            token = await SignInLinks(session).issue(staff, utcnow())
        return f"{self.console}/sign-in/{token}"

    async def show_console_link(self) -> None:
        self.out(f"The office console runs at {self.console}/ — open this one-time link in "
                 f"your browser to sign in as {STAFF_NAME} (valid 10 minutes; :console gives "
                 f"another):\n  {await self.sign_in_link()}")

    async def console_queue(self, number: str) -> bool:
        """Sign in to the console as the manager and look for the ticket in its queue."""
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(await self.sign_in_link()) as signed_in:
                if signed_in.status != 200:
                    return False
            async with http.get(f"{self.console}/", params={"q": number}) as queue:
                page = await queue.text()
        return queue.status == 200 and f'data-number="{number}"' in page

    async def settle(self) -> None:
        """Let the notifier deliver what the last step queued (it works in the background):
        rows it holds while sending count too, or an edit would show one step late."""
        for _ in range(100):
            async with self.desk.db.transaction() as session:
                waiting = await Outbox(session).unsent(utcnow())
            if not waiting:
                return
            self.desk.notifier.wake.set()
            await asyncio.sleep(0.05)

    def news(self) -> None:
        """Print what is new or edited in both chats since last time."""
        for chat_id, label in ((1001, "resident chat"), (STAFF_CHAT, "staff group")):
            fresh = []
            for message in self.emulator.messages(chat_id):
                key = (chat_id, message.message_id, message.text, message.edits)
                if key not in self.seen:
                    self.seen.add(key)
                    fresh.append(message)
            if fresh:
                self.out(f"  — {label} —")
                show(fresh, self.out)

    async def step(self, said: str, action: Callable[[], Awaitable[object]]) -> None:
        self.out(f"\n{said}")
        await action()
        await self.settle()
        self.news()

    async def script(self, chat: ChatClient, staff: GroupMember) -> int:
        """A whole ticket: register, report with an album, the office works it, survey."""
        you, office = "resident:", f"staff ({STAFF_NAME}):"
        await self.step(f"{you} /start", lambda: chat.send("/start"))
        agree = Callback(Prefix.REGISTRATION, "agree", BUILT_IN_VERSION).pack()
        await self.step(f"{you} (presses I agree under the privacy notice)",
                        lambda: chat.click(agree))
        await self.step(f"{you} Li Wei", lambda: chat.send("Li Wei"))
        await self.step(f"{you} (shares phone)", lambda: chat.share_contact(DEMO_PHONE))
        await self.step(f"{you} (presses A)", lambda: chat.click("A"))
        await self.step(f"{you} 1202", lambda: chat.send("1202"))
        await self.step(f"{you} {chat.keyboard[0]}", lambda: chat.send(chat.keyboard[0]))
        await self.step(f"{you} (presses Water & plumbing)", lambda: chat.click("rp:cat:water"))
        leak = "The kitchen ceiling leaks since this morning, water drips on the floor."
        await self.step(f"{you} {leak}", lambda: chat.send(leak))
        await self.step(f"{you} (presses The ceiling)", lambda: chat.click("rp:ans:where.ceiling"))
        await self.step(f"{you} (presses Yes: water still runs)",
                        lambda: chat.click("rp:ans:running.yes"))
        photos = [tiny_png(c) for c in ((200, 30, 30), (30, 200, 30), (30, 30, 200))]
        await self.step(f"{you} (sends an album of 3 photos)", lambda: chat.send_album(photos))
        await self.step(f"{you} (presses Done)", lambda: chat.click("rp:done"))
        await self.step(f"{you} (presses Urgent)", lambda: chat.click("rp:prio:urgent"))
        await self.step(f"{you} (presses Confirm)",
                        tap(chat, "rp:confirm:", lambda: chat.last_with_buttons))

        def card() -> SentMessage:
            return next(m for m in reversed(staff.messages) if m.inline_buttons
                        and "sf:" in (m.inline_buttons[0][0].callback_data or ""))

        await self.step(f"{office} (presses Acknowledge)", tap(staff, "sf:ack:", card))
        await self.step(f"{office} (presses Investigation)", tap(staff, "sf:inv:", card))
        await self.step(f"{office} (presses Today)", tap(staff, "sd:today:"))
        await self.step(f"{office} (presses Me)", tap(staff, "sd:me:"))
        found = "A cracked drain pipe in flat 1302 above leaks into the ceiling."
        await self.step(f"{office} {found}", lambda: staff.send(found))
        await self.step(f"{office} The resident of 1302.", lambda: staff.send(
            "The resident of 1302."))
        await self.step(f"{office} (presses Medium)", tap(staff, "sd:medium:"))
        await self.step(f"{office} (presses Facility or equipment)",
                        tap(staff, "sd:facility:"))
        await self.step(f"{office} A cracked pipe joint", lambda: staff.send(
            "A cracked pipe joint"))
        await self.step(f"{office} (replies to the card)", lambda: staff.reply(
            "The plumber comes tomorrow at 10:00. Please keep the kitchen accessible.", card()))
        await self.step(f"{office} (presses Resolve)", tap(staff, "sf:res:", card))
        await self.step(f"{office} (presses Repair)", tap(staff, "sd:repair:"))
        done = "The plumber replaced the pipe joint and dried the ceiling."
        await self.step(f"{office} {done}", lambda: staff.send(done))
        measures = "All joints of that riser will be checked next month."
        await self.step(f"{office} {measures}", lambda: staff.send(measures))
        await self.step(f"{office} (presses In a week)", tap(staff, "sd:7d:"))
        await self.step(f"{you} (presses ✅ Yes)", tap(chat, "sv:yes:"))
        await self.step(f"{you} (presses 5⭐)", tap(chat, "sv:r5:"))
        await self.step(f"{you} Quick and friendly, thank you!",
                        lambda: chat.send("Quick and friendly, thank you!"))
        closed = any("closed" in (m.text or "") or "关闭" in (m.text or "")
                     or "закрыт" in (m.text or "") for m in chat.messages)
        if not closed:
            self.out("\nThe ticket did not reach the end; something is wrong.")
            return 1
        async with self.desk.db.reading() as session:
            number = await session.scalar(select(Ticket.number).order_by(Ticket.id.desc()))
        self.out(f"\nconsole: GET {self.console}/?q={number}")
        if not number or not await self.console_queue(number):
            self.out("The console's queue does not show the ticket; something is wrong.")
            return 1
        self.out(f"console: the queue shows No. {number}, closed.")
        self.out("\nDemo finished: the ticket went from report to survey and is closed, and "
                 f"the console's queue shows it; its data is in {self.workdir}.")
        return 0

    async def interactive(self, resident: ChatClient, staff: GroupMember) -> int:
        self.out(HELP)
        chat: ChatClient = resident
        await self.step("you (resident): /start", lambda: resident.send("/start"))
        while True:
            where = "staff" if chat is staff else "resident"
            try:
                line = (await asyncio.to_thread(input, f"\n{where}> ")).strip()
            except (EOFError, KeyboardInterrupt):
                return 0
            if line in (":staff", ":resident"):
                chat = staff if line == ":staff" else resident
                self.out("(you are now " + ("the office's " + STAFF_NAME + " in the staff group"
                                            if chat is staff else "the resident") + ")")
                continue
            try:
                await self.interpret(chat, line)
                await self.settle()
                self.news()
            except SystemExit:
                return 0
            except (KeyError, IndexError, AssertionError, OSError, ValueError,
                    StopIteration) as error:
                self.out(f"(demo) {error}")

    async def interpret(self, chat: ChatClient, line: str) -> None:
        if line in (":quit", ":q"):
            raise SystemExit
        if line == ":help":
            self.out(HELP)
            return
        if line == ":console":
            await self.show_console_link()
            return
        last = chat.messages[-1] if chat.messages else None
        if line.startswith("#") or (line.isdigit() and last is not None and last.inline_buttons
                                    and 1 <= int(line) <= sum(map(len, last.inline_buttons))):
            target = chat.last_with_buttons
            buttons = [b for row in target.inline_buttons for b in row]
            button = buttons[int(line.lstrip("#")) - 1]
            await chat.click(button.callback_data or button.text, target)
        elif line.startswith(":reply "):
            await chat.reply(line.removeprefix(":reply ").strip(), self.card(chat))
        elif line[:1] == "k" and line[1:].isdigit():
            key = chat.keyboard_buttons[int(line[1:]) - 1]
            await (chat.share_contact(DEMO_PHONE) if key.request_contact
                   else chat.send(key.text))
        elif line == ":contact":
            await chat.share_contact(DEMO_PHONE)
        elif line == ":sticker":
            await chat.send_sticker()
        elif line.startswith(":photo"):
            files = [await asyncio.to_thread(read_file, name) for name in shlex.split(line)[1:]]
            files = files or [tiny_png((120, 120, 200))]
            await (chat.send_album(files) if len(files) > 1 else chat.send_photo(files[0]))
        elif line:
            await chat.send(line)

    @staticmethod
    def card(chat: ChatClient) -> SentMessage:
        """The latest ticket card in the staff group (or, for the resident, the latest
        message from the office)."""
        for message in reversed(chat.messages):
            if message.inline_buttons and "sf:" in (
                    message.inline_buttons[0][0].callback_data or ""):
                return message
            if chat.chat_id > 0 and "✉️" in (message.text or ""):
                return message
        raise ValueError("nothing to reply to yet")


def main(scripted: bool, language: str = "en", transport: str | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="residesk-demo-") as workdir:
        try:
            return asyncio.run(Demo(Path(workdir), language, transport=transport).run(scripted))
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main("--script" in sys.argv))
