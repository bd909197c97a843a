"""The Bot API emulator, driven by the real aiogram client over real (loopback) HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

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
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    MediaUnion,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.emulator import Body, BotAPIEmulator, EmulatedUser
from bot.emulator.chat import ChatClient, GroupMember

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


async def _raw(emu: BotAPIEmulator, method: str, **params: Any) -> tuple[int, str, str]:
    """One Bot API call without a framework: status, content type, body."""
    async with aiohttp.ClientSession() as http, http.post(
            f"{emu.base_url}/bot{emu.token}/{method}", json=params) as answer:
        return answer.status, answer.content_type, await answer.text()


@pytest.mark.parametrize(("body", "content_type", "text"), [
    (Body.HTML, "text/html", "<html>"),
    (Body.TEXT, "text/plain", "502 "),
    (Body.NO_RESULT, "application/json", '{"ok": true}'),
    (Body.NOT_OBJECT, "application/json", '["not", "an", "object"]'),
])
async def test_malformed_answers(emu: BotAPIEmulator, ann: EmulatedUser, body: Body,
                                 content_type: str, text: str) -> None:
    emu.inject_error("sendMessage", 502, body=body)
    status, kind, answer = await _raw(emu, "sendMessage", chat_id=ann.id, text="hi")
    assert (status, kind) == (502, content_type) and answer.startswith(text)
    assert emu.messages(ann.id) == []  # nothing was sent
    emu.inject_error("sendMessage", 200, body=Body.HTML)  # a proxy's page with status 200
    status, kind, answer = await _raw(emu, "sendMessage", chat_id=ann.id, text="hi")
    assert (status, kind) == (200, "text/html") and "Bad Gateway" in answer
    status, _, answer = await _raw(emu, "sendMessage", chat_id=ann.id, text="hi")
    assert status == 200 and '"ok": true' in answer and emu.last_message(ann.id).text == "hi"


async def test_outage_cuts_long_polls(emu: BotAPIEmulator, ann: EmulatedUser) -> None:
    poll = asyncio.ensure_future(_raw(emu, "getUpdates", timeout=30))
    await emu.wait_for(lambda: any(m == "getUpdates" for m, _ in emu.requests))
    started = time.monotonic()
    emu.start_outage(502)
    status, kind, _ = await poll  # the waiting long poll is answered at once
    assert (status, kind) == (502, "text/html") and time.monotonic() - started < 1
    for method in ("getUpdates", "sendMessage", "getMe"):
        assert (await _raw(emu, method, chat_id=ann.id, text="x"))[0] == 502
    emu.send_text(ann, "hello")
    emu.end_outage()
    status, _, answer = await _raw(emu, "getUpdates", timeout=0)
    assert status == 200 and "hello" in answer and emu.outage_answers == 4


async def test_outage_dropping_connections(emu: BotAPIEmulator, ann: EmulatedUser) -> None:
    emu.start_outage(drop_connection=True)
    with pytest.raises(aiohttp.ClientError):
        await _raw(emu, "getMe")
    emu.end_outage()
    assert (await _raw(emu, "getMe"))[0] == 200


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


# --------------------------------------------------------------------------- users replying


async def test_user_reply_nests_the_replied_message(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    question = await bot.send_message(ann.id, "When did it start?",
                                      reply_markup=keyboard(("Today", "d:0")))
    answer_id = emu.send_text(ann, "Yesterday", reply_to=question.message_id)
    (update,) = await bot.get_updates()
    answer = update.message
    assert update.update_id == answer_id and answer is not None
    replied = answer.reply_to_message
    assert replied is not None and replied.message_id == question.message_id
    assert replied.text == "When did it start?" and replied.reply_markup is not None
    assert replied.from_user is not None and replied.from_user.is_bot

    # A reply to a reply: the nested message carries no reply of its own, as in Telegram.
    emu.send_photo(ann, b"leak", caption="here", reply_to=answer.message_id)
    (update,) = await bot.get_updates(offset=answer_id + 1)
    photo = update.message
    assert photo is not None and photo.reply_to_message is not None
    assert photo.reply_to_message.text == "Yesterday"
    assert photo.reply_to_message.reply_to_message is None
    stored = emu.user_message(ann.id, photo.message_id)
    assert stored is not None and "reply_to_message" not in stored["reply_to_message"]
    assert "reply_to_message" in (emu.user_message(ann.id, answer.message_id) or {})


async def test_user_reply_to_unknown_message_fails(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    emu.add_group(STAFF_CHAT)
    gone = await bot.send_message(ann.id, "soon deleted")
    await bot.delete_message(ann.id, gone.message_id)
    await bot.send_message(STAFF_CHAT, "Card 1")
    in_group = await bot.send_message(STAFF_CHAT, "Card 2")
    for reply_to in (404, gone.message_id):
        with pytest.raises(ValueError, match="to reply to"):
            emu.send_text(ann, "hm", reply_to=reply_to)
    with pytest.raises(ValueError, match=f"no message 2 in chat {ann.id}"):
        emu.send_voice(ann, b"OggS", reply_to=in_group.message_id)  # only in the group
    assert emu.pending_updates() == 0
    emu.send_text(ann, "plain")
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.message_id == gone.message_id + 1


async def test_staff_post_media_in_group_as_replies(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    emu.add_group(STAFF_CHAT, "Staff")
    card = await bot.send_message(STAFF_CHAT, "Ticket No. 7",
                                  reply_markup=keyboard(("Take", "take:7")))
    ids = [
        emu.send_photo(ann, b"jpeg", caption="fixed", chat_id=STAFF_CHAT,
                       reply_to=card.message_id),
        emu.send_voice(ann, b"OggS", chat_id=STAFF_CHAT, reply_to=card.message_id),
        emu.send_document(ann, b"%PDF", file_name="act.pdf", mime_type="application/pdf",
                          chat_id=STAFF_CHAT, reply_to=card.message_id),
        emu.send_video(ann, b"mp4", chat_id=STAFF_CHAT, reply_to=card.message_id),
        emu.send_sticker(ann, chat_id=STAFF_CHAT, reply_to=card.message_id),
        emu.send_text(ann, "no reply", chat_id=STAFF_CHAT),
    ]
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == ids
    messages = [u.message for u in updates]
    assert all(m is not None and m.chat.id == STAFF_CHAT for m in messages)
    photo, voice, document, video, sticker, text = messages
    assert photo is not None and photo.photo is not None and photo.caption == "fixed"
    assert voice is not None and voice.voice is not None
    assert document is not None and document.document is not None
    assert video is not None and video.video is not None
    assert sticker is not None and sticker.sticker is not None
    for message in (photo, voice, document, video, sticker):
        assert message.reply_to_message is not None
        assert message.reply_to_message.message_id == card.message_id
        assert message.reply_to_message.text == "Ticket No. 7"
    assert text is not None and text.reply_to_message is None
    # The group's messages are numbered in the group; Ann's private chat is untouched.
    assert [m.message_id for m in messages if m is not None] == list(range(2, 8))
    assert emu.user_message(ann.id, 2) is None


# --------------------------------------------------------------------------- flood limits


async def _raw_send(emu: BotAPIEmulator, chat_id: int, text: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.post(
        f"{emu.base_url}/bot{emu.token}/sendMessage", json={"chat_id": chat_id, "text": text}
    ) as resp:
        return resp.status, await resp.json()


async def test_limits_are_off_by_default(emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser) -> None:
    assert (BotAPIEmulator.GLOBAL_PER_SECOND, BotAPIEmulator.PRIVATE_INTERVAL,
            BotAPIEmulator.GROUP_PER_MINUTE) == (30, 1.0, 20)
    assert not emu.enforce_limits
    for i in range(3):
        await bot.send_message(ann.id, f"quick {i}")
    assert len(emu.messages(ann.id)) == 3 and emu.rate_limited == 0


async def test_limits_keyword_and_429_body() -> None:
    async with BotAPIEmulator(enforce_limits=True) as emu:
        ann = emu.user(1001, "Ann")
        assert emu.enforce_limits
        assert await _raw_send(emu, ann.id, "one") == (200, {
            "ok": True, "result": emu.last_message(ann).raw})
        assert await _raw_send(emu, ann.id, "two") == (429, {
            "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1}})
        assert [m.text for m in emu.messages(ann)] == ["one"] and emu.rate_limited == 1
    assert emu.internal_errors == []


async def test_private_chat_limit(emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser) -> None:
    bob = emu.user(1002, "Bob")
    emu.set_limits(True)
    first = await bot.send_message(ann.id, "one", reply_markup=keyboard(("OK", "ok")))
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(ann.id, "two")
    assert retry.value.retry_after == 1
    with pytest.raises(TelegramRetryAfter):  # media counts as well
        await bot.send_photo(ann.id, BufferedInputFile(b"jpeg", filename="a.jpg"))
    assert [m.text for m in emu.messages(ann.id)] == ["one"]
    assert emu.rate_limited == 2

    # Another chat is free; edits, answers, chat actions, updates and files are not limited.
    await bot.send_message(bob.id, "hello Bob")
    emu.click(ann, emu.last_message(ann.id), "OK")
    await bot.edit_message_text("one (edited)", chat_id=ann.id, message_id=first.message_id)
    await bot.send_chat_action(ann.id, "typing")
    emu.send_photo(ann, b"photo")
    click, photo = await bot.get_updates()
    assert photo.message is not None and photo.message.photo is not None
    await bot.get_file(photo.message.photo[-1].file_id)
    assert click.callback_query is not None
    await bot.answer_callback_query(click.callback_query.id, text="fine")
    assert emu.rate_limited == 2

    await asyncio.sleep(emu.PRIVATE_INTERVAL)
    await bot.send_message(ann.id, "four")
    assert [m.text for m in emu.messages(ann.id)] == ["one (edited)", "four"]


async def test_failed_sends_do_not_count(
    emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser
) -> None:
    emu.set_limits(True)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ann.id, " ")
    emu.block(ann)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(ann.id, "blocked")
    emu.unblock(ann)
    await bot.send_message(ann.id, "the first that counts")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(ann.id, "too soon")
    assert emu.rate_limited == 1
    emu.set_limits(False)
    await bot.send_message(ann.id, "limits off")
    assert [m.text for m in emu.messages(ann.id)] == ["the first that counts", "limits off"]


async def test_global_limit(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.set_limits(True)
    users = [emu.user(2000 + i, f"R{i}") for i in range(emu.GLOBAL_PER_SECOND + 1)]
    results = await asyncio.gather(*(bot.send_message(u.id, "notice") for u in users),
                                   return_exceptions=True)
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], TelegramRetryAfter)
    assert refused[0].retry_after == 1
    assert sum(len(emu.messages(u.id)) for u in users) == emu.GLOBAL_PER_SECOND
    assert emu.rate_limited == 1


async def test_group_limit_counts_media_group_items(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.add_group(STAFF_CHAT)
    emu.set_limits(True)
    for i in range(emu.GROUP_PER_MINUTE - 1):
        await bot.send_message(STAFF_CHAT, f"card {i}")
    album: list[MediaUnion] = [
        InputMediaPhoto(media=BufferedInputFile(b"jpeg", filename=f"{i}.jpg")) for i in range(2)]
    with pytest.raises(TelegramRetryAfter) as retry:  # 19 + 2 items > 20
        await bot.send_media_group(STAFF_CHAT, media=album)
    assert 55 <= retry.value.retry_after <= 60
    last = await bot.send_message(STAFF_CHAT, "the 20th")
    status, body = await _raw_send(emu, STAFF_CHAT, "the 21st")
    assert status == 429 and body["error_code"] == 429
    assert 55 <= body["parameters"]["retry_after"] <= 60
    retry_after = body["parameters"]["retry_after"]
    assert body["description"] == f"Too Many Requests: retry after {retry_after}"
    assert len(emu.messages(STAFF_CHAT)) == emu.GROUP_PER_MINUTE
    await bot.edit_message_text("edited anyway", chat_id=STAFF_CHAT, message_id=last.message_id)
    assert emu.rate_limited == 2


async def test_clear_injections(emu: BotAPIEmulator, bot: Bot, ann: EmulatedUser) -> None:
    emu.inject_error("sendMessage", 500, times=3)
    emu.clear_injections()
    await bot.send_message(ann.id, "fine")


# --------------------------------------------------------------------------- chat clients


class TinyDesk:
    """A small bot behind the chat clients: aiogram's Dispatcher, fed update by update.

    It echoes who said what (and what it replies to) with two buttons; "Take" edits the
    message's text, "Close" removes its buttons, any other data is answered in the chat."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.offset = 0
        self.queries: list[CallbackQuery] = []
        self.dp = Dispatcher()
        self.dp.message.register(self.on_message)
        self.dp.callback_query.register(self.on_click)

    async def wait(self, update_id: int) -> str:
        while self.offset <= update_id:
            for update in await self.bot.get_updates(offset=self.offset, timeout=1):
                await self.dp.feed_update(self.bot, update)
                self.offset = update.update_id + 1
        await self.bot.get_updates(offset=self.offset)  # confirm, as the next poll would
        return f"handled {update_id}"

    async def on_message(self, message: Message) -> None:
        assert message.from_user is not None
        said = message.text or ("photo" if message.photo else "voice" if message.voice else "?")
        if message.caption:
            said += f" {message.caption!r}"
        if (replied := message.reply_to_message) is not None:
            said += f" (re #{replied.message_id})"
        await message.answer(f"{message.from_user.first_name}: {said}",
                             reply_markup=keyboard(("Take", "take"), ("Close", "close")))

    async def on_click(self, query: CallbackQuery) -> None:
        self.queries.append(query)
        await query.answer()
        message = query.message
        assert message is not None
        if query.data == "take" and isinstance(message, Message):
            await self.bot.edit_message_text(
                f"{message.text} · taken by {query.from_user.first_name}",
                chat_id=message.chat.id, message_id=message.message_id,
                reply_markup=keyboard(("Close", "close")))
        elif query.data == "close":
            await self.bot.edit_message_reply_markup(chat_id=message.chat.id,
                                                     message_id=message.message_id)
        else:
            await self.bot.send_message(message.chat.id, f"no such action: {query.data}")


