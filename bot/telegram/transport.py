"""What residesk needs from a Telegram framework, and everything the two adapters share.

An adapter (`aiogram_transport`, `ptb_transport`) only translates: the framework's routing of
an update to our handler, a few primitive Bot API calls, and the framework's errors into the
five failures below. Reading a message into a neutral event (commands parsed), building
keyboards, deciding how a reply is shown (edit or send anew, album, caption, length) and
when a call is retried live here, once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, TypeVar, get_args

from bot.settings import TransportName
from conversations.events import (
    Button,
    CallbackAnswer,
    Event,
    EventKind,
    FileRef,
    Media,
    Reply,
    Sender,
    clean_optional,
    clean_text,
)

log = logging.getLogger(__name__)

TRANSPORTS: tuple[str, ...] = get_args(TransportName)
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ALLOWED_UPDATES = ["message", "callback_query"]
T = TypeVar("T")
Handle = Callable[[Event], Awaitable[None]]


# --- failures, whatever the framework ----------------------------------------------------


class TelegramFailure(Exception):
    """A Bot API call failed. `message` is Telegram's description, never a URL (the URL holds
    the bot token)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(TelegramFailure):
    """401: the bot token is wrong or was revoked; nothing will work until it is fixed."""


class Forbidden(TelegramFailure):
    """403: the user blocked the bot, or the bot is no longer in the group."""


class BadRequest(TelegramFailure):
    """400: trying again will not help."""


class RetryAfter(TelegramFailure):
    """429: flood control; nothing to this chat before `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(TelegramFailure):
    """5xx, a timeout, a dropped connection, or an answer that is not the Bot API's (a
    proxy's HTML page, text that is not JSON, no result): worth another try later."""


MALFORMED = "malformed answer from the Bot API"


def present(result: T | None, method: str) -> T:
    """The result of a call; an answer without one (`{"ok": true}`, or a None the framework
    made of something else) is a failure, not a message that was sent."""
    if result is None:
        raise Unavailable(f"{method}: {MALFORMED} (no result)")
    return result


# --- the adapter's side ------------------------------------------------------------------


class Transport(Protocol):
    """The primitive Bot API calls an adapter makes, with its framework, over real HTTP.
    Every call raises only the failures above."""

    name: str

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def delete_webhook(self) -> None: ...
    async def set_webhook(self, url: str, secret: str, max_connections: int) -> None: ...
    def parse_update(self, data: dict[str, Any]) -> object:
        """A webhook's JSON body as the framework's update; ValueError if it is none."""
        ...
    async def set_commands(self, commands: Sequence[tuple[str, str]],
                           language_code: str | None) -> None: ...
    async def get_updates(self, offset: int | None, poll_seconds: int) -> Sequence[object]: ...
    def update_id(self, update: object) -> int: ...
    def chat_of(self, update: object) -> int:
        """The chat whose order the update belongs to (0 if none)."""
        ...
    async def dispatch(self, update: object) -> None:
        """Route the update through the framework to the handler given at construction."""
        ...
    async def send_text(self, chat_id: int, text: str, reply: Reply) -> int: ...
    async def send_file(self, chat_id: int, caption: str | None, reply: Reply) -> int: ...
    async def send_album(self, chat_id: int, reply: Reply) -> list[int]: ...
    async def edit_text(self, chat_id: int, message_id: int, text: str, reply: Reply) -> None: ...
    async def answer_callback(self, callback_id: str, answer: CallbackAnswer | None) -> None: ...
    async def download(self, file_id: str) -> bytes: ...


def make_transport(name: str, token: str, api_url: str, handle: Handle,
                   staff_chat_id: int | None) -> Transport:
    """The adapter for TRANSPORT=name (imported only when chosen)."""
    if name == "ptb":
        from bot.telegram.ptb_transport import PTBTransport
        return PTBTransport(token, api_url, handle, staff_chat_id)
    if name == "aiogram":
        from bot.telegram.aiogram_transport import AiogramTransport
        return AiogramTransport(token, api_url, handle, staff_chat_id)
    raise ValueError(f"unknown transport {name!r}; choose one of {', '.join(TRANSPORTS)}")


# --- the Bot API's own shape, shared -----------------------------------------------------
# aiogram's and python-telegram-bot's Message, User, PhotoSize… carry the Bot API's field
# names, and their keyboard classes take the Bot API's fields as keywords: reading a message
# and building a keyboard are written once here, for either framework's objects and classes
# (`types` is `aiogram.types` or the `telegram` module). tests/test_transports.py checks that
# both frameworks give the same events and the same messages.


