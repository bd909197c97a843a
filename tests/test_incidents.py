"""One outage, many residents: a ticket marked an incident for its building takes the reports
that follow (one card, each resident told the office knows), and its resolution reaches each
resident once, with their own survey. The real bot, both frameworks, both databases."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import ResidentDesk
from bot.emulator import BotAPIEmulator, SentMessage
from bot.emulator.chat import ChatClient
from storage.db import Database
from storage.models import (
    Incident,
    OutboxMessage,
    Resident,
    Staff,
    Survey,
    Ticket,
    Timer,
    Unit,
    utcnow,
)
from storage.repositories import Units
from tests.chats import register, report_to_files
from tests.conftest import Harness
from tests.office import STAFF_CHAT, Office
from tests.records import setup
from tickets import incidents
from tickets.inputs import Resolution, Submission, TicketError
from tickets.scope import Scope, ScopeKind
from tickets.service import TicketService

RESIDENTS = 29  # and the first: thirty residents of one building, each in their own chat


async def report_water(chat: ChatClient, text: str) -> None:
    await report_to_files(chat, "Water & plumbing", text)
    for button in ("Skip", "Normal", "Confirm"):  # no files
        await chat.click(button)


def cards(office: Office) -> list[str]:
    return [m.text or "" for m in office.emulator.messages(STAFF_CHAT)
            if "Ticket No." in (m.text or "") and m.inline_buttons]


async def test_reports_of_one_outage_are_one_incident(office: Office) -> None:
    async with office.desk.db.transaction() as session:
        await Units(session).import_rows(
            [{"building": "2", "unit": f"{n:02d}01", "floor": str(n)}
             for n in range(1, RESIDENTS + 2)])
    first = office.resident
    await register(first, "Wang Fang", "0101")
    await report_water(first, "No water in the whole building since seven this morning.")
    await office.settle(lambda: len(cards(office)) == 1)
    agent = office.agent
    await agent.click("Incident", office.card())
    await agent.click("This building", office.question(agent))
    assert "Marked as an incident for building 2" in office.recent(agent)
    await agent.click("Acknowledge", office.card())
    await office.settle(lambda: "Incident for building 2: 1 reports from 1 residents"
                        in office.card_text())

    others = [office.harness.chat(office.emulator.user(2000 + n, f"R{n}"))
              for n in range(RESIDENTS)]
    for n, chat in enumerate(others, start=2):
        await register(chat, f"Resident {n}", f"{n:02d}01", phone=f"+86139000000{n:02d}")

    async def reports(n: int, chat: ChatClient) -> None:
        await report_water(chat, f"The tap in flat 2-{n:02d}01 is dry.")
        assert "We already know about this problem" in (chat.messages[-2].text or "")

    # all within a minute, as an outage brings them (the group takes 20 posts a minute)
    await asyncio.gather(*(reports(n, chat) for n, chat in enumerate(others, start=2)))
    await office.settle(lambda: f"{RESIDENTS + 1} reports from {RESIDENTS + 1} residents"
                        in office.card_text(), within=90)
    await office.all_sent(within=90)  # (what the group's 20 a minute held back)
    assert len(cards(office)) == 1, "one card for the incident, none for the reports"
    thread = [m.text or "" for m in office.emulator.messages(STAFF_CHAT)]
    for n in range(2, RESIDENTS + 2):  # each report once, on its own or joined with others
        assert sum(t.count(f"The tap in flat 2-{n:02d}01 is dry.") for t in thread) == 1
    await office.settle(lambda: f"{RESIDENTS + 1} reports from {RESIDENTS + 1} residents"
                        in office.card_text())

    # one was linked by mistake (their tap is dry for another reason): unlinked by hand
    lead_card = office.card()

    def lead_text() -> str:
        return next(m.text or "" for m in office.emulator.messages(STAFF_CHAT)
                    if m.message_id == lead_card.message_id)

    mistaken = others.pop()
    dry = f"The tap in flat 2-{RESIDENTS + 1:02d}01 is dry."
    post = next(m for m in office.emulator.messages(STAFF_CHAT) if dry in (m.text or ""))
    joined = re.search(r"No\. (\S+), [^\n]*" + re.escape(dry), post.text or "")
    await agent.click("↩️ A ticket of its own" if "reports the same" in (post.text or "")
                      else f"↩️ {joined[1] if joined else '?'} on its own", post)
    await office.settle(lambda: len(cards(office)) == 2)
    await office.settle(lambda: f"{RESIDENTS} reports from {RESIDENTS} residents"
                        in lead_text())

    await agent.click("Investigation", lead_card)
    await agent.click("Cancel", office.question(agent))
    await office.settle(lambda: "Status: under investigation" in lead_text())
    await agent.click("Resolve", lead_card)
    await agent.click("Repair", office.question(agent))
    await agent.send("The pump in the basement was replaced; water is back.")
    await agent.click("Skip", office.question(agent))
    await office.all_sent()
    for chat in (first, *others):
        texts = [m.text or "" for m in chat.messages]
        assert sum("has been resolved" in t for t in texts) == 1, texts
        assert sum("under investigation" in t for t in texts) == 1, texts
        assert "The pump in the basement was replaced" in chat.last_text
    assert not any("has been resolved" in (m.text or "") for m in mistaken.messages)
    async with office.desk.db.transaction() as session:
        statuses = Counter((await session.scalars(select(Ticket.status))).all())
        surveys = await session.scalar(select(func.count()).select_from(Survey))
    assert statuses == {"resolved": RESIDENTS, "acknowledged": 1}  # the unlinked one: its own
    assert surveys == RESIDENTS  # each resident their own
    await others[0].click("✅ Yes", others[0].last)
    assert "Glad it is fixed" in others[0].last_text


async def test_thirty_residents_hear_each_step_once_and_get_their_own_survey(
        db: Database) -> None:
    """At the service, without Telegram's pace: thirty reports of one building linked to an
    incident, one of them from a resident who reported twice; each step reaches each resident
    once; the resolution resolves them all, one survey per report."""
    agent_id, people, lead = await _building_seven_incident(db, 30)
    async with db.transaction() as session:
        units = {u.label: u for u in (await session.scalars(select(Unit))).all()}
        outsider = Resident(telegram_user_id=9999, chat_id=9999, name="Elsewhere",
                            phone="+8613900009999", unit_id=units["8-0101"].id, language="en")
        session.add(outsider)
    async with db.transaction() as session:
        service = TicketService(session, staff_chat_id=STAFF_CHAT)
        for n, person in enumerate(people[1:], start=1):
            await service.submit(await _get(session, person.id), _water(f"r{n}"))
        await service.submit(await _get(session, people[5].id), _water("again"))  # twice
        elsewhere, _ = await service.submit(await _get(session, outsider.id), _water("out"))
        assert elsewhere.incident_id is None  # another building: a ticket of its own
    async with db.transaction() as session:
        linked = (await session.scalars(select(Ticket).where(
            Ticket.incident_id.is_not(None)))).all()
        assert len(linked) == 30 and {t.status for t in linked} == {"acknowledged"}
        await session.execute(delete(OutboxMessage))  # what follows is what is counted
    async with db.transaction() as session:
        service = TicketService(session, staff_chat_id=STAFF_CHAT)
        agent = await session.get(Staff, agent_id)
        assert agent is not None
        lead_ticket = await service.tickets.get(lead.id)
        assert lead_ticket is not None
        await service.start_investigation(lead_ticket, agent)
        await service.resolve(lead_ticket, agent, Resolution("repair", "A new pump."))
    async with db.transaction() as session:
        sent = (await session.scalars(select(OutboxMessage))).all()
        told = Counter((m.chat_id, m.payload["kind"]) for m in sent if m.chat_id > 0)
        staff_posts = [m.payload["kind"] for m in sent if m.chat_id == STAFF_CHAT]
        surveys = await session.scalar(select(func.count()).select_from(Survey))
        statuses = Counter((await session.scalars(select(Ticket.status))).all())
    for person in people:
        chat = person.chat_id or 0
        assert told[(chat, "investigating")] == 1, person.name
        assert told[(chat, "resolved")] == 1, person.name
    assert (outsider.chat_id or 0, "resolved") not in told
    assert staff_posts.count("card") == 1  # the lead's, once per transaction
    assert statuses == {"resolved": 31, "new": 1} and surveys == 31


async def _get(session: AsyncSession, resident_id: int) -> Resident:
    resident = await session.get(Resident, resident_id)
    assert resident is not None
    return resident


def _water(key: str) -> Submission:
    return Submission(key, "water", "No water since this morning.")


async def test_a_withdrawn_lead_gives_each_report_its_card_back(db: Database) -> None:
    resident_id, agent_id, _manager_id = await setup(db)
    async with db.transaction() as session:
        service = TicketService(session, staff_chat_id=STAFF_CHAT)
        agent = await session.get(Staff, agent_id)
        assert agent is not None
        neighbour = Resident(telegram_user_id=77, chat_id=77, name="Li", phone="+8613900000077",
                             unit_text="2-302", language="en")
        session.add(neighbour)
        lead, _ = await service.submit(await _get(session, resident_id), _water("lead"))
        await service.declare_incident(lead, agent, Scope(ScopeKind.PROPERTY), "all")
        report, _ = await service.submit(neighbour, _water("report"))
        assert report.incident_id is not None
        await session.execute(delete(OutboxMessage))
    async with db.transaction() as session:
        service = TicketService(session, staff_chat_id=STAFF_CHAT)
        lead_ticket = await service.tickets.get(lead.id)
        assert lead_ticket is not None and lead_ticket.resident is not None
        await service.withdraw(lead_ticket.resident, lead_ticket)
    async with db.transaction() as session:
        alone = await session.get(Ticket, report.id)
        assert alone is not None and alone.incident_id is None
        assert alone.ack_due_at > alone.created_at
        cards = [m.payload for m in (await session.scalars(select(OutboxMessage))).all()
                 if m.payload["kind"] == "card"]
        assert {c["ticket_id"] for c in cards} == {lead.id, report.id}


async def test_a_report_linked_by_hand_joins_the_incident(office: Office) -> None:
    """A report sent before its outage was marked an incident: linked by hand from its card,
    its resident hears the office knows, its card gives way to a line in the lead's thread,
    and the lead's resolution reaches them once."""
    async with office.desk.db.transaction() as session:
        await Units(session).import_rows([{"building": "2", "unit": f"0{n}01", "floor": str(n)}
                                          for n in (1, 2)])
    first = office.resident
    await register(first, "Wang Fang", "0101")
    await report_water(first, "No water in the whole building since seven this morning.")
    await office.settle(lambda: len(cards(office)) == 1)
    second = office.harness.chat(office.emulator.user(2002, "Zhou Min"))
    await register(second, "Zhou Min", "0201", phone="+8613900000202")
    await report_to_files(second, "Electricity", "The water pump of the building is silent.")
    for button in ("Skip", "Normal", "Confirm"):
        await second.click(button)
    await office.settle(lambda: len(cards(office)) == 2)
    lead_card = next(m for m in office.emulator.messages(STAFF_CHAT)
                     if "2-0101" in (m.text or ""))
    report_card = office.card()
    assert "2-0201" in (report_card.text or "")

    agent = office.agent
    await agent.click("🔗 Link to incident", report_card)
    assert "No incident is open now" in (office.emulator.callback_answers[-1].get("text") or "")
    await agent.click("Incident", _now(office, lead_card))
    await agent.click("This building", office.question(agent))
    await office.settle(lambda: "Incident for building 2: 1 reports" in _text(office, lead_card))
    await agent.click("🔗 Link to incident", report_card)
    choices = agent.last_with_text("link it to which incident?")
    [[choice]] = choices.inline_buttons
    assert "Water & plumbing · building 2" in choice.text  # another category: staff judge
    await agent.click(choice.text, choices)
    assert "its resident has been told" in (agent.last_with_text("is linked to").text or "")

    await office.all_sent()
    assert sum("we already know about this problem" in (m.text or "")
               for m in second.messages) == 1
    thread = [m for m in office.emulator.messages(STAFF_CHAT)
              if "reports the same" in (m.text or "")]
    assert len(thread) == 1 and thread[0].reply_to_message_id == lead_card.message_id
    assert "The water pump of the building is silent." in (thread[0].text or "")
    assert "is linked to incident No." in _text(office, report_card)
    assert len(cards(office)) == 1, "the report's card gave way"
    await office.settle(lambda: "2 reports from 2 residents" in _text(office, lead_card))

    await agent.click("Acknowledge", _now(office, lead_card))
    await office.settle(lambda: "Status: acknowledged" in _text(office, lead_card))
    await agent.click("Investigation", _now(office, lead_card))
    await agent.click("Cancel", office.question(agent))
    await office.settle(lambda: "Status: under investigation" in _text(office, lead_card))
    await agent.click("Resolve", _now(office, lead_card))
    await agent.click("Repair", office.question(agent))
    await agent.send("The pump in the basement was replaced; water is back.")
    await agent.click("Skip", office.question(agent))
    await office.all_sent()
    texts = [m.text or "" for m in second.messages]
    assert sum("has been resolved" in t for t in texts) == 1, texts
    assert sum("taken up" in t for t in texts) == 1, texts
    assert "The pump in the basement was replaced" in second.last_text


