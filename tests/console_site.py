"""The office console served for real: the bot polling the emulator and `residesk serve`'s
HTTP application (with /console/) on a free port, a staff group with an agent and a
manager, and a resident — for the console's HTTP tests and its browser tests."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.app import ResidentDesk
from bot.cli import add_staff
from bot.emulator import BotAPIEmulator, SentMessage
from bot.emulator.chat import ChatClient, GroupMember
from bot.handled import HandledUpdates
from bot.settings import ConsoleSettings
from storage.models import OutboxMessage, Ticket, utcnow
from storage.repositories import StaffMembers
from tests.chats import file_report, register
from tests.conftest import Harness
from tests.processes import free_port
from tickets.inputs import Intake
from tickets.service import TicketService
from web.app import listening, make_app

STAFF_CHAT = -100888
AGENT, MANAGER, OUTSIDER = 601, 602, 699
RESIDENT = 1101


class Site:
    """One running replica with its console, and the people around it."""

    def __init__(self, emulator: BotAPIEmulator, database_url: str, media_dir: Path,
                 transport: str = "aiogram") -> None:
        self.emulator = emulator
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        emulator.add_group(STAFF_CHAT, "Office staff")
        harness = Harness(emulator, database_url, media_dir, transport=transport,
                          staff_chat_id=STAFF_CHAT)
        self.settings = type(harness.settings)(
            harness.settings.telegram, harness.settings.database, harness.settings.office,
            ConsoleSettings(console_url=f"{self.base}/console"))
        self.handled = HandledUpdates()
        self.desk = ResidentDesk(self.settings, on_handled=self.handled)
        self.app = make_app(self.desk)
        self.task: asyncio.Task[None] | None = None
        self.agent = GroupMember(emulator, emulator.user(AGENT, "Agent Li"), STAFF_CHAT,
                                 self.handled.wait)
        self.manager = GroupMember(emulator, emulator.user(MANAGER, "Manager Zhao"),
                                   STAFF_CHAT, self.handled.wait)
        self.resident = ChatClient(emulator, emulator.user(RESIDENT, "Wang Fang",
                                                           language_code="en"),
                                   self.handled.wait)

    async def start(self) -> None:
        self.task = asyncio.create_task(self.desk.run(
            handle_signals=False, polling_timeout=1,
            alongside=listening(self.app, "127.0.0.1", self.port)))
        await self.emulator.wait_for(lambda: any(m == "getUpdates"
                                                 for m, _ in self.emulator.requests[-3:]), 20)
        async with self.desk.db.transaction() as session:
            await add_staff(session, AGENT, "Agent Li", "agent")
            await add_staff(session, MANAGER, "Manager Zhao", "manager")

    async def stop(self) -> None:
        await self.desk.stop()
        assert self.task is not None
        await self.task

    # --- Telegram's side ----------------------------------------------------------------
    async def settle(self, what: Callable[[], bool], within: float = 10.0) -> None:
        await self.emulator.wait_for(what, within)

    async def new_ticket(self, description: str | None = None) -> Ticket:
        """The resident registers and reports; returns the ticket once its card is posted."""
        await register(self.resident, "Wang Fang", "2-301")
        if description is None:
            await file_report(self.resident)
        else:
            await file_report(self.resident, description)
        await self.settle(lambda: bool(self.card_text()))
        async with self.desk.db.transaction() as session:
            ticket = await session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
            assert ticket is not None
            return ticket

    async def more_tickets(self) -> None:
        """A few complaints taken by phone, one of them overdue: a queue worth a picture."""
        calls = [("Zhang Min", "+8613900139001", "1-502", "sanitation",
                  "Rubbish left in the stairwell of building 1 since Monday.", "hotline"),
                 ("Liu Yang", "+8613900139002", "3-1101", "security",
                  "The gate of the underground garage stays open at night.", "walk_in"),
                 ("Zhao Lei", "+8613900139003", "2-203", "facility",
                  "The lift of building 2 stops between floors 5 and 6.", "email"),
                 ("Sun Li", "+8613900139004", "1-101", "water",
                  "Water pressure is very low in the mornings.", "hotline")]
        async with self.desk.db.transaction() as session:
            staff = await StaffMembers(session).by_user(AGENT)
            assert staff is not None
            tickets = TicketService(session, staff_chat_id=STAFF_CHAT,
                                    timing=self.desk.engine.office.timing)
            for index, (name, phone, unit, category, text, channel) in enumerate(calls):
                ticket, _created = await tickets.take_intake(staff, Intake(
                    f"picture-{index}", name, phone, unit, category, text, channel,
                    priority="urgent" if category == "facility" else "normal"))
                if category == "sanitation":  # an overdue one
                    ticket.ack_due_at = utcnow() - timedelta(hours=3, minutes=20)

    def _cards(self, number: str | None) -> list[SentMessage]:
        head = f"Ticket No. {number}" if number else "Ticket No."
        return [m for m in self.emulator.messages(STAFF_CHAT)
                if head in (m.text or "") and m.inline_buttons]

    def card(self, number: str | None = None) -> SentMessage:
        """The latest ticket card in the staff group (of ticket `number`, if given)."""
        cards = self._cards(number)
        assert cards, "no card in the staff group"
        return cards[-1]

    def card_text(self, number: str | None = None) -> str:
        """Its text, or "" while the notifier has not posted it yet."""
        cards = self._cards(number)
        return (cards[-1].text or "") if cards else ""

    def resident_texts(self) -> list[str]:
        return [m.text or "" for m in self.resident.messages]

    async def all_sent(self) -> None:
        for _ in range(500):
            async with self.desk.db.transaction() as session:
                if not await session.scalar(select(OutboxMessage.id).where(
                        OutboxMessage.state == "pending")):
                    return
            await asyncio.sleep(0.02)
        raise AssertionError("the outbox did not drain")

    async def sign_in_link(self, user_id: int = MANAGER) -> str:
        """What a staff member gets for /console in a private chat: the one-time link."""
        chat = ChatClient(self.emulator, self.emulator.user(user_id, "Staff"),
                          self.handled.wait)
        await chat.send("/console")
        found = re.search(r"http://\S+/console/sign-in/\S+", chat.last_text)
        assert found, chat.last_text
        return found.group(0)


@contextlib.asynccontextmanager
async def browser_of(site: Site, user_id: int | None = None) -> AsyncIterator[Browser]:
    """A person's browser, signed in through a one-time link (None: signed out)."""
    browser = Browser(site)
    try:
        if user_id is not None:
            await browser.sign_in_with_link(user_id)
        yield browser
    finally:
        await browser.close()


