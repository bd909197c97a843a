"""The office around one running bot: its staff group, an agent and a manager, a resident
(the `office` fixture in conftest.py starts it, on each framework and each database)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.app import ResidentDesk
from bot.emulator import BotAPIEmulator, SentMessage
from bot.emulator.chat import GroupMember
from storage.models import OutboxMessage, Ticket
from tests.chats import file_report, register
from tests.records import tickets_in

if TYPE_CHECKING:
    from tests.conftest import Harness

STAFF_CHAT = -100777
AGENT, MANAGER = 501, 502


class Office:
    """The staff group, its people and the resident, around one running bot."""

    def __init__(self, harness: Harness, emulator: BotAPIEmulator, url: str) -> None:
        self.harness, self.emulator, self.url = harness, emulator, url
        self.agent = GroupMember(emulator, emulator.user(AGENT, "Agent Li"), STAFF_CHAT,
                                 harness.wait)
        self.manager = GroupMember(emulator, emulator.user(MANAGER, "Manager Zhao"), STAFF_CHAT,
                                   harness.wait)
        self.resident = harness.chat(emulator.user(1001, "Wang Fang"))

    @property
    def desk(self) -> ResidentDesk:
        assert self.harness.desk is not None
        return self.harness.desk

    async def settle(self, what: Callable[[], bool], within: float = 10.0) -> None:
        """Wait for the notifier (it works in the background)."""
        await self.emulator.wait_for(what, within)

    def card(self) -> SentMessage:
        cards = [m for m in self.emulator.messages(STAFF_CHAT) if "Ticket No." in (m.text or "")
                 and m.inline_buttons]
        assert cards, "no card in the staff group"
        return cards[-1]

    async def all_sent(self) -> None:
        """Wait until the notifier has marked everything sent (and linked what it sent to its
        ticket: a reply to a message is matched through that link)."""
        for _ in range(500):
            async with self.desk.db.transaction() as session:
                if not await session.scalar(select(OutboxMessage.id).where(
                        OutboxMessage.state == "pending")):
                    return
            await asyncio.sleep(0.02)
        raise AssertionError("the outbox did not drain")

    @staticmethod
    def recent(member: GroupMember, count: int = 4) -> str:
        """The bot's last few messages in the group (a notice may come after an answer)."""
        return "\n".join(m.text or "" for m in member.messages[-count:])

    @staticmethod
    def question(member: GroupMember) -> SentMessage:
        """The member's latest question from the bot (notices may arrive after it)."""
        return member.last_with_text(f"{member.user.first_name}, ")

    def card_text(self) -> str:
        """The card's text, or "" while the notifier has not posted it yet."""
        cards = [m for m in self.emulator.messages(STAFF_CHAT) if "Ticket No." in (m.text or "")
                 and m.inline_buttons]
        return (cards[-1].text or "") if cards else ""

    def resident_texts(self) -> list[str]:
        return [m.text or "" for m in self.resident.messages]

    async def ticket(self) -> Ticket:
        [ticket] = await tickets_in(self.url)
        return ticket

    async def new_ticket(self) -> Ticket:
        await register(self.resident, "Wang Fang", "2-301")
        await file_report(self.resident)
        await self.settle(lambda: any("Ticket No." in (m.text or "")
                                      for m in self.emulator.messages(STAFF_CHAT)))
        return await self.ticket()