def _now(office: Office, message: SentMessage) -> SentMessage:
    """The message as it is now (edited since it was first seen)."""
    return next(m for m in office.emulator.messages(STAFF_CHAT)
                if m.message_id == message.message_id)


def _text(office: Office, message: SentMessage) -> str:
    return _now(office, message).text or ""


async def test_linking_by_hand_refuses_what_cannot_be_linked(db: Database) -> None:
    """The lead itself, a linked or finished ticket, an incident closed meanwhile: refused,
    nothing changed. Unlinked again, a report linked by hand has its own clocks back."""
    resident_id, agent_id, manager_id = await setup(db)
    async with db.transaction() as session:
        service = TicketService(session, staff_chat_id=STAFF_CHAT)
        agent = await session.get(Staff, agent_id)
        manager = await session.get(Staff, manager_id)
        assert agent is not None and manager is not None
        resident = await _get(session, resident_id)
        report, _ = await service.submit(resident, _water("before"))  # before the incident
        done, _ = await service.submit(resident, _water("done"))
        await service.reject(done, manager, "A duplicate.")
        lead, _ = await service.submit(resident, Submission("lead", "electricity", "No power."))
        incident = await service.declare_incident(lead, agent, Scope(ScopeKind.PROPERTY), "all")
        other, _ = await service.submit(resident, Submission("other", "facility", "Lift."))
        closing = await service.declare_incident(other, agent, Scope(ScopeKind.PROPERTY), "all")

        async def refused(ticket: Ticket, incident_id: int) -> str:
            before = (ticket.version, ticket.incident_id)
            try:
                await incidents.link_by_hand(service, ticket, incident_id, agent)
            except TicketError as error:
                assert (ticket.version, ticket.incident_id) == before
                return error.code
            raise AssertionError("linked")

        assert await refused(lead, incident.id) == "is_lead"
        assert await refused(other, incident.id) == "is_lead"  # (it leads one of its own)
        assert await refused(done, incident.id) == "not_now"
        assert await refused(report, 999999) == "incident_closed"
        found = await incidents.open_to_link(service, report)
        assert [o.incident.id for o in found] == [closing.id, incident.id]
        assert await _timers(session, report.id) == 4  # its own, from its reporting
        await incidents.link_by_hand(service, report, incident.id, agent)
        assert await refused(report, closing.id) == "already_linked"
        assert await _timers(session, report.id) == 0
        await service.acknowledge(other, agent)
        await service.start_investigation(other, agent)
        await service.resolve(other, agent, Resolution("repair", "Fixed."))  # closes it
        another, _ = await service.submit(resident, Submission("another", "facility", "Lift"))
        assert await refused(another, closing.id) == "incident_closed"

        await service.unlink_from_incident(report, agent)  # its clocks run again
        assert await _timers(session, report.id) == 4


