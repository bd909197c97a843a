"""End to end: the real bot (aiogram over HTTP) against the emulator, on a real database."""

from __future__ import annotations

import hashlib
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.demo import tiny_png
from bot.emulator import BotAPIEmulator
from bot.emulator.chat import ChatClient
from storage.db import Database
from storage.models import Attachment, ConversationState, Resident, Ticket
from storage.repositories import Units
from tests.chats import AGREE, ANSWERS, DESCRIPTION, answer_questions, file_report, register
from tests.conftest import Harness
from tests.records import count, tickets_in


async def test_full_report_with_an_album_of_three_photos(
    resident: ChatClient, harness: Harness, tmp_path: Path
) -> None:
    await register(resident)
    assert resident.keyboard[0] == "📝 Report a problem"

    await resident.send("📝 Report a problem")
    assert "Choose a category" in resident.last_text
    await resident.click("Water & plumbing")
    assert "describe the problem" in resident.last_text
    await resident.send(DESCRIPTION)
    # the category's own questions: a leak needs to know where, and whether it still runs
    assert resident.last_text == "(1/2) Where is the water coming from?"
    assert "Skip" not in str(resident.last.inline_buttons)  # a required question
    photos = [tiny_png((i * 60, 10, 10)) for i in range(1, 4)]
    replies = await resident.send_album(photos)  # sent early: kept, the question stands
    assert len(replies) == 1, "one acknowledgement for the whole album"
    assert "Please answer the question above first" in resident.last_text
    await resident.send("from upstairs")  # typed where buttons were asked
    assert "Please answer with the buttons" in resident.last_text
    await resident.click("The ceiling")  # the question's message moves on to the next one
    assert resident.last_with_buttons.text == "(2/2) Is water still running now?"
    await resident.click("Yes")
    assert "help us understand the problem" in resident.last_text
    await resident.click("✅ Done")
    await resident.click("Normal")
    summary = resident.last_text
    assert "Files attached: 3" in summary and DESCRIPTION in summary
    assert "Water & plumbing" in summary and "3-1202" in summary
    assert ("  Where is the water coming from? The ceiling\n"
            "  Is water still running now? Yes") in summary
    # edited from the summary: Details asks the questions again, showing the answers so far
    await resident.click("✏️ Edit")
    await resident.click("Details")
    assert "Your answer so far: The ceiling" in resident.last_text
    await resident.click("A pipe or tap")
    await resident.click("No")
    assert "Please check your report" in resident.last_text
    summary = resident.last_text
    assert "Where is the water coming from? A pipe or tap" in summary
    assert "Is water still running now? No" in summary

    await resident.click("✅ Confirm")
    confirmation = resident.messages[-2].text or ""
    assert "registered as No." in confirmation
    # normal urgency: acknowledged within 48 hours, resolved within 7 working days
    assert "within 48 hours" in confirmation
    assert resident.last.keyboard_buttons  # the main menu is back

    [ticket] = await tickets_in(harness.settings.database.database_url)
    assert ticket.number and ticket.number in confirmation
    assert ticket.status == "new" and ticket.category_code == "water"
    resolve_by = ticket.resolve_due_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"We expect to resolve it by {resolve_by:%Y-%m-%d %H:%M}." in confirmation
    assert ticket.description == DESCRIPTION and ticket.unit_text == "3-1202"
    assert [(d.question, d.value) for d in ticket.details] == [("where", "pipe"),
                                                               ("running", "no")]
    await resident.send("/mytickets")
    await resident.click(resident.last.inline_buttons[0][0].text)
    assert "Where is the water coming from? A pipe or tap" in resident.last_text
    db = Database(harness.settings.database.database_url)
    async with db.transaction() as session:
        attachments = (await session.scalars(select(Attachment))).all()
    await db.dispose()
    assert len(attachments) == 3
    for attachment, photo in zip(attachments, photos, strict=True):
        assert attachment.sha256 == hashlib.sha256(photo).hexdigest()
        assert attachment.size == len(photo) and attachment.file_unique_id
        assert Path(attachment.local_path or "").read_bytes() == photo  # noqa: ASYNC240


