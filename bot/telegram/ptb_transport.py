"""python-telegram-bot 22 adapter: PTB updates to neutral events, primitive Bot API calls,
PTB's errors to residesk's. It only translates; see `bot/telegram/transport.py` for what is shared.

PTB's Application routes each update to a handler (`process_update`); its Updater,
ConversationHandler, persistence and rate limiter are not used: polling, conversation state
and pacing are residesk's own, in the database, the same for both frameworks."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import telegram
from telegram import BotCommand, BotCommandScopeAllPrivateChats, LinkPreviewOptions, Update
from telegram import error as ptb_error
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest

from bot.logs import reason
from bot.telegram.transport import (
    ALLOWED_UPDATES,
    MALFORMED,
    BadRequest,
    Forbidden,
    Handle,
    RetryAfter,
    Unauthorized,
    Unavailable,
    album_of,
    button_event,
    entities_of,
    file_of,
    file_sender,
    inline_markup_of,
    listened,
    markup_of,
    message_event,
    reply_parameters_of,
)
from conversations.events import CallbackAnswer, Reply

# PTB's own advice: durations as timedelta now (read per call), instead of a warning each 429
os.environ.setdefault("PTB_TIMEDELTA", "true")
# httpx logs every request at INFO, and its URL holds the bot token
logging.getLogger("httpx").setLevel(logging.WARNING)
log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class CheckedRequest(HTTPXRequest):
    """PTB's HTTP client, refusing what is not a Bot API answer (a proxy's HTML page, text,
    JSON that is no object, `{"ok": true}` without a result) as PTB refuses bad JSON — with
    one TelegramError, instead of a KeyError later or a logged traceback quoting the page."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        try:
            data = json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            data = None
        if not isinstance(data, dict) or (data.get("ok") is True and "result" not in data):
            raise ptb_error.TelegramError(MALFORMED)
        return data


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


class Unpersisted(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application without persistence, keeping nothing per chat: PTB marks the chat
    and the user of every update for the persistence's next save, and without a persistence
    nothing ever takes those marks off — a set that grows with every chat and user ever seen
    (issue 18, P4)."""

    __slots__ = ()

    def _mark_for_persistence_update(self, *, update: object | None = None,
                                     job: object | None = None) -> None:
        if self.persistence is not None:  # never here; PTB's own path if it ever is
            super()._mark_for_persistence_update(update=update, job=job)  # type: ignore[arg-type]


class PTBTransport:
    name = "ptb"

    def __init__(self, token: str, api_url: str, handle: Handle,
                 staff_chat_id: int | None) -> None:
        self.handle, self.staff_chat_id = handle, staff_chat_id
        self.application = (Application.builder().token(token)
                            .base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
                            # PTB's own pool sizes: 256 for calls, 1 for the long poll
                            .request(CheckedRequest(connection_pool_size=256))
                            .get_updates_request(CheckedRequest())
                            .updater(None).application_class(Unpersisted).build())
        self.bot = self.application.bot
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE,
                                                    self._on_message))
        self.application.add_handler(CallbackQueryHandler(self._on_button))
        self.application.add_error_handler(self._on_error)

    async def _on_message(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if (message is not None and message.from_user is not None
                and listened(message.chat.type, message.chat.id, self.staff_chat_id)):
            await self.handle(message_event(message, update.update_id))

    async def _on_button(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await self.handle(button_event(update.callback_query, update.update_id))

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # PTB keeps a handler's exception to itself; log it as the aiogram path does: a safe
        # reason only (database errors quote values, network errors quote the URL)
        log.error("update %s: %s", getattr(update, "update_id", "?"),
                  reason(context.error) if context.error else "?")

    # --- life cycle and updates -----------------------------------------------------------
    async def start(self) -> None:
        with translated():
            await self.application.initialize()  # getMe

    async def close(self) -> None:
        await self.application.shutdown()

    async def delete_webhook(self) -> None:
        with translated():
            await self.bot.delete_webhook(drop_pending_updates=False)

    async def set_webhook(self, url: str, secret: str, max_connections: int) -> None:
        with translated():
            await self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
                                       max_connections=max_connections,
                                       drop_pending_updates=False)

    def parse_update(self, data: dict[str, Any]) -> object:
        try:
            update = Update.de_json(data, self.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError("not a Telegram update") from error
        if update is None:
            raise ValueError("not a Telegram update")
        return update

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
                chat_id, text, reply_markup=markup_of(reply, telegram),
                entities=entities_of(text, reply, telegram),
                reply_parameters=reply_parameters_of(reply, telegram),
                link_preview_options=NO_PREVIEW)
        return message.message_id

    async def send_file(self, chat_id: int, caption: str | None, reply: Reply) -> int:
        assert reply.file is not None
        with translated():
            message = await file_sender(self.bot, reply.file.kind)(
                chat_id, file_of(reply.file, telegram), caption=caption,
                reply_markup=markup_of(reply, telegram),
                reply_parameters=reply_parameters_of(reply, telegram))
        return int(message.message_id)

    async def send_album(self, chat_id: int, reply: Reply) -> list[int]:
        with translated():
            sent = await self.bot.send_media_group(
                chat_id, album_of(reply, telegram),
                reply_parameters=reply_parameters_of(reply, telegram))
        return [m.message_id for m in sent]

    async def edit_text(self, chat_id: int, message_id: int, text: str, reply: Reply) -> None:
        with translated():
            await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id,
                                             reply_markup=inline_markup_of(reply, telegram),
                                             link_preview_options=NO_PREVIEW)

    async def answer_callback(self, callback_id: str, answer: CallbackAnswer | None) -> None:
        with translated():
            await self.bot.answer_callback_query(callback_id,
                                                 text=answer.text if answer else None,
                                                 show_alert=answer.alert if answer else None)

    async def download(self, file_id: str) -> bytes:
        with translated():
            file = await self.bot.get_file(file_id)
            return bytes(await file.download_as_bytearray(read_timeout=60))