def media_of(message: Any) -> Media | None:
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return Media("photo", photo.file_id, photo.file_unique_id, photo.file_size or 0,
                     "image/jpeg")
    video = message.video or message.video_note
    if video is not None:
        return Media("video", video.file_id, video.file_unique_id, video.file_size or 0,
                     getattr(video, "mime_type", None) or "video/mp4")
    for kind, audio in (("voice", message.voice), ("audio", message.audio)):
        if audio is not None:
            return Media(kind, audio.file_id, audio.file_unique_id, audio.file_size or 0,
                         audio.mime_type)
    doc = message.document
    if doc is not None:
        return Media("document", doc.file_id, doc.file_unique_id, doc.file_size or 0,
                     doc.mime_type)
    return None


def message_event(message: Any, update_id: int) -> Event:
    """The message as a neutral event; every text in it cleaned of control characters here,
    where it comes in, so that no field of any table ever holds one."""
    user, replied = message.from_user, message.reply_to_message
    text = clean_optional(message.text)
    base: dict[str, Any] = {
        "update_id": update_id, "message_id": message.message_id,
        "sender": Sender(user.id, message.chat.id, clean_text(user.full_name),
                         user.language_code),
        "reply_to_message_id": replied.message_id if replied else None}
    if text is not None:
        if text.startswith("/"):
            head, _, args = text.partition(" ")
            name = head[1:].split("@", 1)[0].lower()
            return Event(kind=EventKind.COMMAND, text=text, command=name,
                         command_args=args.strip(), **base)
        return Event(kind=EventKind.TEXT, text=text, **base)
    if message.contact is not None:
        return Event(kind=EventKind.CONTACT, phone=clean_text(message.contact.phone_number),
                     contact_user_id=message.contact.user_id, **base)
    if message.location is not None:
        return Event(kind=EventKind.LOCATION, **base)
    media = media_of(message)
    if media is not None:
        return Event(kind=EventKind(media.kind), media=media, text=clean_optional(message.caption),
                     album_id=message.media_group_id, **base)
    return Event(kind=EventKind.OTHER, **base)


def button_event(query: Any, update_id: int) -> Event:
    message, user = query.message, query.from_user  # message: maybe no longer accessible
    return Event(update_id=update_id, kind=EventKind.BUTTON,
                 callback_data=clean_optional(query.data), callback_id=query.id,
                 sender=Sender(user.id, message.chat.id if message is not None else user.id,
                               clean_text(user.full_name), user.language_code),
                 message_id=message.message_id if message is not None else None)


def inline_button_of(button: Button, types: ModuleType) -> Any:
    if button.url is None:
        return types.InlineKeyboardButton(text=button.text, callback_data=button.data)
    if button.mini_app:
        return types.InlineKeyboardButton(text=button.text,
                                          web_app=types.WebAppInfo(url=button.url))
    return types.InlineKeyboardButton(text=button.text, url=button.url)


def markup_of(reply: Reply, types: ModuleType) -> Any:
    if reply.buttons:
        return types.InlineKeyboardMarkup(inline_keyboard=[
            [inline_button_of(b, types) for b in row] for row in reply.buttons])
    if reply.keyboard:
        return types.ReplyKeyboardMarkup(
            keyboard=[[types.KeyboardButton(text=b.text,
                                            request_contact=b.request_contact or None)
                       for b in row] for row in reply.keyboard],
            resize_keyboard=True,
            # a reply keyboard stays, except one asking for the phone number (used once)
            is_persistent=not any(b.request_contact for row in reply.keyboard for b in row))
    if reply.remove_keyboard:
        return types.ReplyKeyboardRemove()
    return None


def inline_markup_of(reply: Reply, types: ModuleType) -> Any:
    """The inline keyboard only: an edited message can carry no other."""
    markup = markup_of(reply, types)
    return markup if isinstance(markup, types.InlineKeyboardMarkup) else None


def reply_parameters_of(reply: Reply, types: ModuleType) -> Any:
    if reply.reply_to is None:
        return None
    return types.ReplyParameters(message_id=reply.reply_to, allow_sending_without_reply=True)


def file_of(file: FileRef, types: ModuleType) -> Any:
    """What the framework sends for a file: its id, or an upload (aiogram wraps the bytes in
    BufferedInputFile, a kept copy in FSInputFile; python-telegram-bot takes bytes and paths
    as they are)."""
    if file.path is not None:
        local = getattr(types, "FSInputFile", None)
        return local(file.path, filename=file.name or None) if local else Path(file.path)
    if file.data is None:
        return file.file_id
    upload = getattr(types, "BufferedInputFile", None)
    return upload(file.data, filename=file.name) if upload else types.InputFile(
        file.data, filename=file.name)