async def test_my_tickets_shows_the_timeline_and_allows_withdrawal(
    resident: ChatClient, harness: Harness
) -> None:
    await register(resident)
    await file_report(resident)
    await resident.send("/mytickets")
    listing = resident.last
    assert "Your tickets" in (listing.text or "")
    assert "received" in listing.inline_buttons[0][0].text
    await resident.click(listing.inline_buttons[0][0].text)
    detail = resident.last_text
    assert "Timeline:" in detail and "Status: received" in detail and DESCRIPTION in detail
    await resident.click("➕ Add information")
    await resident.send("The water now also reaches the corridor.")
    assert "Added to ticket" in resident.last_text
    await resident.send_photo(tiny_png((1, 2, 3)))
    await resident.click("✅ Done")
    detail = resident.last_text
    assert "You: The water now also reaches the corridor." in detail
    assert "Files attached: 1" in detail and "You added a file" in detail

    await resident.click("↩ Withdraw")
    assert "cannot be undone" in resident.last_text
    await resident.click("Yes, withdraw it")
    assert "Status: withdrawn" in resident.last_text
    [ticket] = await tickets_in(harness.settings.database.database_url)
    assert ticket.status == "withdrawn" and ticket.closed_at is not None


async def test_restart_in_the_middle_keeps_the_draft(
    resident: ChatClient, harness: Harness
) -> None:
    await register(resident)
    await resident.send("/report")
    await resident.click("Electricity")
    await resident.send("The corridor lights on floor 12 are off.")
    assert resident.last_text == "(1/2) What is without power?"
    await harness.restart()
    await resident.send_photo(tiny_png((5, 5, 5)))
    assert "attached to your report" in resident.last_text
    await answer_questions(resident, "Electricity")  # the question, still there after it
    await resident.click("✅ Done")
    await resident.click("Normal")
    assert "The corridor lights on floor 12 are off." in resident.last_text
    assert "Category: Electricity" in resident.last_text
    await resident.click("✅ Confirm")
    [ticket] = await tickets_in(harness.settings.database.database_url)
    assert ticket.category_code == "electricity" and len(ticket.attachments) == 1


async def test_a_redelivered_update_has_no_second_effect(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator
) -> None:
    await register(resident)
    await resident.send("/report")
    await resident.click("Noise")
    update_id = emulator.send_text(resident.user, DESCRIPTION)
    await harness.wait(update_id)
    await emulator.wait_until_consumed(update_id)  # confirmed, then sent again by "Telegram"
    sent = len(resident.messages)
    emulator.redeliver(update_id)
    assert harness.desk is not None
    assert await harness.handled.wait(update_id, times=2) == "duplicate"
    assert len(resident.messages) == sent, "nothing was said twice"
    await answer_questions(resident, "Noise")
    await resident.click("Skip")
    await resident.click("Normal")
    assert resident.last_text.count(DESCRIPTION) == 1


async def test_double_confirm_makes_one_ticket(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator
) -> None:
    await register(resident)
    await file_report(resident, confirm=False)
    summary = resident.last_with_buttons
    first = emulator.click(resident.user, summary, "✅ Confirm")
    second = emulator.click(resident.user, summary, "✅ Confirm")  # the double tap
    await harness.wait(first)
    await harness.wait(second)
    assert len(await tickets_in(harness.settings.database.database_url)) == 1
    answers = [a.get("text") for a in emulator.callback_answers[-2:]]
    assert any(a and "already sent" in a for a in answers)


