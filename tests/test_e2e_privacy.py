"""Personal data end to end (issue 16): the privacy notice before registration and after it
changes, /forget, residesk residents forget, and the retention periods — through the real bot
on both frameworks and both databases."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import zipfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update

from bot.cli import copy_for, forget_resident
from bot.demo import tiny_png
from bot.workers.scheduler import run_retention
from storage.models import Attachment, Resident, ResidentChange, Staff, Ticket, utcnow
from tests.chats import register, report_with_photo
from tests.office import STAFF_CHAT, Office
from tests.records import tickets_in
from tickets.inputs import Intake
from tickets.privacy import BUILT_IN_VERSION
from tickets.service import TicketService
from tickets.statistics import compute

NAME = "Xiaoqing Wuyazhi"  # a name nothing else in the database spells
PHONE, PHONE_DIGITS = "+8613912345678", "13912345678"
USER_ID = 7_391_846_205  # a Telegram id no other number in a test database is


async def test_registration_begins_with_the_privacy_notice(office: Office) -> None:
    chat = office.resident
    await chat.send("/start")
    assert "How the property management office handles your personal data" in chat.last_text
    assert "24 months" in chat.last_text  # the retention periods in force
    await chat.send("Wang Fang")  # a name before agreeing is not taken
    assert "Please press “I agree”" in chat.last_text
    await chat.click("Not now")
    assert "nothing was saved" in chat.last_text
    await chat.send("/privacy")
    assert "Send /start to register" in chat.last_text

    await chat.send("/start")
    await chat.click("✅ I agree")
    assert chat.last_text == "Thank you. What is your name?"
    await chat.send("Wang Fang")
    await chat.share_contact("+8613800138000")
    await chat.send("2-301")
    assert "registered" in chat.last_text
    resident = await resident_row(office)
    assert resident.privacy_version == BUILT_IN_VERSION
    assert resident.privacy_agreed_at is not None
    assert abs(resident.privacy_agreed_at - utcnow()) < timedelta(minutes=5)
    await chat.send("/privacy")
    assert "You agreed to this notice on" in chat.last_text


async def test_a_new_notice_is_agreed_to_before_anything_else(office: Office) -> None:
    chat = office.resident
    await register(chat, "Wang Fang", "2-301")
    await chat.send("/report")
    await chat.click("Noise")  # a report under way when the office changes its notice
    async with office.desk.db.transaction() as session:
        await session.execute(update(Resident).values(privacy_version="office-2025"))
    await chat.send("Loud music every night from the flat above.")
    assert "Our privacy notice has changed" in chat.last_text
    await chat.send("/mytickets")
    assert "Our privacy notice has changed" in chat.last_text
    await chat.click("✅ I agree")
    assert "go on where you were" in chat.last_text
    await chat.send("Loud music every night from the flat above.")
    assert "When does the noise happen?" in chat.last_text  # the draft went on
    assert (await resident_row(office)).privacy_version == BUILT_IN_VERSION


async def test_erasure_takes_both_questions_whatever_is_pressed_or_typed(office: Office
                                                                          ) -> None:
    chat = office.resident
    await register(chat, NAME, "2-301", phone=PHONE)
    await chat.forge("fg:erase")  # the last button, without the questions before it
    assert "no longer active" in office.emulator.callback_answers[-1].get("text", "")
    await chat.send("/forget")
    await chat.send("x" * 10_000)  # typed instead of pressed
    assert "Please answer with the buttons above" in chat.last_text
    await chat.click("Yes, erase it", chat.last_with_text("Do you want the office"))
    await chat.send("/cancel")
    assert "Nothing was erased." in chat.last_text
    await chat.click("🗑 Erase for good", chat.last_with_text("This cannot be undone"))
    assert "no longer active" in office.emulator.callback_answers[-1].get("text", "")
    resident = await resident_row(office)
    assert resident.erased_at is None and resident.name == NAME


async def test_mydata_sends_the_residents_own_copy_once_a_day(office: Office) -> None:
    chat = office.resident
    await register(chat, NAME, "2-301", phone=PHONE)
    photo = tiny_png((12, 34, 56))
    await report_with_photo(chat, photo, "Drums in the flat above every evening.")
    await office.settle(lambda: "Ticket No." in office.card_text())
    agent = office.agent
    await agent.click("Internal note", office.card())
    await agent.send("Staff only: the neighbour is the chairman's cousin.")
    await agent.reply("We will visit tomorrow at ten.", office.card())
    await office.settle(lambda: "visit tomorrow" in chat.last_text)
    await office.all_sent()

    await chat.send("/mydata")
    assert "Your copy is on its way" in chat.last_text and "1 ZIP file" in chat.last_text
    await office.settle(lambda: sum(m.kind == "document" for m in chat.messages) == 2)
    json_file, zip_file = [m for m in chat.messages if m.kind == "document"]
    assert "Your personal data as the office keeps it" in (json_file.text or "")
    assert "part 1 of 1" in (zip_file.text or "")
    copy = json.loads(office.emulator.sent_files[json_file.file_id or ""])
    assert copy["profile"]["name"] == NAME and copy["profile"]["phone"] == PHONE
    assert copy["profile"]["privacy_notice"]["version"] == BUILT_IN_VERSION
    [ticket] = copy["tickets"]
    assert ticket["description"] == "Drums in the flat above every evening."
    assert ticket["answers"] == {"when": "night", "from": "above"}
    said = [e.get("text") for e in ticket["timeline"]]
    assert "We will visit tomorrow at ten." in said
    assert "chairman" not in json.dumps(copy)  # the office's internal note is not theirs
    [file] = ticket["files"]
    with zipfile.ZipFile(io.BytesIO(office.emulator.sent_files[zip_file.file_id or ""])) as z:
        assert z.read(file["name"]) == photo

    await chat.send("/mydata")
    assert "one copy a day" in chat.last_text
    await office.all_sent()
    assert sum(m.kind == "document" for m in chat.messages) == 2


async def test_forget_erases_the_resident_and_keeps_the_statistics(office: Office) -> None:
    """Everything a resident gave, then /forget: no trace in a dump of the whole database nor
    in MEDIA_DIR; the period's statistics are the same as before."""
    chat = office.resident = office.harness.chat(office.emulator.user(USER_ID, "Xiaoqing"))
    await register(chat, NAME, "2-301", phone=PHONE)
    photo = tiny_png((91, 17, 203))
    await report_with_photo(chat, photo, "Brown water from the tap in the kitchen of "
                            "Xiaoqing's flat.", "Water & plumbing")
    await office.settle(lambda: "Ticket No." in office.card_text())
    agent = office.agent
    await agent.click("Acknowledge", office.card())
    await agent.reply("When did it start?", office.card())
    await office.settle(lambda: "When did it start" in chat.last_text)
    await office.all_sent()
    await chat.reply("Since Monday, Xiaoqing noticed it first.", chat.last)
    await agent.click("Investigation", office.card())
    await agent.click("Cancel", office.question(agent))
    await office.settle(lambda: "Status: under investigation" in office.card_text())
    await agent.click("Resolve", office.card())
    await agent.click("Repair", office.question(agent))
    await agent.send("The riser's filter was changed.")
    await agent.click("Skip", office.question(agent))
    await office.settle(lambda: "has been resolved" in chat.last_text)
    await chat.click("✅ Yes", chat.last)
    await chat.click("5", chat.last)
    await chat.reply("Xiaoqing thanks the plumber", chat.last)
    await office.all_sent()
    [ticket] = await tickets_in(office.url)
    assert ticket.status == "closed"
    media = office.harness.settings.office.media_dir
    assert any(p.read_bytes() == photo for p in media.rglob("*") if p.is_file())
    first, last = ticket.created_at - timedelta(days=1), ticket.created_at + timedelta(days=1)
    before = await compute(office.desk.db, first, last, utcnow())

    await chat.send("/forget")
    await chat.click("Yes, erase it")
    assert "What remains" in chat.last_text and "1 evidence file is deleted" in chat.last_text
    await chat.click("🗑 Erase for good")
    assert "Your personal data has been erased" in "\n".join(
        m.text or "" for m in chat.messages[-2:])
    await office.all_sent()

    dump = await database_dump(office.url)
    secrets = {NAME, "Xiaoqing", PHONE, PHONE_DIGITS, str(USER_ID)}
    assert not [s for s in secrets if s in dump], "personal data left in the database"
    assert not [s for s in secrets if s.encode().hex() in dump.lower()], "…in a binary field"
    assert not any(p.read_bytes() == photo for p in media.rglob("*") if p.is_file())
    assert await compute(office.desk.db, first, last, utcnow()) == before
    [after] = await tickets_in(office.url)
    assert (after.status, after.category_code, after.rating) == ("closed", "water", 5)
    async with office.desk.db.transaction() as session:
        [change] = (await session.scalars(select(ResidentChange))).all()
        assert (change.field, change.old, change.new) == ("erased", None, "resident")
    # the card in the staff group no longer names them
    await office.settle(lambda: NAME not in office.card_text())

    # they may come back as anyone new
    await chat.send("Hello?")
    assert "How the property management office handles your personal data" in chat.last_text