async def _timers(session: AsyncSession, ticket_id: int) -> int:
    return int(await session.scalar(select(func.count()).select_from(Timer).where(
        Timer.ticket_id == ticket_id, Timer.cancelled.is_(False))) or 0)


async def test_two_first_reports_of_planned_works_at_once_one_leads(db: Database) -> None:
    """Planned works nobody reported yet, and two reports in the same moment (PostgreSQL:
    truly concurrent transactions): one leads them, the other is linked to it."""
    resident_id, _agent_id, manager_id = await setup(db)
    now = utcnow()
    async with db.transaction() as session:
        session.add(Resident(telegram_user_id=78, chat_id=78, name="Li", phone="+8613900000078",
                             unit_text="2-303", language="en"))
        works = await incidents.plan(session, "water", Scope(ScopeKind.PROPERTY),
                                     "the whole property", now - timedelta(minutes=1),
                                     now + timedelta(hours=2), manager_id, now)
    async with db.transaction() as session:
        neighbour_id = (await session.scalars(select(Resident.id).where(
            Resident.telegram_user_id == 78))).one()

    async def report(who: int, key: str) -> int:
        async with db.transaction() as session:
            service = TicketService(session, staff_chat_id=STAFF_CHAT)
            ticket, _ = await service.submit(await _get(session, who), _water(key))
            return ticket.id

    first, second = await asyncio.gather(report(resident_id, "a"), report(neighbour_id, "b"))
    async with db.transaction() as session:
        incident = await session.get(Incident, works.id)
        assert incident is not None and incident.lead_ticket_id in (first, second)
        other = second if incident.lead_ticket_id == first else first
        lead, linked = (await session.get(Ticket, incident.lead_ticket_id),
                        await session.get(Ticket, other))
        assert lead is not None and lead.incident_id is None
        assert linked is not None and linked.incident_id == incident.id
        assert not await incidents.leads_planned_works(session, linked)
        assert await incidents.leads_planned_works(session, lead)