async def test_cancel_from_every_step_keeps_nothing(
    resident: ChatClient, harness: Harness
) -> None:
    url = harness.settings.database.database_url
    # registration steps
    for answers in ([], ["Li Wei"], ["Li Wei", "+8613800138000"]):
        await resident.send("/start")
        await resident.click(AGREE)
        for answer in answers:
            await resident.send(answer)
        await resident.send("/cancel")
        assert "Registration cancelled" in resident.last_text
        assert await count(url, Resident) == 0
    await register(resident)
    # report steps: category, description, its questions, evidence, urgency, summary, edit
    asked = ["Noise", DESCRIPTION, *ANSWERS["Noise"]]
    steps = [[], ["Noise"], ["Noise", DESCRIPTION], ["Noise", DESCRIPTION, ANSWERS["Noise"][0]],
             asked, [*asked, "Skip"], [*asked, "Skip", "Normal"],
             [*asked, "Skip", "Normal", "✏️ Edit"]]
    for path in steps:
        await resident.send("/report")
        for action in path:
            if action == DESCRIPTION:
                await resident.send(action)
            else:
                await resident.click(action)
        await resident.send("/cancel")
        assert "Nothing was saved" in resident.last_text
    assert await count(url, Ticket) == 0
    db = Database(url)
    async with db.transaction() as session:
        state = await session.get(ConversationState, resident.chat_id)
    await db.dispose()
    assert state is not None and state.flow == "" and "draft" not in state.data


async def test_the_staff_group_gets_the_new_ticket_card(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, transport: str
) -> None:
    staff_chat = -100500
    emulator.add_group(staff_chat, "Office staff")
    harness = Harness(emulator, database_url, tmp_path / "media", transport=transport,
                      staff_chat_id=staff_chat)
    await harness.start()
    try:
        chat = harness.chat(emulator.user(6006, "Chen Jing"))
        await register(chat, "Chen Jing", "8-0808")
        emulator.inject_error("sendMessage", 500)  # Telegram fails once: retried, not lost
        await file_report(chat)
        await emulator.wait_for(lambda: bool(emulator.messages(staff_chat)))
        card = emulator.last_message(staff_chat).text or ""
        [ticket] = await tickets_in(database_url)
        assert f"Ticket No. {ticket.number}" in card and "Status: received" in card
        assert "Chen Jing, +8613800138000" in card and "8-0808" in card
        assert DESCRIPTION in card and "Category: Noise" in card
        assert len(emulator.messages(staff_chat)) == 1
    finally:
        await harness.stop()


async def test_the_whole_journey_on_each_database(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, transport: str
) -> None:
    """Register with the longest building and flat names, report with an album, confirm."""
    building, flat = "B" * 64, "9" * 32  # the longest label a ticket must hold
    harness = Harness(emulator, database_url, tmp_path / "media", transport=transport)
    await harness.start()
    try:
        assert harness.desk is not None
        async with harness.desk.db.transaction() as session:
            await Units(session).import_rows([{"building": building, "unit": flat},
                                              {"building": "2", "unit": "201"}])
        chat = harness.chat(emulator.user(7007, "Sun Li", language_code="zh-hans"))
        await chat.send("/start")
        await chat.click(AGREE)
        await chat.send("孙丽")
        await chat.share_contact("+8613100000000")
        await chat.click(building)
        await chat.send(flat)
        await chat.send("/report")
        await chat.click("rp:cat:security")
        await chat.send("单元门的门禁坏了，陌生人可以随意进出。")
        await chat.send_album([tiny_png((7, 7, i)) for i in range(3)])
        await chat.click("rp:done")
        await chat.click("rp:prio:urgent")
        await chat.click("✅")
        [ticket] = await tickets_in(database_url)
        assert ticket.unit_text == f"{building}-{flat}" and len(ticket.attachments) == 3
        confirmation = chat.messages[-2].text or ""
        assert ticket.priority == "urgent" and ticket.number and ticket.number in confirmation
        assert "工单" in confirmation  # answered in the resident's language
    finally:
        await harness.stop()