async def test_an_open_ticket_keeps_its_content_until_it_is_finished(office: Office) -> None:
    """Asked for by phone: the office erases from the command line; the open ticket's
    description and evidence stay until the office finishes it, then they go."""
    chat = office.resident = office.harness.chat(office.emulator.user(USER_ID, "Xiaoqing"))
    await register(chat, NAME, "2-301", phone=PHONE)
    await report_with_photo(chat, tiny_png((3, 140, 77)),
                            "Drilling at night in the flat above Xiaoqing.")
    await office.settle(lambda: "Ticket No." in office.card_text())
    [ticket] = await tickets_in(office.url)
    shown: list[str] = []

    def confirm(text: str) -> bool:
        shown.append(text)
        return True

    # asked for a copy by letter first: the office writes it out
    out = office.harness.settings.office.media_dir.parent / "copy"
    said = await in_env(office, lambda: copy_for(PHONE, out))
    assert "hand it over safely" in said
    [json_file] = out.glob("resident-*.json")
    assert json.loads(json_file.read_text())["tickets"][0]["description"].startswith("Drilling")
    [zip_path] = out.glob("resident-*-files.zip")
    with zipfile.ZipFile(zip_path) as archive:
        assert len(archive.namelist()) == 1

    done = await in_env(office, lambda: forget_resident(PHONE_DIGITS, confirm))
    assert "erased" in done
    assert f"open, erased when finished: No. {ticket.number}" in shown[0]
    [kept] = await tickets_in(office.url)
    assert "Drilling" in kept.description and await attachments(office) == 1
    await office.all_sent()
    dump = await database_dump(office.url)  # who they were is gone at once
    assert not [s for s in (NAME, PHONE, PHONE_DIGITS, str(USER_ID)) if s in dump]
    await office.settle(lambda: NAME not in office.card_text() and "R-" in office.card_text())

    await office.manager.click("Reject", office.card())
    await office.manager.send("A matter for the police, not the office.")
    await office.all_sent()
    [finished] = await tickets_in(office.url)
    assert finished.status == "rejected"
    assert finished.description == "" and await attachments(office) == 0
    assert not [p for p in office.harness.settings.office.media_dir.rglob("*") if p.is_file()]