def entities_of(text: str, reply: Reply, types: ModuleType) -> list[Any] | None:
    """The text mentions of a reply's people, found in `text` in their order (offsets in
    UTF-16 code units, as the Bot API counts); None when there are none."""
    entities, start = [], 0
    for mention in reply.mentions:
        at = text.find(mention.name, start) if mention.name else -1
        if at < 0:
            continue
        offset = len(text[:at].encode("utf-16-le")) // 2
        length = len(mention.name.encode("utf-16-le")) // 2
        entities.append(types.MessageEntity(
            type="text_mention", offset=offset, length=length,
            user=types.User(id=mention.user_id, is_bot=False, first_name=mention.name)))
        start = at + len(mention.name)
    return entities or None


ALBUM_ITEMS = {"photo": "InputMediaPhoto", "video": "InputMediaVideo",
               "document": "InputMediaDocument", "audio": "InputMediaAudio"}


def album_of(reply: Reply, types: ModuleType) -> list[Any]:
    return [getattr(types, ALBUM_ITEMS[f.kind])(media=file_of(f, types)) for f in reply.album]


FILE_SENDERS = {"photo": "send_photo", "video": "send_video", "voice": "send_voice",
                "audio": "send_audio"}


def file_sender(bot: Any, kind: str) -> Any:
    """The bot's method that sends this kind of file (named alike in both frameworks)."""
    return getattr(bot, FILE_SENDERS.get(kind, "send_document"))


def listened(chat_type: str, chat_id: int, staff_chat_id: int | None) -> bool:
    """Private chats and the staff group are listened to; other groups are not."""
    return chat_type == "private" or (staff_chat_id is not None and chat_id == staff_chat_id)


# --- neutral -> Telegram, shared ---------------------------------------------------------


def fit(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def inline_only(reply: Reply) -> bool:
    """Telegram edits a message's inline keyboard only; a reply keyboard needs a new one."""
    return not reply.keyboard and not reply.remove_keyboard


async def send_reply(transport: Transport, chat_id: int, reply: Reply, *,
                     edit: int | None = None) -> list[int]:
    """One neutral reply as Bot API calls; returns the ids of the messages it produced (an
    edited message keeps its id). An edit that cannot be made is sent as a new message."""
    edit = edit or reply.edit_message_id
    if edit is not None and reply.file is None and not reply.album and inline_only(reply):
        try:
            await transport.edit_text(chat_id, edit, fit(reply.text), reply)
            return [edit]
        except BadRequest as error:
            if "not modified" in error.message:
                return [edit]
            log.info("edit failed, sending anew: %s", error.message)
    if reply.album:
        return await transport.send_album(chat_id, reply)
    if reply.file is not None:
        caption = fit(reply.text)[:CAPTION_LIMIT] or None
        return [await transport.send_file(chat_id, caption, reply)]
    return [await transport.send_text(chat_id, fit(reply.text), reply)]


async def deliver(transport: Transport, event: Event, replies: Sequence[Reply],
                  answer: CallbackAnswer | None, *,
                  rate_limited: Callable[[], None] | None = None) -> None:
    """Show an update's outcome: answer the button first (stops the spinner), then the
    messages, each retried through a short outage (`rate_limited` hears of each 429)."""
    if event.callback_id is not None:
        try:
            await retrying(partial(transport.answer_callback, event.callback_id, answer),
                           rate_limited=rate_limited)
        except BadRequest as error:  # too old: the resident has moved on anyway
            log.info("callback answer refused: %s", error.message)
    for reply in replies:
        edit = event.message_id if reply.edit and event.kind == EventKind.BUTTON else None
        await retrying(partial(send_reply, transport, event.sender.chat_id, reply, edit=edit),
                       rate_limited=rate_limited)


# --- resilience --------------------------------------------------------------------------


async def retrying(call: Callable[[], Awaitable[T]], *, attempts: int = 4,
                   max_wait: float = 30.0,
                   rate_limited: Callable[[], None] | None = None) -> T:
    """Wait out a short 429 and retry 5xx / network failures a few times, with backoff.
    (The notifier does not use this: it retries per outbox row, in the database.)"""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as error:
            if rate_limited is not None:
                rate_limited()
            if attempt == attempts or error.retry_after > max_wait:
                raise
            log.warning("flood control, waiting %ss", error.retry_after)
            await asyncio.sleep(error.retry_after)
        except Unavailable as error:
            if attempt == attempts:
                raise
            log.warning("Telegram unavailable (%s), retrying", error.message)
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