@pytest.fixture
def desk(bot: Bot) -> TinyDesk:
    return TinyDesk(bot)


async def test_chat_client_replies(emu: BotAPIEmulator, desk: TinyDesk, ann: EmulatedUser) -> None:
    resident = ChatClient(emu, ann, desk.wait)
    (first,) = await resident.send("hello")
    assert first.text == "Ann: hello" and first.chat_id == ann.id
    (second,) = await resident.reply("it's me", first)
    assert second.text == f"Ann: it's me (re #{first.message_id})"
    assert resident.last_result.startswith("handled ")
    (third,) = await resident.reply_photo(b"jpeg", second, caption="look")
    assert third.text == f"Ann: photo 'look' (re #{second.message_id})"
    (fourth,) = await resident.reply_voice(b"OggS", first)
    assert resident.last_text == f"Ann: voice (re #{first.message_id})" == fourth.text
    emu.add_group(STAFF_CHAT)
    elsewhere = await desk.bot.send_message(STAFF_CHAT, "not Ann's")
    with pytest.raises(ValueError, match="not in this chat"):
        await resident.reply("sneaky", emu.last_message(STAFF_CHAT))
    with pytest.raises(ValueError, match="not in this chat"):
        await resident.click("Take", emu.last_message(STAFF_CHAT))
    assert elsewhere.message_id == 1 and emu.pending_updates() == 0


