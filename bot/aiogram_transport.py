"""aiogram 3 adapter: aiogram updates to neutral events, primitive Bot API calls, aiogram's
errors to residesk's. It only translates; see `bot/transport.py` for what is shared."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from io import BytesIO
from typing import Any

import aiohttp
from aiogram import Bot, Dispatcher, F, Router, methods
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods.base import Response
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
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
    Update,
)

from bot.transport import (
    ALLOWED_UPDATES,
    BadRequest,
    Forbidden,
    Handle,
    Incoming,
    RetryAfter,
    Unauthorized,
    Unavailable,
    button_event,
    listened,
    message_event,
    persistent_keyboard,
)
from conversations.events import CallbackAnswer, Event, Media, Reply, Sender

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
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """aiogram's exceptions as residesk's failures (the class only for network errors: their
    text may quote the URL, which holds the token)."""
    try:
        yield
    except TelegramRetryAfter as error:
        raise RetryAfter(error.message, float(error.retry_after)) from None
    except TelegramForbiddenError as error:
        raise Forbidden(error.message) from None
    except TelegramUnauthorizedError as error:
        raise Unauthorized(error.message) from None
    except TelegramBadRequest as error:
        raise BadRequest(error.message) from None
    except TelegramAPIError as error:  # 5xx and the rest
        raise Unavailable(error.message) from None
    except (TelegramNetworkError, aiohttp.ClientError, TimeoutError, OSError) as error:
        raise Unavailable(type(error).__name__) from None


class AiogramTransport:
    name = "aiogram"

    def __init__(self, token: str, api_url: str, handle: Handle,
                 staff_chat_id: int | None) -> None:
        self.handle, self.staff_chat_id = handle, staff_chat_id
        api = TelegramAPIServer.from_base(api_url)
        self.bot = Bot(token, session=AiohttpSession(api=api),
                       default=DefaultBotProperties(link_preview_is_disabled=True))
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(self._router())

    def _router(self) -> Router:
        router = Router(name="residesk")

        @router.message(F.from_user)
        async def on_message(message: Message, event_update: Update) -> None:
            if listened(message.chat.type, message.chat.id, self.staff_chat_id):
                await self.handle(event_from_message(message, event_update.update_id))

        @router.callback_query()
        async def on_button(query: CallbackQuery, event_update: Update) -> None:
            await self.handle(event_from_callback(query, event_update.update_id))

        return router

    # --- life cycle and updates -----------------------------------------------------------
    async def start(self) -> None:
        pass  # aiogram opens its HTTP session on the first call

    async def close(self) -> None:
        await self.bot.session.close()

    async def delete_webhook(self) -> None:
        with translated():
            await self.bot.delete_webhook(drop_pending_updates=False)

    async def set_commands(self, commands: Sequence[tuple[str, str]],
                           language_code: str | None) -> None:
        with translated():
            await self.bot.set_my_commands(
                [BotCommand(command=c, description=d) for c, d in commands],
                scope=BotCommandScopeAllPrivateChats(), language_code=language_code)

    async def get_updates(self, offset: int | None, poll_seconds: int) -> Sequence[Update]:
        request = methods.GetUpdates(offset=offset, timeout=poll_seconds,
                                     allowed_updates=ALLOWED_UPDATES)
        with translated():
            return await self.bot(request, request_timeout=int(self.bot.session.timeout
                                                               + poll_seconds))

    def update_id(self, update: object) -> int:
        assert isinstance(update, Update)
        return update.update_id

    def chat_of(self, update: object) -> int:
        assert isinstance(update, Update)
        if update.message is not None:
            return update.message.chat.id
        if update.callback_query is not None:
            message = update.callback_query.message
            return message.chat.id if message is not None else update.callback_query.from_user.id
        return 0

    async def dispatch(self, update: object) -> None:
        await self.dispatcher.feed_update(self.bot, update)  # type: ignore[arg-type]

    # --- sending ---------------------------------------------------------------------------
    async def send_text(self, chat_id: int, text: str, reply: Reply) -> int:
        with translated():
            message = await self.bot.send_message(chat_id, text, reply_markup=markup_of(reply),
                                                  reply_parameters=reply_parameters(reply))
        return message.message_id

    async def send_file(self, chat_id: int, caption: str | None, reply: Reply) -> int:
        file = reply.file
        assert file is not None
        options: dict[str, Any] = {"caption": caption, "reply_markup": markup_of(reply),
                                   "reply_parameters": reply_parameters(reply)}
        with translated():
            if file.kind == "photo":
                message = await self.bot.send_photo(chat_id, file.file_id, **options)
            elif file.kind == "video":
                message = await self.bot.send_video(chat_id, file.file_id, **options)
            elif file.kind == "voice":
                message = await self.bot.send_voice(chat_id, file.file_id, **options)
            else:
                message = await self.bot.send_document(chat_id, file.file_id, **options)
        return message.message_id

    async def send_album(self, chat_id: int, reply: Reply) -> list[int]:
        media = [InputMediaVideo(media=f.file_id) if f.kind == "video"
                 else InputMediaPhoto(media=f.file_id) for f in reply.album]
        with translated():
            sent = await self.bot.send_media_group(chat_id, media,  # type: ignore[arg-type]
                                                   reply_parameters=reply_parameters(reply))
        return [m.message_id for m in sent]

    async def edit_text(self, chat_id: int, message_id: int, text: str, reply: Reply) -> None:
        markup = markup_of(reply)
        with translated():
            await self.bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id,
                reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None)

    async def answer_callback(self, callback_id: str, answer: CallbackAnswer | None) -> None:
        with translated():
            await self.bot.answer_callback_query(callback_id,
                                                 text=answer.text if answer else None,
                                                 show_alert=answer.alert if answer else None)

    async def download(self, file_id: str) -> bytes:
        buffer = BytesIO()
        with translated():
            await self.bot.download(file_id, destination=buffer, timeout=60)
        return buffer.getvalue()


# --- translation -------------------------------------------------------------------------


def media_of(message: Message) -> Media | None:
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return Media("photo", photo.file_id, photo.file_unique_id, photo.file_size or 0,
                     "image/jpeg")
    video = message.video or message.video_note
    if video is not None:
        return Media("video", video.file_id, video.file_unique_id, video.file_size or 0,
                     getattr(video, "mime_type", None) or "video/mp4")
    audio = message.voice or message.audio
    if audio is not None:
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
    replied = message.reply_to_message
    contact = message.contact
    return message_event(Incoming(
        update_id=update_id,
        sender=Sender(user.id, message.chat.id, user.full_name, user.language_code),
        message_id=message.message_id,
        reply_to_message_id=replied.message_id if replied else None,
        text=message.text, caption=message.caption,
        phone=contact.phone_number if contact else None,
        contact_user_id=contact.user_id if contact else None,
        has_location=message.location is not None,
        media=media_of(message), album_id=message.media_group_id,
    ))


def event_from_callback(query: CallbackQuery, update_id: int) -> Event:
    message = query.message
    user = query.from_user
    return button_event(
        update_id, Sender(user.id, message.chat.id if message is not None else user.id,
                          user.full_name, user.language_code),
        query.data, query.id, message.message_id if message is not None else None)


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
            is_persistent=persistent_keyboard(reply),
        )
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


def reply_parameters(reply: Reply) -> ReplyParameters | None:
    if reply.reply_to is None:
        return None
    return ReplyParameters(message_id=reply.reply_to, allow_sending_without_reply=True)

