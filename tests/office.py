"""The staff group around one running bot, for the tests of the office's side: its people,
the resident, and tickets worked to a given step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import select

from bot.app import ResidentDesk
from bot.emulator import BotAPIEmulator, SentMessage
from bot.emulator.chat import GroupMember
from storage.models import OutboxMessage, Ticket
from tests.chats import file_report, register
from tests.conftest import Harness
from tests.records import tickets_in

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

    async def all_sent(self, within: float = 10.0) -> None:
        """Wait until the notifier has marked everything sent (and linked what it sent to its
        ticket: a reply to a message is matched through that link)."""
        for _ in range(int(within / 0.02)):
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


async def investigating(office: Office) -> None:
    """A new ticket, acknowledged and under investigation."""
    await office.new_ticket()
    agent = office.agent
    await agent.click("Acknowledge", office.card())
    await office.settle(lambda: "Status: acknowledged" in office.card_text())
    await agent.click("Investigation", office.card())
    await agent.click("Cancel", office.question(agent))
    await office.settle(lambda: "Status: under investigation" in office.card_text())


async def resolved(office: Office) -> None:
    """A new ticket worked through to "resolved" (acknowledged, investigated, resolved)."""
    await investigating(office)
    agent = office.agent
    await agent.click("Resolve", office.card())
    await agent.click("Mediation", office.question(agent))
    await agent.send("We spoke with the neighbour about the noise.")
    await agent.click("Skip", office.question(agent))
    await office.settle(lambda: "has been resolved" in office.resident.last_text)


async def resolved_and_confirmed(office: Office) -> Ticket:
    """A ticket worked through to "resolved", and the resident's "✅ Yes" closing it."""
    await resolved(office)
    await office.resident.click("✅ Yes", office.resident.last)
    assert "Glad it is fixed" in office.resident.last_text
    ticket = await office.ticket()
    assert ticket.status == "closed" and ticket.closed_at is not None
    return ticket


# files as residents send them (their first bytes are what the checks read)
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
OGG = b"OggS\x00\x02" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 64


def evidence_posts(office: Office, card: SentMessage) -> list[SentMessage]:
    return [m for m in office.emulator.messages(STAFF_CHAT)
            if m.file_id and m.reply_to_message_id == card.message_id]