async def test_group_member_acts_in_the_group(
    emu: BotAPIEmulator, desk: TinyDesk, ann: EmulatedUser
) -> None:
    emu.add_group(STAFF_CHAT, "Staff")
    li = GroupMember(emu, emu.user(501, "Li"), STAFF_CHAT, desk.wait)
    zhao = GroupMember(emu, emu.user(502, "Zhao"), STAFF_CHAT, desk.wait)
    resident = ChatClient(emu, ann, desk.wait)
    await resident.send("my private chat")
    assert li.chat_id == STAFF_CHAT

    (card,) = await li.send("new ticket")
    assert (card.chat_id, card.text) == (STAFF_CHAT, "Li: new ticket")
    (answer,) = await zhao.reply("on it", card)
    assert answer.text == f"Zhao: on it (re #{card.message_id})"
    (photo,) = await li.reply_photo(b"jpeg", card)
    assert photo.text == f"Li: photo (re #{card.message_id})"
    (voice,) = await zhao.reply_voice(b"OggS", answer)
    assert voice.text == f"Zhao: voice (re #{answer.message_id})"
    (plain,) = await li.send_photo(b"jpeg", caption="after")
    assert plain.text == "Li: photo 'after'" and li.last == plain
    (doc,) = await li.send_document(b"%PDF", "act.pdf", "application/pdf")
    assert doc.chat_id == STAFF_CHAT

    # Buttons pressed in the group carry the group message and edit it there.
    (taken,) = await zhao.click("Take", card)
    query = desk.queries[-1]
    assert query.from_user.id == 502 and isinstance(query.message, Message)
    assert (query.message.chat.id, query.message.message_id) == (STAFF_CHAT, card.message_id)
    assert query.message.chat.type == "supergroup"
    assert taken.message_id == card.message_id and taken.edits == 1
    assert taken.text == "Li: new ticket · taken by Zhao"
    (closed,) = await li.click("Close", taken)
    assert closed.message_id == card.message_id and closed.edits == 2
    assert closed.inline_buttons == [] and closed.text == taken.text
    with pytest.raises(KeyError):
        await li.click("Take", closed)

    (forged,) = await li.forge("take:999", 999)
    assert forged.text == "no such action: take:999"
    assert (desk.queries[-1].message is not None
            and desk.queries[-1].message.chat.id == STAFF_CHAT)
    assert li.last_text == "no such action: take:999"
    assert all(m.chat_id == STAFF_CHAT for m in li.messages) and li.messages == zhao.messages
    assert [m.text for m in resident.messages] == ["Ann: my private chat"]

    with pytest.raises(ValueError, match="negative"):
        GroupMember(emu, ann, 42, desk.wait)
