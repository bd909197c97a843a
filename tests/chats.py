"""A resident's usual first steps, for tests that start from there."""

from __future__ import annotations

from bot.emulator.chat import ChatClient
from conversations.keyboards import Callback, Prefix
from tickets.privacy import BUILT_IN_VERSION

SORRY = "something went wrong"  # the bot's answer when a handler failed


def no_crash(chat: ChatClient) -> None:
    """Nothing the bot said in this chat is an apology for a failure or a traceback."""
    for message in chat.messages:
        assert SORRY not in (message.text or ""), message.text
        assert "Traceback" not in (message.text or "")


# registration's "I agree" under the privacy notice, in whichever language (by its data)
AGREE = Callback(Prefix.REGISTRATION, "agree", BUILT_IN_VERSION).pack()

DESCRIPTION = "The kitchen ceiling leaks since this morning, water drips on the floor."


async def register(chat: ChatClient, name: str = "Li Wei", unit: str = "3-1202", *,
                   phone: str = "+8613800138000") -> None:
    await chat.send("/start")
    await chat.click(AGREE)
    await chat.send(name)
    await chat.share_contact(phone)
    await chat.send(unit)
    assert "registered" in chat.last_text


# the buttons that answer each default category's own questions (tickets.questions)
ANSWERS = {"Noise": ("At night (22:00–07:00)", "The flat above"),
           "Water & plumbing": ("The ceiling", "Yes"),
           "Electricity": ("My whole flat", "No")}


async def answer_questions(chat: ChatClient, category: str) -> None:
    """After the description: the category's questions, answered with the usual buttons."""
    for answer in ANSWERS.get(category, ()):
        await chat.click(answer)


async def report_to_files(chat: ChatClient, category: str, description: str) -> None:
    """/report up to the files step: the category, the description, its questions answered."""
    await chat.send("/report")
    await chat.click(category)
    await chat.send(description)
    await answer_questions(chat, category)


async def report_with_photo(chat: ChatClient, photo: bytes, description: str,
                            category: str = "Noise") -> None:
    """A report with one photo, at normal urgency, confirmed."""
    await report_to_files(chat, category, description)
    await chat.send_photo(photo)
    for button in ("Done", "Normal", "Confirm"):
        await chat.click(button)


async def file_report(
    chat: ChatClient, description: str = DESCRIPTION, *, confirm: bool = True
) -> None:
    """A noise report without files, up to the summary (and confirmed, by default)."""
    await chat.send("/report")
    await chat.click("Noise")
    await chat.send(description)
    await answer_questions(chat, "Noise")
    await chat.click("Skip")
    await chat.click("Normal")
    if confirm:
        await chat.click("✅ Confirm")
