"""A resident's usual first steps, for tests that start from there."""

from __future__ import annotations

from bot.emulator.chat import ChatClient

DESCRIPTION = "The kitchen ceiling leaks since this morning, water drips on the floor."


async def register(chat: ChatClient, name: str = "Li Wei", unit: str = "3-1202") -> None:
    await chat.send("/start")
    await chat.send(name)
    await chat.share_contact("+8613800138000")
    await chat.send(unit)
    assert "registered" in chat.last_text


async def file_report(
    chat: ChatClient, description: str = DESCRIPTION, *, confirm: bool = True
) -> None:
    """A noise report without files, up to the summary (and confirmed, by default)."""
    await chat.send("/report")
    await chat.click("Noise")
    await chat.send(description)
    await chat.click("Skip")
    await chat.click("Normal")
    if confirm:
        await chat.click("✅ Confirm")
