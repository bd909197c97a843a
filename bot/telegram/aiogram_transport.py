"""aiogram 3 adapter: aiogram updates to neutral events, primitive Bot API calls, aiogram's
errors to residesk's. It only translates; see `bot/telegram/transport.py` for what is shared."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from io import BytesIO
from typing import Any

import aiohttp
import pydantic
from aiogram import Bot, Dispatcher, F, Router, methods, types
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
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
    Message,
    Update,
)

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
    present,
    reply_parameters_of,
)
from conversations.events import CallbackAnswer, Reply

# aiogram parses every answer with `Response[method.__returning__]`; pydantic caches such
# generic classes only weakly, and rebuilds one (~10 ms) whenever the cache lost it. Holding
# the ones we use keeps every request off that path.
RESPONSE_TYPES = [
    # a type argument known only when this runs; mypy reads type arguments statically
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (methods.SendMessage, methods.EditMessageText, methods.AnswerCallbackQuery,
                   methods.GetUpdates, methods.GetFile, methods.SetMyCommands,
                   methods.DeleteWebhook, methods.SetWebhook, methods.GetMe, methods.SendPhoto,
                   methods.SendMediaGroup, methods.SendVoice, methods.SendDocument)
]


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
    except ClientDecodeError:  # a proxy's HTML page, text, JSON that is not an answer
        raise Unavailable(MALFORMED) from None
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
        # no FSM: the state is residesk's own, in the database; aiogram's default memory
        # storage would keep a record for every chat it ever saw (issue 18, P4)
        self.dispatcher = Dispatcher(disable_fsm=True)
        self.dispatcher.include_router(self._router())

    def _router(self) -> Router:
        router = Router(name="residesk")

        @router.message(F.from_user)
        async def on_message(message: Message, event_update: Update) -> None:
            if listened(message.chat.type, message.chat.id, self.staff_chat_id):
                await self.handle(message_event(message, event_update.update_id))

        @router.callback_query()
        async def on_button(query: CallbackQuery, event_update: Update) -> None:
            await self.handle(button_event(query, event_update.update_id))

        return router

    # --- life cycle and updates -----------------------------------------------------------
    async def start(self) -> None:
        pass  # aiogram opens its HTTP session on the first call

    async def close(self) -> None:
        await self.bot.session.close()

    async def delete_webhook(self) -> None:
        with translated():
            present(await self.bot.delete_webhook(drop_pending_updates=False), "deleteWebhook")

    async def set_webhook(self, url: str, secret: str, max_connections: int) -> None:
        with translated():
            present(await self.bot.set_webhook(
                url, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
                max_connections=max_connections, drop_pending_updates=False), "setWebhook")

    def parse_update(self, data: dict[str, Any]) -> object:
        try:
            return Update.model_validate(data, context={"bot": self.bot})
        except pydantic.ValidationError as error:
            raise ValueError("not a Telegram update") from error

    async def set_commands(self, commands: Sequence[tuple[str, str]],
                           language_code: str | None) -> None:
        with translated():
            present(await self.bot.set_my_commands(
                [BotCommand(command=c, description=d) for c, d in commands],
                scope=BotCommandScopeAllPrivateChats(), language_code=language_code),
                "setMyCommands")

    async def get_updates(self, offset: int | None, poll_seconds: int) -> Sequence[Update]:
        request = methods.GetUpdates(offset=offset, timeout=poll_seconds,
                                     allowed_updates=ALLOWED_UPDATES)
        with translated():
            updates: Sequence[Update] | None = await self.bot(request, request_timeout=int(
                self.bot.session.timeout + poll_seconds))
            return present(updates, "getUpdates")

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
        assert isinstance(update, Update)
        await self.dispatcher.feed_update(self.bot, update)

    # --- sending ---------------------------------------------------------------------------
    async def send_text(self, chat_id: int, text: str, reply: Reply) -> int:
        with translated():
            message = present(await self.bot.send_message(
                chat_id, text, reply_markup=markup_of(reply, types),
                entities=entities_of(text, reply, types),
                reply_parameters=reply_parameters_of(reply, types)), "sendMessage")
        return message.message_id

    async def send_file(self, chat_id: int, caption: str | None, reply: Reply) -> int:
        assert reply.file is not None
        with translated():
            message = present(await file_sender(self.bot, reply.file.kind)(
                chat_id, file_of(reply.file, types), caption=caption,
                reply_markup=markup_of(reply, types),
                reply_parameters=reply_parameters_of(reply, types)), "send a file")
        return int(message.message_id)

    async def send_album(self, chat_id: int, reply: Reply) -> list[int]:
        with translated():
            sent = present(await self.bot.send_media_group(
                chat_id, album_of(reply, types),
                reply_parameters=reply_parameters_of(reply, types)), "sendMediaGroup")
        return [m.message_id for m in sent]

    async def edit_text(self, chat_id: int, message_id: int, text: str, reply: Reply) -> None:
        with translated():
            present(await self.bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id,
                reply_markup=inline_markup_of(reply, types)), "editMessageText")

    async def answer_callback(self, callback_id: str, answer: CallbackAnswer | None) -> None:
        with translated():
            present(await self.bot.answer_callback_query(
                callback_id, text=answer.text if answer else None,
                show_alert=answer.alert if answer else None), "answerCallbackQuery")

    async def download(self, file_id: str) -> bytes:
        buffer = BytesIO()
        with translated():
            file = present(await self.bot.get_file(file_id), "getFile")
            await self.bot.download(file, destination=buffer, timeout=60)
        return buffer.getvalue()
