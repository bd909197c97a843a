"""What residesk needs from a Telegram framework, and everything the two adapters share.

An adapter (`aiogram_transport`, `ptb_transport`) only translates: framework updates into the
neutral events of `conversations/`, a few primitive Bot API calls, and the framework's errors
into the five failures below. Deciding how a reply is shown (edit or send anew, album, caption,
length), how commands are parsed and when a call is retried lives here, once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar, get_args

from bot.settings import TransportName
from conversations.events import CallbackAnswer, Event, EventKind, Media, Reply, Sender

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
    """5xx, a timeout or a dropped connection: worth another try later."""


# --- the adapter's side ------------------------------------------------------------------


class Transport(Protocol):
    """The primitive Bot API calls an adapter makes, with its framework, over real HTTP.
    Every call raises only the failures above."""

    name: str

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def delete_webhook(self) -> None: ...
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
        from bot.ptb_transport import PTBTransport
        return PTBTransport(token, api_url, handle, staff_chat_id)
    if name == "aiogram":
        from bot.aiogram_transport import AiogramTransport
        return AiogramTransport(token, api_url, handle, staff_chat_id)
    raise ValueError(f"unknown transport {name!r}; choose one of {', '.join(TRANSPORTS)}")


# --- Telegram -> neutral, shared ---------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """The parts of a Telegram message that matter, as an adapter read them."""

    update_id: int
    sender: Sender
    message_id: int
    reply_to_message_id: int | None = None
    text: str | None = None
    caption: str | None = None
    phone: str | None = None
    contact_user_id: int | None = None
    has_location: bool = False
    media: Media | None = None
    album_id: str | None = None


def message_event(message: Incoming) -> Event:
    base: dict[str, Any] = {"update_id": message.update_id, "sender": message.sender,
            "message_id": message.message_id,
            "reply_to_message_id": message.reply_to_message_id}
    text = message.text
    if text is not None:
        if text.startswith("/"):
            head, _, args = text.partition(" ")
            name = head[1:].split("@", 1)[0].lower()
            return Event(kind=EventKind.COMMAND, text=text, command=name,
                         command_args=args.strip(), **base)
        return Event(kind=EventKind.TEXT, text=text, **base)
    if message.phone is not None:
        return Event(kind=EventKind.CONTACT, phone=message.phone,
                     contact_user_id=message.contact_user_id, **base)
    if message.has_location:
        return Event(kind=EventKind.LOCATION, **base)
    if message.media is not None:
        return Event(kind=EventKind(message.media.kind), media=message.media,
                     text=message.caption, album_id=message.album_id,
                     **base)
    return Event(kind=EventKind.OTHER, **base)


def button_event(update_id: int, sender: Sender, data: str | None, callback_id: str,
                 message_id: int | None) -> Event:
    return Event(update_id=update_id, sender=sender, kind=EventKind.BUTTON,
                 callback_data=data, callback_id=callback_id, message_id=message_id)


def listened(chat_type: str, chat_id: int, staff_chat_id: int | None) -> bool:
    """Private chats and the staff group are listened to; other groups are not."""
    return chat_type == "private" or (staff_chat_id is not None and chat_id == staff_chat_id)


# --- neutral -> Telegram, shared ---------------------------------------------------------


def fit(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def persistent_keyboard(reply: Reply) -> bool:
    """A reply keyboard stays, except one asking for the phone number (used once)."""
    return not any(b.request_contact for row in reply.keyboard for b in row)


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
                  answer: CallbackAnswer | None) -> None:
    """Show an update's outcome: answer the button first (stops the spinner), then the
    messages, each retried through a short outage."""
    if event.callback_id is not None:
        try:
            await retrying(partial(transport.answer_callback, event.callback_id, answer))
        except BadRequest as error:  # too old: the resident has moved on anyway
            log.info("callback answer refused: %s", error.message)
    for reply in replies:
        edit = event.message_id if reply.edit and event.kind == EventKind.BUTTON else None
        await retrying(partial(send_reply, transport, event.sender.chat_id, reply, edit=edit))


# --- resilience --------------------------------------------------------------------------


async def retrying(call: Callable[[], Awaitable[T]], *, attempts: int = 4,
                   max_wait: float = 30.0) -> T:
    """Wait out a short 429 and retry 5xx / network failures a few times, with backoff.
    (The notifier does not use this: it retries per outbox row, in the database.)"""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as error:
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