async def test_a_caller_never_in_the_bot_is_copied_and_erased_by_phone(office: Office
                                                                       ) -> None:
    """Complaints the office took by phone for someone who never used the bot: a request by
    letter gets their copy, then their erasure, by their number."""
    async with office.desk.db.transaction() as session:
        manager = await session.scalar(select(Staff).where(Staff.role == "manager"))
        assert manager is not None
        service = TicketService(session, staff_chat_id=STAFF_CHAT)
        for key, what in (("c1", "The lift stops between floors."), ("c2", "Lift again.")):
            await service.take_intake(manager, Intake(key, NAME, PHONE_DIGITS, "5-502", "noise",
                                                      what, "hotline"))
        [first, _second] = (await session.scalars(select(Ticket).order_by(Ticket.id))).all()
        await service.reject(first, manager, "Not ours: the lift company's.")
    await office.all_sent()
    out = office.harness.settings.office.media_dir.parent / "copy"
    assert "hand it over safely" in await in_env(office, lambda: copy_for(PHONE, out))
    [json_file] = out.glob("caller-*.json")
    copied = json.loads(json_file.read_text())
    assert copied["profile"]["name"] == NAME and len(copied["tickets"]) == 2
    shown: list[str] = []

    def confirm(text: str) -> bool:
        shown.append(text)
        return True

    await in_env(office, lambda: forget_resident(PHONE, confirm))
    assert "caller Xiaoqing Wuyazhi" in shown[0] and "not in the bot" in shown[0]
    assert "open, erased when finished" in shown[0]
    await office.all_sent()
    dump = await database_dump(office.url)
    assert not [s for s in (NAME, PHONE, PHONE_DIGITS) if s in dump]
    [rejected, still_open] = await tickets_in(office.url)
    assert rejected.description == "" and still_open.description == "Lift again."
    await office.settle(lambda: "personal data erased" in office.card_text())