async def test_thirty_linked_reports_reach_the_group_as_a_few_posts(
        emulator: BotAPIEmulator, database_url: str, tmp_path: Path, transport: str) -> None:
    """Thirty residents report one outage in a minute: the staff group gets their lines joined
    under the lead's card in a few posts (it takes 20 messages a minute), each report once, in
    the order they came; a 429 in the middle loses and doubles nothing; the residents' chats
    and another ticket's card are as they would be."""
    emulator.add_group(STAFF_CHAT, "Office staff")
    harness = Harness(emulator, database_url, tmp_path / "media", transport=transport,
                      staff_chat_id=STAFF_CHAT)
    desk = await harness.start()
    try:
        await _thirty_reports(desk, emulator)
    finally:
        await harness.stop()


async def _thirty_reports(desk: ResidentDesk, emulator: BotAPIEmulator) -> None:
    db = desk.db
    agent_id, people, lead = await _building_seven_incident(db, 31)
    for person in people:
        emulator.user(person.telegram_user_id or 0, person.name)
    await _all_sent(db)  # the lead's card is posted
    await desk.stop_workers()  # what follows waits, as it would behind a busy group
    for n, person in enumerate(people[1:], start=1):  # thirty residents, one after another
        async with db.transaction() as session:
            service = TicketService(session, staff_chat_id=STAFF_CHAT)
            await service.submit(await _get(session, person.id), Submission(
                f"r{n}", "water", f"Flat 7-{n + 1:02d}01 has no water."))
    async with db.transaction() as session:  # each resident hears of the investigation
        service = TicketService(session, staff_chat_id=STAFF_CHAT)
        agent = await session.get(Staff, agent_id)
        lead_ticket = await service.tickets.get(lead.id)
        assert agent is not None and lead_ticket is not None
        await service.start_investigation(lead_ticket, agent)
    async with db.transaction() as session:  # then another problem, a card of its own
        service = TicketService(session, staff_chat_id=STAFF_CHAT)
        other, _ = await service.submit(await _get(session, people[3].id), Submission(
            "noise", "noise", "Drilling upstairs at night."))
        reports = (await session.scalars(select(Ticket).where(
            Ticket.incident_id.is_not(None)).order_by(Ticket.id))).all()
        numbers = [t.number or "" for t in reports]
    assert len(numbers) == 30
    before = len(emulator.messages(STAFF_CHAT))
    notifier = desk.notifier
    worker = asyncio.create_task(notifier.run())
    try:
        await emulator.wait_for(lambda: any("more reports of the same" in (m.text or "")
                                            for m in emulator.messages(STAFF_CHAT)[before:]))
        emulator.inject_error("sendMessage", 429, retry_after=1)  # the next post is refused
        await _all_sent(db, seconds=30)
    finally:
        notifier.stop()
        await worker
    posts = [m for m in emulator.messages(STAFF_CHAT)[before:] if m.reply_to_message_id]
    joined = [m.text or "" for m in posts if "more reports of the same" in (m.text or "")]
    assert len(joined) == 2, joined  # 20 lines, then 10 (and no line of its own)
    assert not any("reports the same" in (m.text or "") for m in posts)
    seen = [number for text in joined for line in text.splitlines()[1:]
            for number in numbers if f"No. {number}," in line]
    assert seen == numbers  # each once, in the order they came
    lead_card = next(m for m in emulator.messages(STAFF_CHAT) if f"Ticket No. {lead.number}"
                     in (m.text or "") and m.inline_buttons)
    assert all(m.reply_to_message_id == lead_card.message_id for m in posts
               if "more reports" in (m.text or ""))
    assert "31 reports from 31 residents" in (lead_card.text or "")
    assert sum(f"Ticket No. {other.number}" in (m.text or "")
               for m in emulator.messages(STAFF_CHAT)) == 1  # the other ticket's own card
    for person in people:  # each resident's own chat: theirs, once
        texts = [m.text or "" for m in emulator.messages(person.chat_id or 0)]
        assert sum("under investigation" in t for t in texts) == 1, texts
    async with db.transaction() as session:
        refused = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.chat_id == STAFF_CHAT,
            OutboxMessage.last_error.contains("Flood control exceeded")))).all()
    assert len(refused) > 1 and {m.state for m in refused} == {"sent"}  # the second post's
    first = next(m for m in posts if "more reports" in (m.text or ""))
    assert first.button(f"↩️ {numbers[0]} on its own").callback_data


