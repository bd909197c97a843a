"""aiogram adapter: Telegram updates to neutral events, neutral replies to Bot API calls.

It only translates; every rule lives in `conversations/` and `tickets/`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router, methods
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    InputMediaVideo,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)

from conversations.events import Event, EventKind, FileRef, Media, Outcome, Reply, Sender

log = logging.getLogger(__name__)

# aiogram parses every answer with `Response[method.__returning__]`; pydantic caches such
# generic classes only weakly, and rebuilds one (~10 ms) whenever the cache lost it. Holding
# the ones we use keeps every request off that path.
RESPONSE_TYPES = [
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (methods.SendMessage, methods.EditMessageText, methods.AnswerCallbackQuery,
                   methods.GetUpdates, methods.GetFile, methods.SetMyCommands,
                   methods.DeleteWebhook, methods.GetMe, methods.SendPhoto,
                   methods.SendMediaGroup, methods.SendVoice, methods.SendDocument)
]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
Send = Callable[[Outcome], Awaitable[None]]
Handler = Callable[[Event, Send], Awaitable[None]]


# --- Telegram -> neutral -----------------------------------------------------------------


def sender_of(message: Message, user: Any) -> Sender:
    return Sender(
        user_id=user.id,
        chat_id=message.chat.id,
        display_name=user.full_name,
        language_code=user.language_code,
    )


def media_of(message: Message) -> Media | None:
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return Media("photo", photo.file_id, photo.file_unique_id, photo.file_size or 0,
                     "image/jpeg")
    if message.video or message.video_note:
        video = message.video or message.video_note
        assert video is not None
        mime = getattr(video, "mime_type", None) or "video/mp4"
        return Media("video", video.file_id, video.file_unique_id, video.file_size or 0, mime)
    if message.voice or message.audio:
        audio = message.voice or message.audio
        assert audio is not None
        return Media("voice", audio.file_id, audio.file_unique_id, audio.file_size or 0,
                     audio.mime_type)
    if message.document:
        doc = message.document
        return Media("document", doc.file_id, doc.file_unique_id, doc.file_size or 0,
                     doc.mime_type)
    return None


def event_from_message(message: Message, update_id: int) -> Event:
    user = message.from_user
    assert user is not None
    sender = sender_of(message, user)
    replied = message.reply_to_message
    base: dict[str, Any] = {"update_id": update_id, "sender": sender,
                            "message_id": message.message_id,
                            "reply_to_message_id": replied.message_id if replied else None}
    text = message.text
    if text is not None:
        if text.startswith("/"):
            head, _, args = text.partition(" ")
            name = head[1:].split("@", 1)[0].lower()
            return Event(kind=EventKind.COMMAND, text=text, command=name,
                         command_args=args.strip(), **base)
        return Event(kind=EventKind.TEXT, text=text, **base)
    if message.contact is not None:
        return Event(kind=EventKind.CONTACT, phone=message.contact.phone_number,
                     contact_user_id=message.contact.user_id, **base)
    if message.location is not None:
        return Event(kind=EventKind.LOCATION, **base)
    media = media_of(message)
    if media is not None:
        return Event(kind=EventKind(media.kind), media=media, text=message.caption,
                     album_id=message.media_group_id, **base)
    return Event(kind=EventKind.OTHER, **base)


def event_from_callback(query: CallbackQuery, update_id: int) -> Event:
    message = query.message
    chat_id = message.chat.id if message is not None else query.from_user.id
    return Event(
        update_id=update_id,
        sender=Sender(query.from_user.id, chat_id, query.from_user.full_name,
                      query.from_user.language_code),
        kind=EventKind.BUTTON,
        callback_data=query.data,
        callback_id=query.id,
        message_id=message.message_id if isinstance(message, Message) else None,
    )


# --- neutral -> Telegram -----------------------------------------------------------------


Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def markup_of(reply: Reply) -> Markup | None:
    if reply.buttons:
        return InlineKeyboardMarkup(inline_keyboard=[
            [InlineKeyboardButton(text=b.text, callback_data=b.data) for b in row]
            for row in reply.buttons
        ])
    if reply.keyboard:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=b.text, request_contact=b.request_contact or None)
                       for b in row] for row in reply.keyboard],
            resize_keyboard=True,
            is_persistent=not any(b.request_contact for row in reply.keyboard for b in row),
        )
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


def fit(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


async def deliver(bot: Bot, event: Event, outcome: Outcome) -> None:
    """Show the outcome: answer the button first (stops the spinner), then the messages."""
    if event.callback_id is not None:
        answer = outcome.callback_answer
        try:
            await bot.answer_callback_query(
                event.callback_id,
                text=answer.text if answer else None,
                show_alert=answer.alert if answer else None,
            )
        except TelegramBadRequest as error:  # too old: the resident has moved on anyway
            log.info("callback answer refused: %s", error.message)
    for reply in outcome.replies:
        edit = event.message_id if reply.edit and event.kind == EventKind.BUTTON else None
        await send_reply(bot, event.sender.chat_id, reply, edit=edit)


async def send_reply(bot: Bot, chat_id: int, reply: Reply, *, edit: int | None = None
                     ) -> list[int]:
    """One neutral reply as Bot API calls; returns the ids of the messages it produced (an
    edited message keeps its id). An edit that cannot be made is sent as a new message."""
    markup = markup_of(reply)
    edit = edit or reply.edit_message_id
    reply_parameters = (ReplyParameters(message_id=reply.reply_to,
                                        allow_sending_without_reply=True)
                        if reply.reply_to else None)
    if edit is not None and reply.file is None and not reply.album and not isinstance(
        markup, ReplyKeyboardMarkup | ReplyKeyboardRemove
    ):
        try:
            await bot.edit_message_text(
                text=fit(reply.text), chat_id=chat_id, message_id=edit,
                reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
            )
            return [edit]
        except TelegramBadRequest as error:
            if "not modified" in error.message:
                return [edit]
            log.info("edit failed, sending anew: %s", error.message)
    if reply.album:
        sent = await bot.send_media_group(chat_id, [_album_item(f) for f in reply.album],
                                          reply_parameters=reply_parameters)
        return [m.message_id for m in sent]
    if reply.file is not None:
        caption = fit(reply.text)[:CAPTION_LIMIT] or None
        options: dict[str, Any] = {"caption": caption, "reply_markup": markup,
                                   "reply_parameters": reply_parameters}
        file_id = reply.file.file_id
        if reply.file.kind == "photo":
            message = await bot.send_photo(chat_id, file_id, **options)
        elif reply.file.kind == "video":
            message = await bot.send_video(chat_id, file_id, **options)
        elif reply.file.kind == "voice":
            message = await bot.send_voice(chat_id, file_id, **options)
        else:
            message = await bot.send_document(chat_id, file_id, **options)
        return [message.message_id]
    message = await bot.send_message(chat_id, fit(reply.text), reply_markup=markup,
                                     reply_parameters=reply_parameters)
    return [message.message_id]


def _album_item(file: FileRef) -> InputMediaPhoto | InputMediaVideo:
    if file.kind == "video":
        return InputMediaVideo(media=file.file_id)
    return InputMediaPhoto(media=file.file_id)


# --- resilience ----------------------------------------------------------------------------


class RetryMiddleware(BaseRequestMiddleware):
    """Wait out 429s and retry 5xx / network failures a few times, with backoff."""

    def __init__(self, attempts: int = 4, max_wait: float = 30.0) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        delay = 0.5
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self.attempts or error.retry_after > self.max_wait:
                    raise
                log.warning("%s: flood control, waiting %ss", method.__api_method__,
                            error.retry_after)
                await asyncio.sleep(error.retry_after)
            except (TelegramServerError, TelegramNetworkError) as error:
                if attempt == self.attempts or method.__api_method__ == "getUpdates":
                    raise
                log.warning("%s failed (%s), retrying", method.__api_method__, error)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")


def build_router(handle: Handler, on_forbidden: Callable[[int], Awaitable[None]],
                 staff_chat_id: int | None = None) -> Router:
    """Private messages, the staff group's messages and all button presses go to the
    conversation engine; other groups are not listened to."""
    router = Router(name="residents")

    async def run(bot: Bot, event: Event) -> None:
        async def send(outcome: Outcome) -> None:
            try:
                await deliver(bot, event, outcome)
            except TelegramForbiddenError:
                await on_forbidden(event.sender.user_id)  # blocked us; their data stays
            except (TelegramBadRequest, TelegramRetryAfter, TelegramServerError,
                    TelegramNetworkError) as error:
                log.error("could not deliver to chat %s: %s", event.sender.chat_id, error)

        await handle(event, send)

    @router.message(F.from_user, F.chat.type == "private")
    async def on_message(message: Message, bot: Bot, event_update: Any) -> None:
        await run(bot, event_from_message(message, event_update.update_id))

    if staff_chat_id is not None:
        @router.message(F.from_user, F.chat.id == staff_chat_id)
        async def on_staff_message(message: Message, bot: Bot, event_update: Any) -> None:
            await run(bot, event_from_message(message, event_update.update_id))

    @router.callback_query()
    async def on_button(query: CallbackQuery, bot: Bot, event_update: Any) -> None:
        await run(bot, event_from_callback(query, event_update.update_id))

    return router
