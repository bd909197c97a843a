"""python-telegram-bot 22 adapter: PTB updates to neutral events, primitive Bot API calls,
PTB's errors to residesk's. It only translates; see `bot/transport.py` for what is shared.

PTB's Application routes each update to a handler (`process_update`); its Updater,
ConversationHandler, persistence and rate limiter are not used: polling, conversation state
and pacing are residesk's own, in the database, the same for both frameworks."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    InputMediaVideo,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from telegram import error as ptb_error
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

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

# PTB's own advice: durations as timedelta now (read per call), instead of a warning each 429
os.environ.setdefault("PTB_TIMEDELTA", "true")
# httpx logs every request at INFO, and its URL holds the bot token
logging.getLogger("httpx").setLevel(logging.WARNING)
log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """PTB's exceptions as residesk's failures. PTB's BadRequest is a NetworkError, so the
    order matters."""
    try:
        yield
    except ptb_error.RetryAfter as error:
        wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
        raise RetryAfter(error.message, seconds) from None
    except ptb_error.Forbidden as error:
        raise Forbidden(error.message) from None
    except ptb_error.InvalidToken as error:
        raise Unauthorized(error.message) from None
    except (ptb_error.BadRequest, ptb_error.ChatMigrated) as error:
        raise BadRequest(error.message) from None
    except ptb_error.TelegramError as error:  # 5xx, timeouts, dropped connections
        raise Unavailable(error.message) from None
    except (TimeoutError, OSError) as error:
        raise Unavailable(type(error).__name__) from None


class PTBTransport:
    name = "ptb"

    def __init__(self, token: str, api_url: str, handle: Handle,
                 staff_chat_id: int | None) -> None:
        self.handle, self.staff_chat_id = handle, staff_chat_id
        self.application = (Application.builder().token(token)
                            .base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
                            .updater(None).build())
        self.bot = self.application.bot
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE,
                                                    self._on_message))
        self.application.add_handler(CallbackQueryHandler(self._on_button))
        self.application.add_error_handler(self._on_error)

    async def _on_message(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if (message is not None and message.from_user is not None
                and listened(message.chat.type, message.chat.id, self.staff_chat_id)):
            await self.handle(event_from_message(message, update.update_id))

    async def _on_button(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await self.handle(event_from_callback(update.callback_query, update.update_id))

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # PTB keeps a handler's exception to itself; log it as the aiogram path does: the
        # class only (database errors quote SQL, network errors quote the URL)
        log.error("update %s: %s", getattr(update, "update_id", "?"),
                  type(context.error).__name__)

    # --- life cycle and updates -----------------------------------------------------------
    async def start(self) -> None:
        with translated():
            await self.application.initialize()  # getMe

    async def close(self) -> None:
        await self.application.shutdown()

    async def delete_webhook(self) -> None:
        with translated():
            await self.bot.delete_webhook(drop_pending_updates=False)

    async def set_commands(self, commands: Sequence[tuple[str, str]],
                           language_code: str | None) -> None:
        with translated():
            await self.bot.set_my_commands([BotCommand(c, d) for c, d in commands],
                                           scope=BotCommandScopeAllPrivateChats(),
                                           language_code=language_code)

    async def get_updates(self, offset: int | None, poll_seconds: int) -> Sequence[Update]:
        with translated():
            return await self.bot.get_updates(offset=offset, timeout=poll_seconds,
                                              allowed_updates=ALLOWED_UPDATES)

    def update_id(self, update: object) -> int:
        assert isinstance(update, Update)
        return update.update_id

    def chat_of(self, update: object) -> int:
        assert isinstance(update, Update)
        chat = update.effective_chat or update.effective_user
        return chat.id if chat is not None else 0

    async def dispatch(self, update: object) -> None:
        await self.application.process_update(update)

    # --- sending ---------------------------------------------------------------------------
    async def send_text(self, chat_id: int, text: str, reply: Reply) -> int:
        with translated():
            message = await self.bot.send_message(
                chat_id, text, reply_markup=markup_of(reply),
                reply_parameters=reply_parameters(reply), link_preview_options=NO_PREVIEW)
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
        media = [InputMediaVideo(f.file_id) if f.kind == "video" else InputMediaPhoto(f.file_id)
                 for f in reply.album]
        with translated():
            sent = await self.bot.send_media_group(chat_id, media,
                                                   reply_parameters=reply_parameters(reply))
        return [m.message_id for m in sent]

    async def edit_text(self, chat_id: int, message_id: int, text: str, reply: Reply) -> None:
        markup = markup_of(reply)
        with translated():
            await self.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, link_preview_options=NO_PREVIEW,
                reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None)

    async def answer_callback(self, callback_id: str, answer: CallbackAnswer | None) -> None:
        with translated():
            await self.bot.answer_callback_query(callback_id,
                                                 text=answer.text if answer else None,
                                                 show_alert=answer.alert if answer else None)

    async def download(self, file_id: str) -> bytes:
        with translated():
            file = await self.bot.get_file(file_id)
            return bytes(await file.download_as_bytearray(read_timeout=60))


# --- translation -------------------------------------------------------------------------


def media_of(message: Message) -> Media | None:
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return Media("photo", photo.file_id, photo.file_unique_id, photo.file_size or 0,
                     "image/jpeg")
    if message.video is not None:
        video = message.video
        return Media("video", video.file_id, video.file_unique_id, video.file_size or 0,
                     video.mime_type or "video/mp4")
    if message.video_note is not None:
        note = message.video_note
        return Media("video", note.file_id, note.file_unique_id, note.file_size or 0,
                     "video/mp4")
    audio = message.voice or message.audio
    if audio is not None:
        return Media("voice", audio.file_id, audio.file_unique_id, audio.file_size or 0,
                     audio.mime_type)
    if message.document is not None:
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
        return InlineKeyboardMarkup([
            [InlineKeyboardButton(b.text, callback_data=b.data) for b in row]
            for row in reply.buttons
        ])
    if reply.keyboard:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(b.text, request_contact=b.request_contact or None) for b in row]
             for row in reply.keyboard],
            resize_keyboard=True, is_persistent=persistent_keyboard(reply))
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


def reply_parameters(reply: Reply) -> ReplyParameters | None:
    if reply.reply_to is None:
        return None
    return ReplyParameters(reply.reply_to, allow_sending_without_reply=True)
