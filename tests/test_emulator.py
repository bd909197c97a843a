"""The Bot API emulator, driven by the real aiogram client over real (loopback) HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.emulator import BotAPIEmulator, EmulatedUser

STAFF_CHAT = -1001234567890


@pytest.fixture
async def emu() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator() as emulator:
        yield emulator
    assert emulator.internal_errors == []


@pytest.fixture
async def bot(emu: BotAPIEmulator) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url))
    client = Bot(emu.token, session=session)
    yield client
    # Close the underlying aiohttp session first: AiohttpSession.close() then skips its 250 ms
    # grace sleep (meant for draining SSL connections; this is plain HTTP on loopback).
    http = await session.create_session()
    await http.close()
    await client.session.close()


@pytest.fixture
def ann(emu: BotAPIEmulator) -> EmulatedUser:
    return emu.user(1001, "Ann", language_code="en", username="ann")


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in buttons]
    )


async def test_get_me(emu: BotAPIEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == emu.bot_id == 123456789
    assert me.is_bot and me.username == "residesk_bot"
    assert emu.requests[0] == ("getMe", {})


async def test_text_and_command_arrive_as_aiogram_types(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    first = emu.send_text(ann, "/start flat-12")
    second = emu.send_text(ann, "The heating is broken")
    assert emu.pending_updates() == 2

    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first, second]
    command = updates[0].message
    assert command is not None and command.from_user is not None
    assert command.text == "/start flat-12"
    assert command.from_user.id == 1001 and command.from_user.language_code == "en"
    assert command.chat.id == 1001 and command.chat.type == "private"
    assert command.entities is not None
    assert (command.entities[0].type, command.entities[0].offset, command.entities[0].length) == (
        "bot_command", 0, 6)
    plain = updates[1].message
    assert plain is not None and plain.entities is None
    assert plain.message_id == command.message_id + 1

    # Unconfirmed updates come again; offset confirms them.
    assert len(await bot.get_updates()) == 2
    assert await bot.get_updates(offset=second + 1) == []
    assert emu.pending_updates() == 0
    await emu.wait_until_consumed(second, timeout=0.5)


async def test_group_message_and_other_kinds(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    emu.send_text(ann, "/take 5", chat_id=STAFF_CHAT)
    emu.send_contact(ann, "+15550001")
    emu.send_contact(ann, "+15550002", own=False)
    emu.send_location(ann, 52.5, 13.4)
    emu.send_sticker(ann)
    emu.send_voice(ann, b"OggS-voice")
    emu.send_video(ann, b"mp4-video", declared_size=5000)
    emu.send_document(ann, b"%PDF-1.4", file_name="lease.pdf", mime_type="application/pdf")

    messages = [u.message for u in await bot.get_updates()]
    assert all(isinstance(m, Message) for m in messages)
    group, own, foreign, location, sticker, voice, video, document = messages
    assert group is not None and group.chat.type == "supergroup"
    assert group.chat.id == STAFF_CHAT and group.message_id == 1
    assert own is not None and own.contact is not None and own.contact.user_id == ann.id
    assert foreign is not None and foreign.contact is not None
    assert foreign.contact.user_id != ann.id
    assert location is not None and location.location is not None
    assert location.location.latitude == 52.5
    assert sticker is not None and sticker.sticker is not None
    assert voice is not None and voice.voice is not None
    assert video is not None and video.video is not None and video.video.file_size == 5000
    assert document is not None and document.document is not None
    assert document.document.file_name == "lease.pdf"
    downloaded = await bot.download(document.document.file_id)
    assert downloaded is not None and downloaded.read() == b"%PDF-1.4"


async def test_inline_keyboard_click_and_answer(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    sent = await bot.send_message(
        ann.id, "<b>Pick a category</b>", parse_mode="HTML",
        reply_markup=keyboard(("Heating", "cat:heat"), ("Water leak", "cat:water")),
    )
    assert sent.reply_markup is not None
    message = emu.last_message(ann.id)
    assert message.text == "<b>Pick a category</b>" and message.kind == "text"
    assert [[b.text for b in row] for row in message.inline_buttons] == [
        ["Heating"], ["Water leak"]]
    assert message.button("cat:water").text == "Water leak"
    assert message.button("Water").callback_data == "cat:water"
    with pytest.raises(KeyError, match="Heating"):
        message.button("Electricity")

    update_id = emu.click(ann, message, "Heating")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert update.update_id == update_id and query is not None
    assert query.data == "cat:heat" and query.from_user.id == ann.id
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id

    assert await bot.answer_callback_query(query.id, text="Noted", show_alert=True)
    assert emu.callback_answers == [
        {"callback_query_id": query.id, "text": "Noted", "show_alert": True}]
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)

    # A forged callback for an unknown message carries an inaccessible message.
    emu.send_callback(ann, 999, "cat:forged")
    (forged,) = await bot.get_updates(offset=update_id + 1)
    assert forged.callback_query is not None and forged.callback_query.data == "cat:forged"
    assert forged.callback_query.message is not None
    assert forged.callback_query.message.message_id == 999


async def test_edit_delete_and_not_modified(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    sent = await bot.send_message(ann.id, "Status: open", reply_markup=keyboard(("Close", "c")))
    activity = emu.activity
    edited = await bot.edit_message_text("Status: closed", chat_id=ann.id,
                                         message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.text == "Status: closed"
    message = emu.last_message(ann.id)
    assert (message.text, message.edits, message.reply_markup) == ("Status: closed", 1, None)
    assert emu.activity == activity + 1

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Status: closed", chat_id=ann.id, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ann.id, message_id=404)
    await bot.edit_message_reply_markup(chat_id=ann.id, message_id=sent.message_id,
                                        reply_markup=keyboard(("Reopen", "r")))
    assert emu.last_message(ann.id).button("Reopen").callback_data == "r"

    assert await bot.delete_message(ann.id, sent.message_id)
    assert emu.messages(ann.id) == []
    assert emu.messages(ann.id, include_deleted=True)[0].deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ann.id, sent.message_id)
    with pytest.raises(AssertionError):
        emu.last_message(ann.id)


async def test_send_message_validation(emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(555, "hello")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ann.id, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ann.id, " ")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ann.id, "hi", reply_markup=keyboard(("Big", "x" * 65)))
    assert emu.messages(ann.id) == []

    await bot.send_message(ann.id, "Share your phone", reply_markup=ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Share", request_contact=True)]], resize_keyboard=True))
    (row,) = emu.last_message(ann.id).keyboard_buttons
    assert row[0].text == "Share" and row[0].request_contact
    await bot.send_message(ann.id, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert emu.last_message(ann.id).removes_keyboard

    emu.add_group(STAFF_CHAT, "Staff")
    reply = await bot.send_message(STAFF_CHAT, "New ticket", reply_to_message_id=12,
                                   allow_sending_without_reply=True)
    assert reply.chat.title == "Staff"
    assert emu.requests[-1][1]["chat_id"] == STAFF_CHAT
    chat = await bot.get_chat(STAFF_CHAT)
    assert chat.type == "supergroup"


async def test_user_photo_album_and_download(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    emu.send_photo(ann, b"single-photo", caption="Mould in the bathroom")
    album = emu.send_album(ann, [b"album-1", b"album-2"])
    assert len(album) == 2

    updates = await bot.get_updates()
    photos = [u.message for u in updates]
    assert photos[0] is not None and photos[0].caption == "Mould in the bathroom"
    assert photos[0].photo is not None and len(photos[0].photo) == 2
    group_ids = {m.media_group_id for m in photos[1:] if m is not None}
    assert len(group_ids) == 1 and None not in group_ids

    for message, expected in zip(photos, [b"single-photo", b"album-1", b"album-2"], strict=True):
        assert message is not None and message.photo is not None
        biggest = message.photo[-1]
        file = await bot.get_file(biggest.file_id)
        assert file.file_path is not None and file.file_path.startswith("photos/")
        data = await bot.download(biggest)
        assert data is not None and data.read() == expected
        thumbnail = await bot.download(message.photo[0])
        assert thumbnail is not None and thumbnail.read()


async def test_file_over_20_mb_cannot_be_fetched(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    emu.send_video(ann, b"tiny", declared_size=21 * 1024 * 1024)
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.video is not None
    assert update.message.video.file_size == 21 * 1024 * 1024
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(update.message.video.file_id)


async def test_bot_uploads_photo_and_reuses_file_id(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    emu.add_group(STAFF_CHAT)
    sent = await bot.send_photo(
        STAFF_CHAT, BufferedInputFile(b"jpeg-bytes", filename="leak.jpg"), caption="Ticket #7",
        reply_markup=keyboard(("Take", "take:7")),
    )
    assert sent.photo is not None
    file_id = sent.photo[-1].file_id
    assert emu.sent_files == {file_id: b"jpeg-bytes"}
    message = emu.last_message(STAFF_CHAT)
    assert (message.kind, message.text, message.file_id) == ("photo", "Ticket #7", file_id)

    again = await bot.send_photo(ann.id, file_id)
    assert again.photo is not None and again.photo[-1].file_id == file_id
    await bot.edit_message_caption(chat_id=STAFF_CHAT, message_id=sent.message_id,
                                   caption="Ticket #7 (taken)")
    assert emu.last_message(STAFF_CHAT).text == "Ticket #7 (taken)"
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(ann.id, "no-such-file")

    doc = await bot.send_document(ann.id, BufferedInputFile(b"a,b\n", filename="report.csv"))
    assert doc.document is not None and doc.document.file_name == "report.csv"
    assert emu.sent_files[doc.document.file_id] == b"a,b\n"


async def test_send_media_group(emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser) -> None:
    emu.send_photo(ann, b"from-ann")
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.photo is not None
    existing = update.message.photo[-1].file_id

    emu.add_group(STAFF_CHAT)
    sent = await bot.send_media_group(STAFF_CHAT, media=[
        InputMediaPhoto(media=existing, caption="Ticket #9"),
        InputMediaPhoto(media=BufferedInputFile(b"new-upload", filename="b.jpg")),
    ])
    assert len(sent) == 2 and sent[0].media_group_id == sent[1].media_group_id
    items = emu.messages(STAFF_CHAT)
    assert [m.kind for m in items] == ["media_group_item", "media_group_item"]
    assert items[0].text == "Ticket #9" and items[0].file_id == existing
    assert items[1].file_id is not None and emu.sent_files[items[1].file_id] == b"new-upload"


async def test_injected_errors(emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser) -> None:
    emu.inject_error("sendMessage", 429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(ann.id, "hi")
    assert retry.value.retry_after == 7

    emu.inject_error("*", 500, times=2)
    assert await bot.get_updates() == []  # "*" spares getUpdates
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.get_me()

    emu.inject_error("sendMessage", 400, description="Bad Request: custom")
    with pytest.raises(TelegramBadRequest, match="custom"):
        await bot.send_message(ann.id, "hi")

    await bot.send_message(ann.id, "delivered at last")
    assert [m.text for m in emu.messages(ann.id)] == ["delivered at last"]


async def test_drop_connection(emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser) -> None:
    await bot.get_me()  # leave a kept-alive connection in the pool
    emu.inject_error("sendMessage", 200, drop_connection=True)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(ann.id, "lost")
    assert emu.messages(ann.id) == []
    await bot.send_message(ann.id, "works again")
    assert emu.last_message(ann.id).text == "works again"


async def test_blocked_user(emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser) -> None:
    emu.block(ann)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ann.id, "hello?")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_photo(ann.id, BufferedInputFile(b"img", filename="a.jpg"))
    emu.unblock(ann)
    await bot.send_message(ann.id, "welcome back")


async def test_redeliver_same_update_id(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    update_id = emu.send_text(ann, "once")
    (first,) = await bot.get_updates()
    assert await bot.get_updates(offset=update_id + 1) == []
    emu.redeliver(update_id)
    assert emu.pending_updates() == 1
    (again,) = await bot.get_updates(offset=update_id + 1)
    assert again.update_id == first.update_id == update_id
    assert again.message is not None and again.message.text == "once"
    assert await bot.get_updates(offset=update_id + 1) == []
    assert emu.pending_updates() == 0


async def test_long_polling_wakes_on_new_update(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    async def user_writes_soon() -> int:
        await asyncio.sleep(0.1)
        return emu.send_text(ann, "hello")

    started = time.monotonic()
    updates, update_id = await asyncio.gather(bot.get_updates(timeout=5), user_writes_soon())
    assert time.monotonic() - started < 1.5
    assert [u.update_id for u in updates] == [update_id]

    started = time.monotonic()
    assert await bot.get_updates(offset=update_id + 1, timeout=1) == []
    assert time.monotonic() - started >= 0.9


async def test_stop_releases_waiting_poller(emu: BotAPIEmulator, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await emu.wait_for(lambda: any(name == "getUpdates" for name, _ in emu.requests))
    started = time.monotonic()
    await emu.stop()
    assert await asyncio.wait_for(poll, 2) == []
    assert time.monotonic() - started < 2


async def test_set_my_commands_per_language(emu: BotAPIEmulator, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands([BotCommand(command="start", description="Начать")],
                              language_code="ru", scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands([BotCommand(command="queue", description="Open tickets")],
                              scope=BotCommandScopeChat(chat_id=STAFF_CHAT))
    assert emu.commands[("default", "")] == [{"command": "start", "description": "Start"}]
    assert emu.commands[("all_private_chats", "ru")][0]["description"] == "Начать"
    assert emu.commands[("chat", "")] == emu.commands[(f"chat:{STAFF_CHAT}", "")]
    assert emu.commands[("chat", "")][0]["command"] == "queue"
    fetched = await bot.get_my_commands(language_code="ru", scope=BotCommandScopeAllPrivateChats())
    assert [c.description for c in fetched] == ["Начать"]
    assert await bot.delete_my_commands()
    assert ("default", "") not in emu.commands
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])


async def test_raw_http_errors(emu: BotAPIEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emu.base_url}/bot1:wrong/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {"ok": False, "error_code": 401,
                                         "description": "Unauthorized"}
        async with http.post(f"{emu.base_url}/bot{emu.token}/sendSticker") as resp:
            assert resp.status == 404
            assert (await resp.json())["description"] == "Not Found"
        async with http.post(f"{emu.base_url}/bot{emu.token}/sendMessage",
                             json={"chat_id": "not-a-number", "text": "x"}) as resp:
            assert resp.status == 400 and not (await resp.json())["ok"]
        async with http.get(f"{emu.base_url}/bot{emu.token}/getMe?x=1") as resp:
            assert (await resp.json())["result"]["username"] == "residesk_bot"
        async with http.get(f"{emu.base_url}/file/bot{emu.token}/photos/nope.jpg") as resp:
            assert resp.status == 404


async def test_real_dispatcher_polling(emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
    )
    try:
        update_id = emu.send_text(ann, "hi there")
        await emu.wait_for(lambda: bool(emu.messages(ann.id)))
        assert emu.last_message(ann.id).text == "echo: hi there"
        await emu.wait_until_consumed(update_id)
        assert emu.pending_updates() == 0
    finally:
        await dp.stop_polling()
        await polling
