"""/profile through the real bot, on both frameworks and both databases: a resident changes
their name, phone and unit; bad answers are explained; each change is audited; a complaint
keeps the unit it was sent for."""

from __future__ import annotations

from sqlalchemy import select

from bot.emulator import BotAPIEmulator
from bot.emulator.chat import ChatClient
from storage.models import Resident, ResidentChange
from storage.repositories import Units
from tests.chats import AGREE, file_report, no_crash, register
from tests.conftest import Harness
from tests.records import tickets_in


async def test_a_resident_changes_name_phone_and_unit(resident: ChatClient, harness: Harness,
                                                      emulator: BotAPIEmulator) -> None:
    assert harness.desk is not None
    await register(resident, "Li Wei", "3-1202")
    await file_report(resident)
    async with harness.desk.db.transaction() as session:  # the office loads its unit list
        await Units(session).import_rows([{"building": "A", "unit": "101"},
                                          {"building": "B", "unit": "202"}])
    await resident.send("/profile")
    menu = resident.last_text
    assert "Name: Li Wei" in menu and "Phone: +8613800138000" in menu and "Unit: 3-1202" in menu

    await resident.click("Name")
    await resident.send_sticker()
    assert "Please type your name" in resident.last_text
    await resident.send("L" * 65)
    assert "up to 64 characters" in resident.last_text
    await resident.send("  Li   Wei-Min ")
    assert "Saved: your name is now Li Wei-Min." in resident.last_text

    await resident.click("Phone")
    await resident.send("call me")
    assert "does not look like a phone number" in resident.last_text
    await resident.send("139 0013 9000")
    assert "Saved: your phone is now +8613900139000." in resident.last_text

    await resident.click("Unit")
    assert "Which building" in resident.last_text
    await resident.send("B")  # typed where buttons are asked
    assert "choose your building with the buttons" in resident.last_text
    await resident.click("B")
    await resident.send("999")
    assert "could not find flat 999" in resident.last_text
    await resident.send("202")
    assert "Saved: your unit is now B-202." in resident.last_text
    assert "Unit: B-202" in resident.last_text
    await resident.click("✅ Done")
    assert "Your details are kept" in (resident.messages[-2].text or "")

    async with harness.desk.db.transaction() as session:
        stored = await session.scalar(select(Resident))
        assert stored is not None
        assert (stored.name, stored.phone, stored.unit_verified) == (
            "Li Wei-Min", "+8613900139000", True)
        changes = [(c.field, c.old, c.new) for c in (await session.scalars(
            select(ResidentChange).order_by(ResidentChange.id))).all()]
    assert changes == [("name", "Li Wei", "Li Wei-Min"),
                       ("phone", "+8613800138000", "+8613900139000"),
                       ("unit", "3-1202", "B-202")]
    [ticket] = await tickets_in(harness.settings.database.database_url)
    assert ticket.unit_text == "3-1202"  # a complaint keeps the unit it was sent for
    no_crash(resident)


async def test_an_unlisted_flat_and_cancel_keep_what_was_saved(
        resident: ChatClient, harness: Harness) -> None:
    assert harness.desk is not None
    async with harness.desk.db.transaction() as session:
        await Units(session).import_rows([{"building": "A", "unit": "101"}])
    await resident.send("/start")
    await resident.click(AGREE)
    await resident.send("Li Wei")
    await resident.share_contact("+8613800138000")
    await resident.send("101")  # one building: its flat number only
    assert "registered" in resident.last_text
    await resident.send("/profile")
    await resident.click("Unit")
    await resident.send("777")
    await resident.click("My flat is not on the list")
    assert "Saved: your unit is now A-777." in resident.last_text
    await resident.click("Name")
    await resident.send("/cancel")
    assert "The changes you saved are kept" in resident.last_text
    async with harness.desk.db.transaction() as session:
        stored = await session.scalar(select(Resident))
        assert stored is not None and stored.unit_text == "A-777" and not stored.unit_verified
    await resident.send("/profile")
    assert "Unit: A-777" in resident.last_text
