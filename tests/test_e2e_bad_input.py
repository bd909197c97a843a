"""Bad input at every step gets a clear, polite answer; nothing is lost and nothing crashes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.demo import tiny_png
from bot.emulator import BotAPIEmulator
from bot.emulator.chat import ChatClient
from conversations.keyboards import main_menu
from locales import gettext_for
from storage.db import Database
from storage.models import Resident
from storage.repositories import Units
from tests.chats import (
    AGREE,
    DESCRIPTION,
    answer_questions,
    file_report,
    no_crash,
    register,
)
from tests.conftest import Harness
from tests.records import count, tickets_in


async def test_registration_rejects_bad_names_phones_and_units(
    resident: ChatClient, harness: Harness
) -> None:
    await resident.send("/start")
    await resident.click(AGREE)
    await resident.send("   ")
    assert "Please type your name" in resident.last_text
    await resident.send("x" * 10_000)
    assert "too long for a name" in resident.last_text
    await resident.send_sticker()
    assert "Please type your name" in resident.last_text
    await resident.send("Li Wei")
    for bad in ("12", "call me maybe", "+1 (555) 0000000000000000", "x" * 10_000):
        await resident.send(bad)
        assert "does not look like a phone number" in resident.last_text
        assert resident.keyboard == ["📱 Share my phone number"]
    await resident.share_contact("+8613900000000", own=False)
    assert "your own phone number" in resident.last_text
    await resident.send("+86 138-0013-8000")
    await resident.send("")
    assert "Please type your flat number" in resident.last_text
    await resident.send("9" * 10_000)
    assert "too long for a flat number" in resident.last_text
    await resident.send("5-501")
    assert "registered: Li Wei, 5-501" in resident.last_text
    no_crash(resident)


async def test_unknown_unit_when_the_property_list_is_loaded(
    emulator: BotAPIEmulator, harness: Harness
) -> None:
    assert harness.desk is not None
    async with harness.desk.db.transaction() as session:
        await Units(session).import_rows([
            {"building": "A", "unit": "101"}, {"building": "B", "unit": "202"},
        ])
    chat = harness.chat(emulator.user(2002, "Wang Fang", language_code="zh-hans"))
    await chat.send("/start")
    await chat.click(AGREE)
    await chat.send("王芳")
    await chat.send("13800138000")
    await chat.click("A")
    await chat.send("999")
    assert "999" in chat.last_text and chat.last.inline_buttons  # "choose another building"
    await chat.click(chat.last.inline_buttons[0][0].text)
    await chat.click("B")
    await chat.send("202")
    assert "B-202" in chat.last_text
    no_crash(chat)


async def test_report_steps_reject_bad_input(resident: ChatClient, harness: Harness,
                                             emulator: BotAPIEmulator) -> None:
    await register(resident)
    await resident.send("/report")
    await resident.send("noise!")  # typed instead of a button
    assert "use the buttons" in resident.last_text
    await resident.click("Noise")
    await resident.send("loud")
    assert "at least 10 characters" in resident.last_text
    await resident.send("x" * 10_000)
    assert "10000 characters long; the limit is 2000" in resident.last_text
    await resident.send_photo(tiny_png((1, 1, 1)))
    assert "in words first" in resident.last_text
    await resident.send(DESCRIPTION)
    # the category's questions: buttons only, and only the question asked now
    question = resident.last_with_buttons
    await resident.send_sticker()
    assert "Please answer with the buttons of the question above" in resident.last_text
    await resident.forge("rp:ans:from.above", question.message_id)  # the next question's
    assert "no longer active" in (emulator.callback_answers[-1].get("text") or "")
    await resident.forge("rp:ans:when.sometimes", question.message_id)  # no such choice
    assert "no longer active" in (emulator.callback_answers[-1].get("text") or "")
    await resident.forge("rp:skipq:when", question.message_id)  # a required one
    assert "no longer active" in (emulator.callback_answers[-1].get("text") or "")
    await answer_questions(resident, "Noise")

    await resident.send_sticker()
    assert "Stickers" in resident.last_text
    await resident.send("here is a photo")
    assert "Please send a photo" in resident.last_text
    await resident.send_document(b"MZ\x90\x00 not a picture", "virus.exe", "application/x-msdos")
    assert "photos, videos, voice notes, audio recordings" in resident.last_text
    await resident.send_document(b"MZ\x90\x00 a program", "invoice.pdf", "application/pdf")
    assert "its content is not" in resident.last_text
    await resident.send_document(b"plain text pretending", "fake.jpg", "image/jpeg")
    assert "its content is not" in resident.last_text
    await resident.send_video(b"\x00" * 64, declared_size=25 * 1024 * 1024)
    assert "larger than 20 MB" in resident.last_text
    await resident.send_voice(b"not ogg at all")
    assert "its content is not" in resident.last_text

    photos = [tiny_png((i, i, i)) for i in range(10)]
    await resident.send_album(photos)
    await resident.send_photo(tiny_png((99, 99, 99)))  # the 11th
    assert "at most 10" in resident.last_text or "the most a report can hold" in resident.last_text
    await resident.click("✅ Done")
    await resident.click("🚨 Urgent")
    assert "Files attached: 10" in resident.last_text
    assert "+86 10 8888 0000" in resident.last_text  # urgent shows the emergency number
    await resident.click("✅ Confirm")
    [ticket] = await tickets_in(harness.settings.database.database_url)
    assert len(ticket.attachments) == 10 and ticket.priority == "urgent"
    no_crash(resident)


async def test_stale_and_forged_buttons(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator
) -> None:
    await register(resident)
    await resident.send("/report")
    categories = resident.last_with_buttons
    await resident.click("Noise")
    await resident.send(DESCRIPTION)
    # an old category button, now that the wizard moved on
    await resident.forge("rp:cat:water", categories.message_id)
    assert "no longer active" in (emulator.callback_answers[-1].get("text") or "")
    for forged in ("rp:cat:../../etc", "garbage", "mt:show:999999", "mt:show:abc", "lg:set:xx",
                   "rp:prio:extreme", "x" * 64, "rp:confirm"):
        await resident.forge(forged)
        answer = emulator.callback_answers[-1]
        assert answer.get("text"), forged  # every press is answered, with a reason
    await answer_questions(resident, "Noise")
    await resident.click("Skip")
    await resident.click("Normal")
    await resident.click("✅ Confirm")
    assert len(await tickets_in(harness.settings.database.database_url)) == 1
    no_crash(resident)


async def test_another_residents_ticket_is_not_found(
    emulator: BotAPIEmulator, harness: Harness
) -> None:
    owner = harness.chat(emulator.user(3003, "Owner"))
    await register(owner, "Owner", "1-101")
    await file_report(owner)
    [ticket] = await tickets_in(harness.settings.database.database_url)
    other = harness.chat(emulator.user(4004, "Other"))
    await register(other, "Other", "1-102")
    for action in ("show", "wd", "wdyes", "add"):
        await other.forge(f"mt:{action}:{ticket.id}")
        answer = emulator.callback_answers[-1]
        assert answer.get("text") == "Ticket not found.", action
    [still] = await tickets_in(harness.settings.database.database_url)
    assert still.status == "new"
    assert not any(ticket.description in (m.text or "") for m in other.messages)


@pytest.mark.parametrize("telegram_code, language", [
    ("zh-hans", "zh_Hans"), ("ru", "ru"), ("de", "en"), (None, "en"),
])
async def test_language_follows_telegram(
    emulator: BotAPIEmulator, harness: Harness, telegram_code: str | None, language: str
) -> None:
    chat = harness.chat(emulator.user(5005, "Sasha", language_code=telegram_code))
    await chat.send("/start")
    await chat.click(AGREE)
    await chat.send("Sasha")
    await chat.send("+79990001122")
    await chat.send("2-202")
    _ = gettext_for(language)
    assert chat.keyboard == [b.text for row in main_menu(_) for b in row]


async def test_commands_menu_is_set_per_language(
    emulator: BotAPIEmulator, harness: Harness
) -> None:
    by_language = {code: commands for (_scope, code), commands in emulator.commands.items()}
    assert {"en", "zh", "ru", ""} <= set(by_language)
    assert by_language["zh"][0]["description"] == gettext_for("zh_Hans")("Report a problem")
    assert by_language["ru"][0]["description"] == gettext_for("ru")("Report a problem")
    assert [c["command"] for c in by_language["en"]][:2] == ["report", "mytickets"]


async def test_blocked_resident_is_marked_unreachable(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator
) -> None:
    await register(resident)
    emulator.block(resident.user)
    update_id = emulator.send_text(resident.user, "/help")
    await harness.wait(update_id)
    url = harness.settings.database.database_url
    db = Database(url)
    async with db.transaction() as session:
        person = await session.scalar(select(Resident))
    await db.dispose()
    assert person is not None and person.reachable is False
    assert await count(url, Resident) == 1


async def test_telegram_errors_are_retried(
    resident: ChatClient, harness: Harness, emulator: BotAPIEmulator
) -> None:
    emulator.inject_error("sendMessage", 429, retry_after=1)
    emulator.inject_error("sendMessage", 500)
    await resident.send("/start")
    await resident.click(AGREE)
    assert "What is your name?" in resident.last_text
    emulator.inject_error("sendMessage", 502, drop_connection=True)
    await resident.send("Li Wei")
    assert "phone number" in resident.last_text