class Browser:
    """An HTTP client with its own cookies, as one person's browser (no script)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          headers={"Accept": "text/html,*/*;q=0.8"})
        self.csrf = ""

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str]:
        async with self.http.get(self._url(path), allow_redirects=False, **kwargs) as answer:
            text = await answer.text()
            if found := re.search(r'name="csrf" value="([^"]+)"', text):
                self.csrf = found.group(1)
            return answer.status, text

    async def post(self, path: str, data: dict[str, str] | None = None, *,
                   csrf: bool = True, **kwargs: Any) -> tuple[int, str, str]:
        """(status, body, Location) of a form posted as a browser posts it."""
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf", self.csrf)
        async with self.http.post(self._url(path), data=form, allow_redirects=False,
                                  **kwargs) as answer:
            return answer.status, await answer.text(), answer.headers.get("Location", "")

    async def sign_in_with_link(self, user_id: int = MANAGER) -> None:
        link = await self.site.sign_in_link(user_id)
        status, _body, location = await self.post(link, csrf=False)
        assert status == 303, status
        assert location.endswith("/console/")
        await self.get("/console/")

    async def sign_in_as_mini_app(self, user_id: int = MANAGER) -> int:
        init_data = self.site.emulator.web_app_init_data(self.site.emulator.user(user_id,
                                                                                  "Staff"))
        status, _body, _location = await self.post("/console/sign-in/telegram",
                                                   {"init_data": init_data}, csrf=False)
        if status == 200:
            await self.get("/console/")
        return status

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.site.base}{path}"