async def _all_sent(db: Database, seconds: float = 10) -> None:
    """Until the outbox holds nothing pending."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        async with db.transaction() as session:
            pending = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                           .where(OutboxMessage.state == "pending"))
        if not pending:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{pending} still pending"
        await asyncio.sleep(0.05)


async def _building_seven_incident(db: Database, residents: int
                                   ) -> tuple[int, list[Resident], Ticket]:
    """Building 7 with a resident in each of its flats (and building 8's one flat), the first
    one's water report an acknowledged incident for the building: (agent id, the residents,
    the lead)."""
    _resident_id, agent_id, _manager_id = await setup(db)
    async with db.transaction() as session:
        await Units(session).import_rows([{"building": "7", "unit": f"{n:02d}01",
                                           "floor": str(n)} for n in range(1, 32)]
                                         + [{"building": "8", "unit": "0101", "floor": "1"}])
        units = {u.label: u for u in (await session.scalars(select(Unit))).all()}
        people = [Resident(telegram_user_id=9000 + n, chat_id=9000 + n, name=f"R{n}",
                           phone=f"+861390000{n:04d}", unit_id=units[f"7-{n:02d}01"].id,
                           language="en") for n in range(1, residents + 1)]
        session.add_all(people)
    async with db.transaction() as session:
        service = TicketService(session, staff_chat_id=STAFF_CHAT)
        agent = await session.get(Staff, agent_id)
        assert agent is not None
        lead, _ = await service.submit(await _get(session, people[0].id), _water("lead"))
        await service.declare_incident(lead, agent, Scope(ScopeKind.BUILDING,
                                                          units["7-0101"].building_id), "7")
        await service.acknowledge(lead, agent)
    return agent_id, people, lead
