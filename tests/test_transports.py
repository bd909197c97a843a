"""The two framework adapters, side by side on the emulator (real HTTP): they read every update
into the same event, show every reply as the same message, and fail the same way."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import Body, BotAPIEmulator, EmulatedUser, SentMessage
from bot.telegram.transport import (
    TRANSPORTS,
    BadRequest,
    Forbidden,
    RetryAfter,
    TelegramFailure,
    Transport,
    Unauthorized,
    Unavailable,
    make_transport,
    send_reply,
)
from conversations.events import Button, Event, FileRef, KeyboardButton, Mention, Reply

ROOT = Path(__file__).resolve().parent.parent
STAFF_CHAT = -100900
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
OGG = b"OggS" + b"\x00" * 64


@pytest.fixture
async def emu() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator() as emulator:
        emulator.add_group(STAFF_CHAT, "Office staff")
        yield emulator


async def opened(name: str, emu: BotAPIEmulator,
                 handle: Callable[[Event], Awaitable[None]]) -> Transport:
    transport = make_transport(name, emu.token, emu.base_url, handle, STAFF_CHAT)
    await transport.start()
    return transport


async def read_all(name: str, emu: BotAPIEmulator) -> list[Event]:
    """Every pending update, through the framework's routing, as the events it hands on
    (nothing is confirmed: the next reader gets the same updates)."""
    events: list[Event] = []

    async def collect(event: Event) -> None:
        events.append(event)

    transport = await opened(name, emu, collect)
    try:
        for update in await transport.get_updates(None, 0):
            await transport.dispatch(update)
    finally:
        await transport.close()
    return events


async def test_both_frameworks_read_every_update_into_the_same_event(
    emu: BotAPIEmulator,
) -> None:
    ann = emu.user(7001, "Ann", language_code="zh-hans", last_name="Li")
    staff = emu.user(501, "Zhao")
    stranger_group = -100123
    emu.add_group(stranger_group, "Somewhere else")
    emu.send_text(ann, "/Start@residesk_bot  token-1 ")
    emu.send_text(ann, "")
    emu.send_text(ann, "x" * 10_000)
    emu.send_contact(ann, "+86 138 0013 8000")
    emu.send_contact(ann, "+86 139 0000 0000", own=False)
    emu.send_location(ann, 39.9, 116.4)
    emu.send_album(ann, [PNG, PNG])
    emu.send_voice(ann, OGG)
    emu.send_video(ann, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32)
    emu.send_document(ann, b"%PDF-1.4 ...", file_name="bill.pdf", mime_type="application/pdf")
    emu.send_sticker(ann)
    emu.send_text(staff, "in the staff group", chat_id=STAFF_CHAT)
    emu.send_text(staff, "not for us", chat_id=stranger_group)
    emu.send_callback(ann, 42, "rp:cat:noise")  # a message the bot no longer has
    emu.send_callback(ann, 43, "x" * 64)

    aiogram_events = await read_all("aiogram", emu)
    ptb_events = await read_all("ptb", emu)
    assert aiogram_events == ptb_events
    kinds = [e.kind.value for e in ptb_events]
    assert kinds == ["command", "text", "text", "contact", "contact", "location", "photo",
                     "photo", "voice", "video", "document", "other", "text", "button",
                     "button"]
    start = ptb_events[0]
    assert (start.command, start.command_args) == ("start", "token-1")
    assert start.sender.display_name == "Ann Li" and start.sender.language_code == "zh-hans"
    assert ptb_events[6].album_id and ptb_events[6].album_id == ptb_events[7].album_id
    assert ptb_events[12].sender.chat_id == STAFF_CHAT  # another group is not listened to
    assert ptb_events[13].callback_data == "rp:cat:noise" and ptb_events[13].message_id == 42


def look(message: SentMessage) -> tuple[Any, ...]:
    """What a user sees of a message (ids of their own chat included)."""
    return (message.message_id, message.kind, message.text, message.reply_markup,
            message.edits, message.file_id, message.reply_to_message_id,
            message.media_group_id is not None, message.raw.get("entities"))


async def test_a_reply_looks_the_same_whichever_framework_sends_it(
    emu: BotAPIEmulator,
) -> None:
    ann = emu.user(7002, "Ann")
    emu.send_photo(ann, PNG)
    emu.send_voice(ann, OGG)
    photo, voice = [e.media for e in await read_all("aiogram", emu)]
    assert photo is not None and voice is not None
    photo_ref, voice_ref = FileRef("photo", photo.file_id), FileRef("voice", voice.file_id)
    buttons = ((Button("Yes", "sv:y:1"), Button("No", "sv:n:1")),)
    replies = [
        Reply("Hello", buttons=buttons),
        Reply("Share your phone", keyboard=((KeyboardButton("📱 Share", True),),)),
        Reply("Menu", keyboard=((KeyboardButton("/report"), KeyboardButton("/mytickets")),)),
        Reply("Thanks", remove_keyboard=True),
        Reply("y" * 5000),
        Reply("c" * 2000, file=photo_ref),
        Reply("", file=voice_ref, reply_to=1),
        Reply("", album=(photo_ref, photo_ref)),
        Reply("Edited", buttons=buttons, edit_message_id=1),
        Reply("Edited", buttons=buttons, edit_message_id=1),  # not modified: no error
        Reply("Gone", edit_message_id=999),  # cannot be edited: sent anew
        Reply("Answer", reply_to=2),
        Reply("Answer to nothing", reply_to=999),
        # a text mention after an emoji (two UTF-16 units) and a Chinese name
        Reply("🚨 Managers: Zhao Min, 王经理", mentions=(Mention(501, "Zhao Min"),
                                                      Mention(502, "王经理"))),
    ]
    chats = {"aiogram": emu.user(7101, "A"), "ptb": emu.user(7102, "P")}
    ids: dict[str, list[list[int]]] = {}
    for name, user in chats.items():
        transport = await opened(name, emu, _ignore)
        try:
            ids[name] = [await send_reply(transport, user.id, reply) for reply in replies]
        finally:
            await transport.close()
    assert ids["aiogram"] == ids["ptb"]
    seen = {name: [look(m) for m in emu.messages(user.id)] for name, user in chats.items()}
    assert seen["aiogram"] == seen["ptb"]
    first = emu.messages(chats["ptb"].id)[0]
    assert first.text == "Edited" and first.edits == 1
    [zhao, wang] = emu.messages(chats["ptb"].id)[-1].raw["entities"]
    assert (zhao["offset"], zhao["length"], zhao["user"]["id"]) == (13, 8, 501)
    assert (wang["offset"], wang["length"], wang["user"]["id"]) == (23, 3, 502)
    long = emu.messages(chats["ptb"].id)[4]
    assert long.text is not None and len(long.text) == 4096 and long.text.endswith("…")


async def _ignore(_event: Event) -> None:
    """These transports only send."""


@pytest.mark.parametrize("transport_name", TRANSPORTS)
@pytest.mark.parametrize(("status", "dropped", "failure"), [
    (401, False, Unauthorized), (403, False, Forbidden), (400, False, BadRequest),
    (429, False, RetryAfter), (500, False, Unavailable), (502, True, Unavailable),
])
async def test_failures_mean_the_same_whichever_framework(
    emu: BotAPIEmulator, transport_name: str, status: int, dropped: bool,
    failure: type[TelegramFailure],
) -> None:
    ann: EmulatedUser = emu.user(7003, "Ann")
    transport = await opened(transport_name, emu, _ignore)
    try:
        emu.inject_error("sendMessage", status, retry_after=3 if status == 429 else None,
                         drop_connection=dropped)
        with pytest.raises(failure) as raised:
            await transport.send_text(ann.id, "hello", Reply("hello"))
        assert emu.token not in str(raised.value)
        if isinstance(raised.value, RetryAfter):
            assert raised.value.retry_after == 3
        assert await transport.send_text(ann.id, "hello", Reply("hello")) == 1
    finally:
        await transport.close()


# Every primitive call, each given an answer that is not the Bot API's: whatever came back, it
# is one of residesk's failures (here Unavailable: worth another try), never the framework's
# decode error, a KeyError or a None where a message was expected.
CALLS: dict[str, Callable[[Transport, int], Awaitable[object]]] = {
    "getUpdates": lambda t, _chat: t.get_updates(None, 0),
    "sendMessage": lambda t, chat: t.send_text(chat, "hello", Reply("hello")),
    "editMessageText": lambda t, chat: t.edit_text(chat, 1, "edited", Reply("edited")),
    "sendPhoto": lambda t, chat: t.send_file(chat, None, Reply("", file=FileRef("photo", "f"))),
    "sendMediaGroup": lambda t, chat: t.send_album(chat, Reply("", album=(
        FileRef("photo", "a"), FileRef("photo", "b")))),
    "answerCallbackQuery": lambda t, _chat: t.answer_callback("123", None),
    "getFile": lambda t, _chat: t.download("some-file-id"),
    "setMyCommands": lambda t, _chat: t.set_commands([("help", "Help")], None),
    "deleteWebhook": lambda t, _chat: t.delete_webhook(),
}


@pytest.mark.parametrize("transport_name", TRANSPORTS)
@pytest.mark.parametrize("method", list(CALLS))
@pytest.mark.parametrize(("status", "body"), [
    (502, Body.HTML), (200, Body.HTML), (500, Body.TEXT), (200, Body.TEXT),
    (200, Body.NO_RESULT), (200, Body.NOT_OBJECT), (502, Body.ERROR),
])
async def test_any_malformed_answer_is_a_failure_of_ours(
    emu: BotAPIEmulator, transport_name: str, method: str, status: int, body: Body,
) -> None:
    ann: EmulatedUser = emu.user(7004, "Ann")
    transport = await opened(transport_name, emu, _ignore)
    try:
        emu.inject_error(method, status, body=body)
        with pytest.raises(Unavailable) as raised:
            await CALLS[method](transport, ann.id)
        assert emu.token not in str(raised.value)
        assert await transport.send_text(ann.id, "hello", Reply("hello")) >= 1  # still works
    finally:
        await transport.close()


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_each_framework_stays_in_its_small_adapter() -> None:
    adapters = {"aiogram": ROOT / "bot" / "telegram" / "aiogram_transport.py",
                "telegram": ROOT / "bot" / "telegram" / "ptb_transport.py"}
    for path in (ROOT / "bot").rglob("*.py"):
        if "emulator" in path.parts:
            continue
        for framework, adapter in adapters.items():
            if path != adapter:
                assert framework not in imported_roots(path), (path, framework)
    for adapter in adapters.values():
        assert len(adapter.read_text(encoding="utf-8").splitlines()) < 300, adapter
    # state lives in our database and the notifier owns the pace: none of PTB's own
    tree = ast.parse(adapters["telegram"].read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             for alias in node.names}
    assert not names & {"ConversationHandler", "BasePersistence", "PicklePersistence",
                        "DictPersistence", "AIORateLimiter", "JobQueue"}