async def test_retention_erases_the_long_inactive_and_old_evidence(office: Office) -> None:
    chat = office.resident
    await register(chat, NAME, "2-301", phone=PHONE)
    await report_with_photo(chat, tiny_png((200, 1, 1)), "Loud music after midnight.")
    office_facts = office.desk.engine.office
    long_ago = utcnow() - timedelta(days=800)
    async with office.desk.db.transaction() as session:  # closed long ago, and reopened
        await session.execute(update(Ticket).values(status="reopened", closed_at=long_ago))
    assert (await run_retention(office.desk.db, office_facts, dry_run=True)).files == 0
    async with office.desk.db.transaction() as session:  # closed long ago
        await session.execute(update(Ticket).values(status="closed", closed_at=long_ago))
    dry = await run_retention(office.desk.db, office_facts, dry_run=True)
    assert (dry.residents, dry.files) == ([], 1)
    assert await attachments(office) == 1
    done = await run_retention(office.desk.db, office_facts)
    assert done.files == 1 and await attachments(office) == 0
    assert not [p for p in office.harness.settings.office.media_dir.rglob("*") if p.is_file()]
    assert (await resident_row(office)).erased_at is None  # active within three years

    four_years_on = utcnow() + timedelta(days=4 * 366)
    erased = await run_retention(office.desk.db, office_facts, now=four_years_on)
    assert len(erased.residents) == 1
    resident = await resident_row(office)
    assert resident.erased_at is not None and resident.telegram_user_id is None
    assert NAME not in await database_dump(office.url)


# --- helpers ---------------------------------------------------------------------------------


async def resident_row(office: Office) -> Resident:
    async with office.desk.db.transaction() as session:
        [resident] = (await session.scalars(select(Resident))).all()
        return resident


async def attachments(office: Office) -> int:
    async with office.desk.db.transaction() as session:
        return len((await session.scalars(select(Attachment))).all())


async def in_env(office: Office, work: Callable[[], Awaitable[str]]) -> str:
    """Run a `residesk` command's coroutine with the environment pointing at this desk."""
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "STAFF_CHAT_ID")}
    os.environ.update(DATABASE_URL=office.url, STAFF_CHAT_ID=str(STAFF_CHAT))
    try:
        return await work()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def database_dump(url: str) -> str:
    """The whole database as text: SQLite's dump (its full-text index's tables too, binary
    as hex), or pg_dump's."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        return await asyncio.to_thread(lambda: "\n".join(sqlite3.connect(path).iterdump()))
    parts = urlsplit(url.replace("+asyncpg", ""))
    process = await asyncio.create_subprocess_exec(
        "pg_dump", "--data-only", "-h", parts.hostname or "127.0.0.1",
        "-p", str(parts.port or 5432), "-U", parts.username or "postgres",
        parts.path.lstrip("/"), stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    assert process.returncode == 0
    return out.decode()

