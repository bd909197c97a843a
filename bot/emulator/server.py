"""A loopback emulator of the Telegram Bot API, for tests and the offline demo.

The emulator is a small aiohttp server that answers the subset of the Bot API the bot uses,
shaped like the real thing, so the real aiogram client can talk to it over real HTTP::

    async with BotAPIEmulator() as emu:
        bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
        ann = emu.user(1001, "Ann")
        emu.send_text(ann, "/start")
        ...
        await emu.wait_for(lambda: emu.messages(ann.id))

Beside the HTTP side it offers an in-process API to act as residents (users in private chats)
and staff (a group chat), to read what the bot sent and to inject faults.  It uses nothing
but aiohttp and the standard library (no aiogram), and all of it runs on the event loop of
the caller: the acting methods are plain synchronous calls made from that loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import functools
import itertools
import json
import logging
import math
import mimetypes
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any, NoReturn

import aiohttp
from aiohttp import web

__all__ = [
    "MAX_DOWNLOAD_SIZE",
    "APIError",
    "Body",
    "BotAPIEmulator",
    "Button",
    "EmulatedUser",
    "SentMessage",
    "StoredFile",
]

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
Handler = Callable[["_Params"], Coroutine[Any, Any, Any]]

MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile refuses larger files, like Telegram
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA = 64
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"
_THUMBNAIL = b"\xff\xd8\xff\xe0emulator-thumbnail\xff\xd9"

# How form fields are decoded (aiogram sends every value as a string, complex ones as JSON).
_JSON_FIELDS = frozenset(
    {"reply_markup", "media", "entities", "caption_entities", "scope", "commands",
     "allowed_updates", "reply_parameters", "link_preview_options", "menu_button"}
)
_INT_FIELDS = frozenset(
    {"chat_id", "message_id", "reply_to_message_id", "offset", "limit", "timeout", "cache_time",
     "message_thread_id", "user_id", "duration", "width", "height", "max_connections"}
)
_BOOL_FIELDS = frozenset(
    {"show_alert", "disable_notification", "protect_content", "drop_pending_updates",
     "allow_sending_without_reply", "has_spoiler", "supports_streaming",
     "disable_content_type_detection", "disable_web_page_preview", "show_caption_above_media"}
)
_INLINE_ACTIONS = ("callback_data", "url", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                   "copy_text", "web_app", "callback_game", "pay")
# Methods Telegram's flood limits count (a media group counts once per item).
_SENDING = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendVoice",
                      "sendMediaGroup"})
# Methods that change nothing visible: they do not bump ``activity``.
_READ_ONLY = frozenset(
    {"getMe", "getUpdates", "getWebhookInfo", "getFile", "getMyCommands", "getChat",
     "sendChatAction"}
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected error",
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
         "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class Body(StrEnum):
    """What an injected failure answers with, beside its HTTP status."""

    ERROR = "error"  # the Bot API's own error object: {"ok": false, "error_code": …}
    HTML = "html"  # an HTML page, as a proxy or load balancer in front of Telegram sends
    TEXT = "text"  # plain text that is not JSON
    NO_RESULT = "no_result"  # {"ok": true} without a "result"
    NOT_OBJECT = "not_object"  # valid JSON that is not an object


PROXY_PAGE = ("<html><head><title>502 Bad Gateway</title></head><body><center>"
              "<h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>")


class APIError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., ...}``."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def response(self, body: Body = Body.ERROR) -> web.Response:
        if body == Body.HTML:
            return web.Response(text=PROXY_PAGE, status=self.status, content_type="text/html")
        if body == Body.TEXT:
            return web.Response(text=f"{self.status} {self.description}", status=self.status)
        if body == Body.NO_RESULT:
            return web.json_response({"ok": True}, status=self.status)
        if body == Body.NOT_OBJECT:
            return web.json_response(["not", "an", "object"], status=self.status)
        error: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            error["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(error, status=self.status)


def _forget(in_flight: dict[int, asyncio.Task[None]], chat: int, _task: object) -> None:
    in_flight.pop(chat, None)


def _chat_of_update(update: JSON) -> int:
    """The chat an update belongs to (a button's chat, else who pressed it)."""
    message = update.get("message") or (update.get("callback_query") or {}).get("message")
    if message:
        return int(message["chat"]["id"])
    return int((update.get("callback_query") or {}).get("from", {}).get("id", 0))


def _bad(description: str) -> APIError:
    return APIError(400, f"Bad Request: {description}")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------- public data


@dataclass
class EmulatedUser:
    """A Telegram user; their private chat with the bot has ``id == user id``."""

    id: int
    first_name: str
    language_code: str | None
    username: str | None
    last_name: str | None = None

    @property
    def chat_id(self) -> int:
        return self.id

    def to_api(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data


@dataclass
class Button:
    """A keyboard button (inline or reply) as the bot defined it."""

    text: str
    callback_data: str | None = None
    url: str | None = None
    request_contact: bool = False


@dataclass
class SentMessage:
    """Something the bot sent, in its current state (edits applied)."""

    chat_id: int
    message_id: int
    kind: str  # "text" | "photo" | "document" | "video" | "voice" | "media_group_item"
    text: str | None  # the text, or the caption of a media message
    reply_markup: dict[str, Any] | None
    edits: int = 0
    deleted: bool = False
    file_id: str | None = None  # for media: the (largest) file sent
    media_group_id: str | None = None
    reply_to_message_id: int | None = None
    parse_mode: str | None = None
    raw: JSON = field(default_factory=dict, repr=False)  # the Message object as the API shows it

    @property
    def inline_buttons(self) -> list[list[Button]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            [Button(b["text"], callback_data=b.get("callback_data"), url=b.get("url"))
             for b in row]
            for row in rows
        ]

    @property
    def keyboard_buttons(self) -> list[list[Button]]:
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [
            [Button(b) if isinstance(b, str)
             else Button(b["text"], request_contact=bool(b.get("request_contact")))
             for b in row]
            for row in rows
        ]

    @property
    def removes_keyboard(self) -> bool:
        return bool((self.reply_markup or {}).get("remove_keyboard"))

    def button(self, text_or_data: str) -> Button:
        """Find an inline button by exact text, else by callback_data, else by substring."""
        buttons = [b for row in self.inline_buttons for b in row]
        for match in (
            lambda b: b.text == text_or_data,
            lambda b: b.callback_data == text_or_data,
            lambda b: text_or_data in b.text,
        ):
            found = [b for b in buttons if match(b)]
            if found:
                return found[0]
        listing = ", ".join(f"{b.text!r} ({b.callback_data or b.url})" for b in buttons)
        raise KeyError(
            f"no inline button {text_or_data!r} on message {self.message_id} in chat "
            f"{self.chat_id}; buttons: {listing or 'none'}"
        )


@dataclass
class StoredFile:
    """A file the emulator knows: sent by a user or uploaded by the bot."""

    file_id: str
    file_unique_id: str
    kind: str  # "photo" | "document" | "video" | "voice" | "sticker" | "thumbnail"
    data: bytes
    size: int  # the size Telegram reports (may exceed len(data) to test limits)
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    thumbnail: StoredFile | None = None  # photos: the small size shown before the full one

    def describe(self) -> JSON:
        """The JSON object of this file as it appears inside a Message."""
        base: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                      "file_size": self.size}
        if self.kind in ("photo", "thumbnail"):
            side = 90 if self.kind == "thumbnail" else 1280
            return {**base, "width": side, "height": side * 3 // 4}
        if self.kind == "document":
            return {**base, "file_name": self.file_name, "mime_type": self.mime_type}
        if self.kind == "video":
            return {**base, "width": 640, "height": 360, "duration": 3,
                    "mime_type": self.mime_type}
        if self.kind == "voice":
            return {**base, "duration": 2, "mime_type": self.mime_type}
        return {**base, "type": "regular", "width": 512, "height": 512,
                "is_animated": False, "is_video": False, "emoji": "🙂"}

    def photo_sizes(self) -> list[JSON]:
        sizes = [self.thumbnail.describe()] if self.thumbnail else []
        return [*sizes, self.describe()]


@dataclass
class _Upload:
    data: bytes
    filename: str | None
    content_type: str | None


@dataclass
class _Injection:
    method: str
    status: int
    description: str
    retry_after: int | None
    remaining: int
    drop_connection: bool
    body: Body = Body.ERROR


@dataclass(frozen=True)
class _Outage:
    """Every method answers this until the outage ends; long polls in progress are cut."""

    status: int
    body: Body
    drop_connection: bool

    def error(self) -> APIError:
        return APIError(self.status, _DEFAULT_DESCRIPTIONS.get(self.status,
                                                               f"Error {self.status}"))


class _Cut(Exception):
    """An outage began while a long poll was waiting."""


@dataclass
class _Redelivery:
    update: JSON
    delivered: bool = False


# --------------------------------------------------------------------------- request params


class _Params:
    """The parameters of one method call, with Telegram-like validation errors."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, _Upload]) -> None:
        self.values = {key: self._normalise(key, value) for key, value in values.items()}
        self.uploads = uploads

    @staticmethod
    def _normalise(name: str, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if name in _JSON_FIELDS:
            with contextlib.suppress(ValueError):
                return json.loads(value)
        elif name in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
            return int(value)
        elif name in _BOOL_FIELDS and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        return value

    def record(self) -> JSON:
        recorded = dict(self.values)
        for name, upload in self.uploads.items():
            recorded[name] = f"<upload {upload.filename!r}, {len(upload.data)} bytes>"
        return recorded

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def get_str(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise _bad(f"parameter {name} is required")
            return None
        if not isinstance(value, str):
            raise _bad(f'field "{name}" must be of type String')
        return value

    def get_int(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise _bad(f"{name} is empty")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(f'field "{name}" must be of type Integer')
        return value

    def req_int(self, name: str) -> int:
        value = self.get_int(name, required=True)
        assert value is not None
        return value

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name, False)
        if not isinstance(value, bool):
            raise _bad(f'field "{name}" must be of type Boolean')
        return value

    def get_json(self, name: str, expected: type) -> Any:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, expected):
            raise _bad(f"can't parse {name} JSON object")
        return value


# --------------------------------------------------------------------------- the emulator


class BotAPIEmulator:
    """A Telegram Bot API server on loopback, plus an API to act as users and inspect the bot."""

    # Telegram's flood limits for bots (enforced with enforce_limits=True)
    GLOBAL_PER_SECOND = 30
    PRIVATE_INTERVAL = 1.0  # seconds between two messages to one private chat
    GROUP_PER_MINUTE = 20

    def __init__(
        self,
        token: str = "123456789:TEST-emulator-token",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "residesk_bot",
        bot_first_name: str = "ResiDesk",
        enforce_limits: bool = False,
    ) -> None:
        bot_id, sep, secret = token.partition(":")
        if not (bot_id.isdigit() and sep and secret):
            raise ValueError(f"token must look like '<digits>:<secret>', got {token!r}")
        self.token = token
        self.bot_id = int(bot_id)
        self.host = host
        self.port = port
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        # What the bot did.
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.sent_files: dict[str, bytes] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_max_connections = 40
        self.webhook_retry_delay = 0.5  # seconds before an update the bot did not take comes again
        self.webhook_posts: list[tuple[int, int]] = []  # (update_id, HTTP status; 0: no answer)
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_not_before: dict[int, float] = {}  # update_id -> monotonic time
        self.activity = 0
        self.internal_errors: list[str] = []  # emulator bugs reported as 400 (should stay [])
        # Telegram's flood limits, when enforced (see set_limits)
        self.enforce_limits = enforce_limits
        self.rate_limited = 0  # 429s answered because a limit was exceeded
        self._sends: collections.deque[float] = collections.deque()
        self._chat_sends: dict[int, collections.deque[float]] = {}
        # Chats, messages and files.
        self._users: dict[int, EmulatedUser] = {}
        self._chats: dict[int, JSON] = {}
        self._next_message_id: dict[int, int] = {}
        self._bot_messages: dict[tuple[int, int], SentMessage] = {}
        self._bot_order: dict[int, list[SentMessage]] = {}
        self._user_messages: dict[tuple[int, int], JSON] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._blocked: set[int] = set()
        self._callbacks: dict[str, bool] = {}  # callback query id -> answered
        self._injections: list[_Injection] = []
        self._outage: _Outage | None = None
        self.outage_answers = 0  # calls answered by an outage
        self._file_seq = itertools.count(1)
        self._group_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._foreign_user_seq = itertools.count(1)
        # Updates.
        self._update_seq = itertools.count(1)
        self._pending: list[JSON] = []
        self._redelivered: list[_Redelivery] = []
        self._history: dict[int, JSON] = {}
        self._last_update_id = 0
        self._max_offset = 0
        # Wake-ups: each is replaced after being set, so every waiter sees each change.
        self._updates_changed = asyncio.Event()
        self._bot_called = asyncio.Event()
        self._stopping = False
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the emulator is not started")
        return self._base_url

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._stopping = False
        self._runner = runner
        self.port = runner.addresses[0][1]
        self._base_url = f"http://{self.host}:{self.port}"
        logger.debug("Bot API emulator listening on %s", self._base_url)

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._stopping = True
        self._wake_pollers()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        runner, self._runner = self._runner, None
        await runner.cleanup()
        self._base_url = None

    async def __aenter__(self) -> BotAPIEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ acting as users

    def user(
        self,
        user_id: int,
        first_name: str = "Ann",
        *,
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
    ) -> EmulatedUser:
        """Create (or redefine) a user; their private chat becomes known to the bot."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = EmulatedUser(user_id, first_name, language_code, username, last_name)
        self._register_user(user)
        return user

    def add_group(
        self, chat_id: int, title: str = "Staff", *, chat_type: str = "supergroup"
    ) -> None:
        """Make a group chat known (e.g. the staff chat), so the bot can post to it."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        self._chats[chat_id] = {"id": chat_id, "type": chat_type, "title": title}

    def send_text(self, user: EmulatedUser, text: str, *, chat_id: int | None = None,
                  reply_to: int | None = None) -> int:
        """Queue a text message from ``user`` in their private chat or in group ``chat_id``.

        ``reply_to`` (here and in the other ``send_*``) makes it a reply to that message of
        the chat, the bot's or a user's, which the update then nests as Telegram does;
        ValueError if the chat has no such message.
        """
        content: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self._user_message(user, content, chat_id=chat_id, reply_to=reply_to)

    def send_contact(self, user: EmulatedUser, phone_number: str, *, own: bool = True) -> int:
        contact: JSON = {"phone_number": phone_number, "first_name": user.first_name}
        if own:
            if user.last_name:
                contact["last_name"] = user.last_name
            contact["user_id"] = user.id
        else:
            contact["first_name"] = "Someone Else"
            contact["user_id"] = 7_000_000_000 + next(self._foreign_user_seq)
        return self._user_message(user, {"contact": contact})

    def send_photo(
        self,
        user: EmulatedUser,
        data: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        declared_size: int | None = None,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        photo = self._store_photo(data, declared_size)
        content: JSON = {"photo": photo.photo_sizes()}
        if caption is not None:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._user_message(user, content, chat_id=chat_id, reply_to=reply_to)

    def send_album(self, user: EmulatedUser, items: list[bytes], *,
                   chat_id: int | None = None) -> list[int]:
        group_id = f"1{next(self._group_seq):017d}"
        return [self.send_photo(user, data, media_group_id=group_id, chat_id=chat_id)
                for data in items]

    def send_document(
        self,
        user: EmulatedUser,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        declared_size: int | None = None,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        doc = self._store_file("document", data, declared_size, file_name=file_name,
                               mime_type=mime_type)
        return self._user_message(user, {"document": doc.describe()}, chat_id=chat_id,
                                  reply_to=reply_to)

    def send_video(
        self,
        user: EmulatedUser,
        data: bytes,
        *,
        mime_type: str = "video/mp4",
        declared_size: int | None = None,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        video = self._store_file("video", data, declared_size, mime_type=mime_type)
        return self._user_message(user, {"video": video.describe()}, chat_id=chat_id,
                                  reply_to=reply_to)

    def send_voice(
        self, user: EmulatedUser, data: bytes, *, declared_size: int | None = None,
        chat_id: int | None = None, reply_to: int | None = None,
    ) -> int:
        voice = self._store_file("voice", data, declared_size, mime_type="audio/ogg")
        return self._user_message(user, {"voice": voice.describe()}, chat_id=chat_id,
                                  reply_to=reply_to)

    def send_sticker(self, user: EmulatedUser, *, chat_id: int | None = None,
                     reply_to: int | None = None) -> int:
        sticker = self._store_file("sticker", b"RIFF-emulator-sticker-WEBP", None)
        return self._user_message(user, {"sticker": sticker.describe()}, chat_id=chat_id,
                                  reply_to=reply_to)

    def send_location(self, user: EmulatedUser, latitude: float, longitude: float) -> int:
        return self._user_message(
            user, {"location": {"latitude": latitude, "longitude": longitude}}
        )

    def click(self, user: EmulatedUser, message: SentMessage, button: str) -> int:
        """Press an inline button of a bot message (found with ``message.button``)."""
        current = self._bot_messages.get((message.chat_id, message.message_id), message)
        if current.deleted:
            raise ValueError(f"message {message.message_id} was deleted; it cannot be clicked")
        found = current.button(button)
        if found.callback_data is None:
            raise ValueError(f"button {found.text!r} has no callback_data (url: {found.url})")
        return self.send_callback(user, current.message_id, found.callback_data,
                                  chat_id=current.chat_id)

    def send_callback(
        self, user: EmulatedUser, message_id: int, data: str, *, chat_id: int | None = None
    ) -> int:
        """Queue a callback_query with any data, for any message id (forged clicks)."""
        self._register_user(user)
        chat_id = user.id if chat_id is None else chat_id
        chat = self._chat_for(user, chat_id)
        sent = self._bot_messages.get((chat_id, message_id))
        if sent is not None and not sent.deleted:
            message = copy.deepcopy(sent.raw)
        else:  # Telegram's InaccessibleMessage: date 0
            message = {"chat": chat, "message_id": message_id, "date": 0}
        query_id = f"{self.bot_id}{next(self._callback_seq):08d}"
        self._callbacks[query_id] = False
        return self._queue({"callback_query": {
            "id": query_id,
            "from": user.to_api(),
            "message": message,
            "chat_instance": f"ci{abs(chat_id)}",
            "data": data,
        }})

    def redeliver(self, update_id: int) -> None:
        """Deliver an update again, same update_id, as Telegram does after a lost offset."""
        if update_id not in self._history:
            raise KeyError(f"no update {update_id} was ever queued")
        if any(u["update_id"] == update_id for u in self._pending):
            return  # not confirmed yet: Telegram sends it again anyway
        self._redelivered.append(_Redelivery(copy.deepcopy(self._history[update_id])))
        self._wake_pollers()

    def block(self, user: EmulatedUser | int) -> None:
        """The user blocks the bot: sends to their chat answer 403 (until ``unblock``)."""
        self._blocked.add(user if isinstance(user, int) else user.id)

    def unblock(self, user: EmulatedUser | int) -> None:
        self._blocked.discard(user if isinstance(user, int) else user.id)

    # ------------------------------------------------------------------ reading the bot

    def messages(
        self, chat_id: int | EmulatedUser, *, include_deleted: bool = False
    ) -> list[SentMessage]:
        """The bot's messages in a chat, oldest first."""
        cid = chat_id.id if isinstance(chat_id, EmulatedUser) else chat_id
        return [m for m in self._bot_order.get(cid, []) if include_deleted or not m.deleted]

    def last_message(self, chat_id: int | EmulatedUser) -> SentMessage:
        found = self.messages(chat_id)
        if not found:
            cid = chat_id.id if isinstance(chat_id, EmulatedUser) else chat_id
            raise AssertionError(f"the bot has sent nothing (not deleted) to chat {cid}")
        return found[-1]

    def user_message(self, chat_id: int, message_id: int) -> JSON | None:
        """A message a user sent (None if unknown or deleted by the bot)."""
        return self._user_messages.get((chat_id, message_id))

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    def pending_updates(self) -> int:
        return len(self._pending) + len(self._redelivered)

    def is_blocked(self, user: EmulatedUser | int) -> bool:
        return (user if isinstance(user, int) else user.id) in self._blocked

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 5.0  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate()`` holds, re-checking on every bot call (and every 20 ms)."""
        if await self._wait(predicate, timeout):
            return
        recent = "; ".join(f"{name} {params}" for name, params in self.requests[-5:])
        name = getattr(predicate, "__name__", repr(predicate))
        raise TimeoutError(
            f"condition {name} not met within {timeout}s (activity={self.activity}, "
            f"pending updates={self.pending_updates()}, "
            f"internal errors={self.internal_errors}); last bot calls: {recent or 'none'}"
        )

    async def wait_until_consumed(
        self, update_id: int, timeout: float = 5.0  # noqa: ASYNC109
    ) -> None:
        """Wait until the bot has fetched and confirmed the update (offset > update_id)."""
        if await self._wait(lambda: self._consumed(update_id), timeout):
            return
        raise TimeoutError(
            f"update {update_id} not consumed within {timeout}s: the bot confirmed up to "
            f"offset {self._max_offset}, {self.pending_updates()} update(s) pending"
        )

    def inject_error(
        self,
        method: str,
        status: int,
        *,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        drop_connection: bool = False,
        body: Body = Body.ERROR,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*": any but getUpdates) fail: with
        the Bot API's error object, or (``body``) an HTML page, plain text, ``{"ok": true}``
        without a result or JSON that is no object, under any ``status`` (200 too)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        self._injections.append(_Injection(
            method.lower(), status, description, retry_after, times, drop_connection, body
        ))

    def start_outage(self, status: int = 502, *, body: Body = Body.HTML,
                     drop_connection: bool = False) -> None:
        """Telegram (or the proxy in front of it) is down: every call, getUpdates and file
        downloads included, is answered with ``status`` and ``body`` (or its connection
        dropped) until ``end_outage``. Long polls waiting now are cut the same way."""
        self._outage = _Outage(status, body, drop_connection)
        self._wake_pollers()

    def end_outage(self) -> None:
        self._outage = None

    def set_limits(self, enabled: bool) -> None:
        """Enforce Telegram's flood limits on sending methods, or stop enforcing them.

        Sends are limited to ``GLOBAL_PER_SECOND`` per second overall, one per
        ``PRIVATE_INTERVAL`` seconds to a private chat and ``GROUP_PER_MINUTE`` per minute to a
        group (sliding windows; a media group counts once per item).  A call over a limit is
        answered 429 with ``retry_after`` and counted in ``rate_limited``.  Only sends made
        while enforcing count; switching resets the windows.
        """
        if enabled != self.enforce_limits:
            self._sends.clear()
            self._chat_sends.clear()
        self.enforce_limits = enabled

    def clear_injections(self) -> None:
        """Forget the errors injected and not yet used."""
        self._injections.clear()

    # ------------------------------------------------------------------ internals: state

    def _register_user(self, user: EmulatedUser) -> None:
        self._users[user.id] = user
        chat: JSON = {"id": user.id, "type": "private", "first_name": user.first_name}
        if user.last_name:
            chat["last_name"] = user.last_name
        if user.username:
            chat["username"] = user.username
        self._chats[user.id] = chat

    def _chat_for(self, user: EmulatedUser, chat_id: int) -> JSON:
        if chat_id == user.id:
            return self._chats[user.id]
        if chat_id > 0:
            raise ValueError("a user speaks in their own private chat or in a group (id < 0)")
        if chat_id not in self._chats:
            self.add_group(chat_id, f"Group {chat_id}")
        return self._chats[chat_id]

    def _replied(self, chat_id: int, message_id: int) -> JSON | None:
        """A message of the chat (the bot's or a user's) as Telegram nests it in a reply:
        without its own ``reply_to_message``.  None if unknown or deleted."""
        found = self._user_messages.get((chat_id, message_id))
        sent = self._bot_messages.get((chat_id, message_id))
        if found is None and sent is not None and not sent.deleted:
            found = sent.raw
        if found is None:
            return None
        return {k: v for k, v in copy.deepcopy(found).items() if k != "reply_to_message"}

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _user_message(
        self, user: EmulatedUser, content: JSON, *, chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        self._register_user(user)
        chat = self._chat_for(user, user.id if chat_id is None else chat_id)
        replied = None if reply_to is None else self._replied(chat["id"], reply_to)
        if reply_to is not None and replied is None:
            raise ValueError(f"no message {reply_to} in chat {chat['id']} to reply to")
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "from": user.to_api(),
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        if replied is not None:
            message["reply_to_message"] = replied
        self._user_messages[(chat["id"], message["message_id"])] = message
        return self._queue({"message": copy.deepcopy(message)})

    def _queue(self, body: JSON) -> int:
        update_id = next(self._update_seq)
        update = {"update_id": update_id, **body}
        self._history[update_id] = update
        self._pending.append(copy.deepcopy(update))
        self._last_update_id = update_id
        self._wake_pollers()
        return update_id

    def _consumed(self, update_id: int) -> bool:
        if update_id > self._last_update_id:
            return False
        waiting = {u["update_id"] for u in self._pending}
        waiting.update(r.update["update_id"] for r in self._redelivered)
        return update_id not in waiting

    def _wake_pollers(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    def _notify(self) -> None:
        self._bot_called.set()
        self._bot_called = asyncio.Event()

    async def _wait(self, predicate: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            event = self._bot_called
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.02)):
                    await event.wait()
        return True

    def _store_file(
        self,
        kind: str,
        data: bytes,
        declared_size: int | None,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        n = next(self._file_seq)
        folder, default_ext = {
            "photo": ("photos", ".jpg"), "thumbnail": ("photos", ".jpg"),
            "document": ("documents", ""), "video": ("videos", ".mp4"),
            "voice": ("voice", ".oga"), "sticker": ("stickers", ".webp"),
        }[kind]
        ext = default_ext
        if kind == "document":
            ext = ("." + file_name.rsplit(".", 1)[1]) if file_name and "." in file_name else ""
        stored = StoredFile(
            file_id=f"emu-{kind}-{n}",
            file_unique_id=f"AQAD{n:08d}",
            kind=kind,
            data=data,
            size=len(data) if declared_size is None else declared_size,
            file_path=f"{folder}/file_{n}{ext}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _store_photo(self, data: bytes, declared_size: int | None) -> StoredFile:
        thumbnail = self._store_file("thumbnail", _THUMBNAIL, None)
        photo = self._store_file("photo", data, declared_size)
        photo.thumbnail = thumbnail
        return photo

    # ------------------------------------------------------------------ internals: flood limits

    def _check_limits(self, name: str, params: _Params) -> tuple[JSON | None, int] | None:
        """Refuse a sending call over Telegram's limits (429); else what to count once it
        succeeds: (its chat, if known; how many sends it makes)."""
        if not self.enforce_limits or name not in _SENDING:
            return None
        media = params.values.get("media")
        weight = len(media) if name == "sendMediaGroup" and isinstance(media, list) else 1
        chat = self._lookup_chat(params.values.get("chat_id"))
        now = time.monotonic()
        waits = [self._window_wait(self._sends, weight, self.GLOBAL_PER_SECOND, 1.0, now)]
        sent = self._chat_sends.get(chat["id"]) if chat is not None else None
        if chat is not None and sent:
            if chat["type"] == "private":
                waits.append(sent[-1] + self.PRIVATE_INTERVAL - now)
            else:
                waits.append(self._window_wait(sent, weight, self.GROUP_PER_MINUTE, 60.0, now))
        wait = max(waits)
        if wait > 0:
            self.rate_limited += 1
            retry_after = max(1, math.ceil(wait))
            raise APIError(429, f"Too Many Requests: retry after {retry_after}",
                           retry_after=retry_after)
        return chat, weight

    @staticmethod
    def _window_wait(times: collections.deque[float], weight: int, limit: int, span: float,
                     now: float) -> float:
        """Seconds until ``weight`` more sends fit in a sliding window of ``span`` seconds
        holding at most ``limit`` (``times``: the accepted sends, oldest first; pruned)."""
        while times and times[0] <= now - span:
            times.popleft()
        over = len(times) + weight - limit
        if over <= 0:
            return 0.0
        return times[over - 1] + span - now if over <= len(times) else span

    def _count_sends(self, chat: JSON | None, weight: int) -> None:
        now = time.monotonic()
        self._sends.extend([now] * weight)
        if chat is not None:
            sent = self._chat_sends.setdefault(chat["id"], collections.deque())
            sent.extend([now] * weight)
            while sent[0] <= now - 60.0:  # nothing older matters (and keep memory bounded)
                sent.popleft()

    # ------------------------------------------------------------------ internals: HTTP

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return APIError(404, "Not Found").response()

    def _outage_answer(self, request: web.Request) -> web.Response | None:
        outage = self._outage
        if outage is None:
            return None
        self.outage_answers += 1
        self._notify()
        if outage.drop_connection:
            self._drop_connection(request)
        return outage.error().response(outage.body)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return APIError(401, "Unauthorized").response()
        if (down := self._outage_answer(request)) is not None:
            return down
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return APIError(404, "Not Found").response()
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return APIError(401, "Unauthorized").response()
        if (down := self._outage_answer(request)) is not None:
            return down
        requested = request.match_info["method"]
        name, handler = self._methods.get(requested.lower(), (requested, None))
        try:
            params = await self._read_params(request)
        except APIError as error:
            return error.response()
        except Exception as exc:  # a body aiohttp cannot parse
            return _bad(f"can't parse request body: {exc}").response()
        self.requests.append((name, params.record()))
        try:
            if handler is None:
                raise APIError(404, "Not Found")
            injection = self._take_injection(name)
            if injection is not None:
                if injection.drop_connection:
                    self._drop_connection(request)
                return APIError(injection.status, injection.description,
                                retry_after=injection.retry_after).response(injection.body)
            # Sending handlers never await: checking, sending and counting are one step even
            # for concurrent calls.  Refused or failed sends are not counted.
            counted = self._check_limits(name, params)
            result = await handler(params)
            if counted is not None:
                self._count_sends(*counted)
        except _Cut:
            if (down := self._outage_answer(request)) is not None:
                return down
            return web.json_response({"ok": True, "result": []})
        except APIError as error:
            return error.response()
        except Exception as exc:
            logger.exception("Bot API emulator failed on %s", name)
            self.internal_errors.append(f"{name}: {exc!r}")
            return _bad(f"emulator could not handle {name}: {exc!r}").response()
        finally:
            self._notify()
        if name not in _READ_ONLY:
            self.activity += 1
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> _Params:
        values: dict[str, Any] = dict(request.query)
        uploads: dict[str, _Upload] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise _bad(f"can't parse JSON body: {exc}") from exc
                if not isinstance(body, dict):
                    raise _bad("the JSON body must be an object")
                values.update(body)
            else:
                for key, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        uploads[key] = _Upload(value.file.read(), value.filename,
                                               value.content_type)
                    else:
                        values[key] = value
        return _Params(values, uploads)

    def _take_injection(self, method: str) -> _Injection | None:
        lowered = method.lower()
        for exact in (True, False):
            for injection in self._injections:
                matches = (injection.method == lowered if exact
                           else injection.method == "*" and lowered != "getupdates")
                if matches:
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._injections.remove(injection)
                    return injection
        return None

    @staticmethod
    def _drop_connection(request: web.Request) -> NoReturn:
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # abandon the request: nothing is written back

    # ------------------------------------------------------------------ internals: helpers

    def _bot_user(self) -> JSON:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_first_name,
                "username": self.bot_username}

    def _lookup_chat(self, raw: Any) -> JSON | None:
        """The chat a ``chat_id`` parameter names (an id or "@username"), if known."""
        if isinstance(raw, int) and not isinstance(raw, bool):
            return self._chats.get(raw)
        if isinstance(raw, str) and raw.startswith("@"):
            return next((c for c in self._chats.values() if c.get("username") == raw[1:]),
                        None)
        return None

    def _chat(self, params: _Params, *, sending: bool = False) -> JSON:
        raw = params.values.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        chat = self._lookup_chat(raw)
        if chat is None:
            raise _bad("chat not found")
        if sending and chat["id"] in self._blocked:
            raise APIError(403, BLOCKED)
        return chat

    def _markup(self, params: _Params, *, inline_only: bool = False) -> JSON | None:
        markup = params.get_json("reply_markup", dict)
        if markup is None:
            return None
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('field "inline_keyboard" must be an Array of Arrays')
            for button in (b for row in rows for b in row):
                self._check_inline_button(button)
            return markup
        if inline_only:
            raise _bad("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('field "keyboard" must be an Array of Arrays')
            for button in (b for row in rows for b in row):
                if not (isinstance(button, str)
                        or (isinstance(button, dict) and isinstance(button.get("text"), str))):
                    raise _bad("can't parse keyboard button: Text is not specified")
            return markup
        if markup.get("remove_keyboard") is True or "force_reply" in markup:
            return markup
        raise _bad("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _bad("can't parse inline keyboard button: Text is not specified")
        if not any(key in button for key in _INLINE_ACTIONS):
            raise _bad("can't parse inline keyboard button: "
                       "Text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and (not isinstance(data, str)
                                 or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA):
            raise _bad("BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and not (isinstance(url, str)
                                    and re.match(r"(https?|tg)://\S+$", url)):
            raise _bad("BUTTON_URL_INVALID")

    def _reply_to(self, params: _Params, chat_id: int) -> JSON | None:
        target = params.get_int("reply_to_message_id")
        allow_missing = params.get_bool("allow_sending_without_reply")
        reply_parameters = params.get_json("reply_parameters", dict)
        if reply_parameters is not None:
            target = reply_parameters.get("message_id")
            if not isinstance(target, int):
                raise _bad("can't parse reply parameters JSON object")
            allow_missing = bool(reply_parameters.get("allow_sending_without_reply"))
            if reply_parameters.get("chat_id") not in (None, chat_id):
                raise _bad("replies to other chats are not supported by the emulator")
        if target is None:
            return None
        found = self._replied(chat_id, target)
        if found is None and not allow_missing:
            raise _bad("message to be replied not found")
        return found

    def _check_caption(self, caption: str | None) -> None:
        if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")

    def _record_message(
        self,
        params: _Params,
        chat: JSON,
        kind: str,
        content: JSON,
        *,
        text: str | None,
        markup: JSON | None = None,
        file_id: str | None = None,
        media_group_id: str | None = None,
        reply_to: JSON | None = None,
    ) -> JSON:
        chat_id = chat["id"]
        raw: JSON = {"message_id": self._new_message_id(chat_id), "from": self._bot_user(),
                     "chat": chat, "date": int(time.time()), **content}
        if media_group_id is not None:
            raw["media_group_id"] = media_group_id
        if reply_to is not None:
            raw["reply_to_message"] = reply_to
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup  # Telegram echoes only inline keyboards
        sent = SentMessage(
            chat_id=chat_id, message_id=raw["message_id"], kind=kind, text=text,
            reply_markup=markup, file_id=file_id, media_group_id=media_group_id,
            reply_to_message_id=reply_to["message_id"] if reply_to else None,
            parse_mode=params.get_str("parse_mode"), raw=raw,
        )
        self._bot_messages[(chat_id, sent.message_id)] = sent
        self._bot_order.setdefault(chat_id, []).append(sent)
        return copy.deepcopy(raw)

    def _input_file(self, params: _Params, value: Any, kind: str, *, field_name: str) -> StoredFile:
        """Resolve a file parameter: a multipart upload, "attach://name" or a file_id."""
        upload = params.uploads.get(field_name) if value is None else None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = params.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise _bad(f"file {value} not found in the request")
        if upload is not None:
            return self._store_upload(upload, kind)
        if not isinstance(value, str) or not value:
            raise _bad(f"there is no {field_name} in the request")
        if value.startswith(("http://", "https://")):
            raise _bad("failed to get HTTP URL content")
        stored = self._files.get(value)
        if stored is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if stored.kind != kind and not (kind == "photo" and stored.kind == "thumbnail"):
            raise _bad(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    def _store_upload(self, upload: _Upload, kind: str) -> StoredFile:
        if kind == "photo":
            stored = self._store_photo(upload.data, None)
        else:
            mime = upload.content_type
            if not mime or mime == "application/octet-stream":
                guessed = mimetypes.guess_type(upload.filename or "")[0]
                mime = guessed or {"video": "video/mp4", "voice": "audio/ogg"}.get(
                    kind, "application/octet-stream")
            stored = self._store_file(kind, upload.data, None,
                                      file_name=upload.filename or "file", mime_type=mime)
        self.sent_files[stored.file_id] = upload.data
        return stored

    def _find_editable(self, params: _Params) -> SentMessage:
        if params.has("inline_message_id"):
            raise _bad("inline messages are not supported by the emulator")
        chat = self._chat(params)
        message_id = params.req_int("message_id")
        sent = self._bot_messages.get((chat["id"], message_id))
        if sent is None or sent.deleted:
            if (chat["id"], message_id) in self._user_messages:
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return sent

    def _apply_edit(self, sent: SentMessage, *, text: str | None, text_key: str,
                    markup: JSON | None) -> JSON:
        current_inline = sent.reply_markup if sent.inline_buttons else None
        if text == sent.text and markup == current_inline:
            raise APIError(400, NOT_MODIFIED)
        sent.text = text
        if text is None:
            sent.raw.pop(text_key, None)
        else:
            sent.raw[text_key] = text
        if markup is not None or current_inline is not None:
            sent.reply_markup = markup
        if markup is None:
            sent.raw.pop("reply_markup", None)
        else:
            sent.raw["reply_markup"] = markup
        sent.edits += 1
        sent.raw["edit_date"] = int(time.time())
        return copy.deepcopy(sent.raw)

    # ------------------------------------------------------------------ Bot API methods

    def _method_table(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setWebhook": self._set_webhook,
            "logOut": self._true,
            "close": self._true,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVideo": self._send_video,
            "sendVoice": self._send_voice,
            "sendMediaGroup": self._send_media_group,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChat": self._get_chat,
        }

    async def _true(self, params: _Params) -> bool:
        return True

    async def _get_me(self, params: _Params) -> JSON:
        return {**self._bot_user(), "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False,
                "can_connect_to_business": False, "has_main_web_app": False}

    async def _get_updates(self, params: _Params) -> list[JSON]:
        if self.webhook_url:
            raise APIError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = params.get_int("offset")
        limit = params.get_int("limit") or 100
        if not 1 <= limit <= 100:
            limit = 100
        timeout = max(0, params.get_int("timeout") or 0)
        allowed = params.get_json("allowed_updates", list) or None
        deadline = time.monotonic() + timeout
        while True:
            if self._outage is not None:
                raise _Cut
            result = self._collect_updates(offset, limit, allowed)
            if result or self._stopping:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            event = self._updates_changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()

    def _collect_updates(self, offset: int | None, limit: int,
                         allowed: list[Any] | None) -> list[JSON]:
        if offset is not None:
            if offset < 0:
                self._pending = self._pending[offset:]
            else:
                self._max_offset = max(self._max_offset, offset)
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
                self._redelivered = [r for r in self._redelivered
                                     if not (r.delivered and r.update["update_id"] < offset)]
        if allowed:  # Telegram drops the updates of other types
            self._pending = [u for u in self._pending if any(k in u for k in allowed)]
        batch = [r.update for r in self._redelivered][:limit]
        for redelivery in self._redelivered[:limit]:
            redelivery.delivered = True
        batch += self._pending[: limit - len(batch)]
        self._notify()
        return copy.deepcopy(batch)

    async def _delete_webhook(self, params: _Params) -> bool:
        self.webhook_url = ""
        self._wake_pollers()  # the webhook's pusher stops
        if params.get_bool("drop_pending_updates"):
            self._pending.clear()
            self._redelivered.clear()
        return True

    async def _set_webhook(self, params: _Params) -> bool:
        self.webhook_url = params.get_str("url", required=True) or ""
        self.webhook_secret = params.get_str("secret_token")
        self.webhook_max_connections = params.get_int("max_connections") or 40
        if self.webhook_url and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.create_task(self._push_updates())
        return True

    # ------------------------------------------------------------------ webhook mode

    async def _push_updates(self) -> None:
        """Webhook mode, as Telegram does it: each update is POSTed to the webhook URL with
        the secret header; one that is not answered 200 (or whose connection drops) comes
        again after `webhook_retry_delay`; one chat's updates one at a time, in order; up to
        `max_connections` requests at once."""
        in_flight: dict[int, asyncio.Task[None]] = {}  # chat -> its update being posted
        async with aiohttp.ClientSession() as http:
            while self.webhook_url and not self._stopping:
                for update in self._webhook_batch(set(in_flight)):
                    chat = _chat_of_update(update)
                    task = asyncio.create_task(self._post_update(http, update))
                    in_flight[chat] = task
                    task.add_done_callback(functools.partial(_forget, in_flight, chat))
                changed = asyncio.ensure_future(self._updates_changed.wait())
                await asyncio.wait({changed, *in_flight.values()}, timeout=0.05,
                                   return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
            for task in list(in_flight.values()):
                task.cancel()

    def _webhook_batch(self, busy: set[int]) -> list[JSON]:
        now, chosen, chats = time.monotonic(), [], set(busy)
        waiting = [r.update for r in self._redelivered] + self._pending
        for update in waiting:
            if len(chats) >= self.webhook_max_connections:
                break
            chat = _chat_of_update(update)
            if chat in chats:
                continue  # the chat's earlier update goes first
            chats.add(chat)
            if self._webhook_not_before.get(update["update_id"], 0) <= now:
                chosen.append(update)
        return chosen

    async def _post_update(self, http: aiohttp.ClientSession, update: JSON) -> None:
        headers = ({"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret}
                   if self.webhook_secret else {})
        update_id = update["update_id"]
        try:
            async with http.post(self.webhook_url, json=update, headers=headers,
                                 timeout=aiohttp.ClientTimeout(total=60)) as answer:
                status = answer.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.webhook_posts.append((update_id, status))
        if status == 200:
            self._pending = [u for u in self._pending if u["update_id"] != update_id]
            self._redelivered = [r for r in self._redelivered
                                 if r.update["update_id"] != update_id]
            self._webhook_not_before.pop(update_id, None)
        else:
            self._webhook_not_before[update_id] = time.monotonic() + self.webhook_retry_delay
        self._notify()

    async def _get_webhook_info(self, params: _Params) -> JSON:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": self.pending_updates()}

    async def _send_message(self, params: _Params) -> JSON:
        chat = self._chat(params, sending=True)
        text = params.get_str("text")
        if not text or not text.strip():
            raise _bad("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        markup = self._markup(params)
        content: JSON = {"text": text}
        if entities := params.get_json("entities", list):
            content["entities"] = entities
        return self._record_message(params, chat, "text", content, text=text, markup=markup,
                                    reply_to=self._reply_to(params, chat["id"]))

    async def _send_media(self, params: _Params, kind: str) -> JSON:
        chat = self._chat(params, sending=True)
        caption = params.get_str("caption")
        self._check_caption(caption)
        markup = self._markup(params)
        reply_to = self._reply_to(params, chat["id"])
        stored = self._input_file(params, params.values.get(kind), kind, field_name=kind)
        content: JSON = {kind: stored.photo_sizes() if kind == "photo" else stored.describe()}
        if caption is not None:
            content["caption"] = caption
        if entities := params.get_json("caption_entities", list):
            content["caption_entities"] = entities
        return self._record_message(params, chat, kind, content, text=caption, markup=markup,
                                    file_id=stored.file_id, reply_to=reply_to)

    async def _send_photo(self, params: _Params) -> JSON:
        return await self._send_media(params, "photo")

    async def _send_document(self, params: _Params) -> JSON:
        return await self._send_media(params, "document")

    async def _send_video(self, params: _Params) -> JSON:
        return await self._send_media(params, "video")

    async def _send_voice(self, params: _Params) -> JSON:
        return await self._send_media(params, "voice")

    async def _send_media_group(self, params: _Params) -> list[JSON]:
        chat = self._chat(params, sending=True)
        media = params.get_json("media", list)
        if media is None or not 2 <= len(media) <= 10:
            raise _bad("media group must contain 2-10 items")
        reply_to = self._reply_to(params, chat["id"])
        resolved: list[tuple[str, StoredFile, JSON]] = []
        for item in media:  # validate everything before sending anything
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video", "document"):
                raise _bad("can't parse InputMedia: unsupported media type")
            self._check_caption(item.get("caption"))
            stored = self._input_file(params, item.get("media"), kind, field_name="media")
            resolved.append((kind, stored, item))
        group_id = f"2{next(self._group_seq):017d}"
        results = []
        for kind, stored, item in resolved:
            content: JSON = {kind: stored.photo_sizes() if kind == "photo" else stored.describe()}
            if item.get("caption") is not None:
                content["caption"] = item["caption"]
            results.append(self._record_message(
                params, chat, "media_group_item", content, text=item.get("caption"),
                file_id=stored.file_id, media_group_id=group_id, reply_to=reply_to,
            ))
        return results

    async def _edit_message_text(self, params: _Params) -> JSON:
        sent = self._find_editable(params)
        text = params.get_str("text")
        if not text or not text.strip():
            raise _bad("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        if sent.kind != "text":
            raise _bad("there is no text in the message to edit")
        return self._apply_edit(sent, text=text, text_key="text",
                                markup=self._markup(params, inline_only=True))

    async def _edit_message_caption(self, params: _Params) -> JSON:
        sent = self._find_editable(params)
        caption = params.get_str("caption")
        self._check_caption(caption)
        if sent.kind == "text":
            raise _bad("there is no caption in the message to edit")
        return self._apply_edit(sent, text=caption, text_key="caption",
                                markup=self._markup(params, inline_only=True))

    async def _edit_message_reply_markup(self, params: _Params) -> JSON:
        sent = self._find_editable(params)
        key = "text" if sent.kind == "text" else "caption"
        return self._apply_edit(sent, text=sent.text, text_key=key,
                                markup=self._markup(params, inline_only=True))

    async def _delete_message(self, params: _Params) -> bool:
        chat = self._chat(params)
        key = (chat["id"], params.req_int("message_id"))
        sent = self._bot_messages.get(key)
        if sent is not None and not sent.deleted:
            sent.deleted = True
        elif self._user_messages.pop(key, None) is None:
            raise _bad("message to delete not found")
        return True

    async def _answer_callback_query(self, params: _Params) -> bool:
        query_id = params.get_str("callback_query_id", required=True) or ""
        if self._callbacks.get(query_id, True):  # unknown or already answered
            raise APIError(400, QUERY_TOO_OLD)
        text = params.get_str("text")
        if text is not None and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._callbacks[query_id] = True
        self.callback_answers.append({
            "callback_query_id": query_id,
            "text": text,
            "show_alert": params.get_bool("show_alert"),
        })
        return True

    async def _get_file(self, params: _Params) -> JSON:
        file_id = params.get_str("file_id", required=True) or ""
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad("invalid file_id")
        if stored.size > MAX_DOWNLOAD_SIZE:
            raise _bad("file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": stored.size, "file_path": stored.file_path}

    async def _send_chat_action(self, params: _Params) -> bool:
        chat = self._chat(params, sending=True)
        action = params.get_str("action", required=True) or ""
        self.chat_actions.append((chat["id"], action))
        return True

    @staticmethod
    def _commands_keys(params: _Params) -> list[tuple[str, str]]:
        """The keys of ``commands`` for a call: (scope type, language), and for scopes naming
        a chat also ("chat:-100123" / "chat_member:-100123:7", language); the last is exact."""
        scope = params.get_json("scope", dict) or {"type": "default"}
        scope_type = scope.get("type")
        if not isinstance(scope_type, str):
            raise _bad("can't parse BotCommandScope JSON object")
        language = params.get_str("language_code") or ""
        keys = [(scope_type, language)]
        if "chat_id" in scope:
            exact = f"{scope_type}:{scope['chat_id']}"
            if "user_id" in scope:
                exact += f":{scope['user_id']}"
            keys.append((exact, language))
        return keys

    async def _set_my_commands(self, params: _Params) -> bool:
        commands = params.get_json("commands", list)
        if commands is None:
            raise _bad("parameter commands is required")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        for key in self._commands_keys(params):
            if cleaned:
                self.commands[key] = copy.deepcopy(cleaned)
            else:
                self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: _Params) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_keys(params)[-1], []))

    async def _delete_my_commands(self, params: _Params) -> bool:
        for key in self._commands_keys(params):
            self.commands.pop(key, None)
        return True

    async def _set_chat_menu_button(self, params: _Params) -> bool:
        chat_id = None
        if params.has("chat_id"):
            chat_id = self._chat(params)["id"]
        self.menu_buttons[chat_id] = params.get_json("menu_button", dict) or {"type": "default"}
        return True

    async def _get_chat(self, params: _Params) -> JSON:
        chat = self._chat(params)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }
