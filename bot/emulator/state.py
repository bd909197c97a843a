"""The emulator's state: chats, messages, files, the update queue, and what the bot did.

``EmulatorState`` is the base of every part of :class:`bot.emulator.BotAPIEmulator`: it
holds all the attributes (so each part reads them with their types) and the helpers that
more than one part needs.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import itertools
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.emulator.errors import BLOCKED, APIError, bad_request
from bot.emulator.params import Handler, Params
from bot.emulator.records import JSON, EmulatedUser, Redelivery, SentMessage, StoredFile

if TYPE_CHECKING:  # faults.py builds on this module
    from bot.emulator.faults import Injection, Outage

THUMBNAIL = b"\xff\xd8\xff\xe0emulator-thumbnail\xff\xd9"


class EmulatorState:
    """All the emulator knows; the method families and the test-facing API build on it."""

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
        self._injections: list[Injection] = []
        self._outage: Outage | None = None
        self.outage_answers = 0  # calls answered by an outage
        self._file_seq = itertools.count(1)
        self._group_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._foreign_user_seq = itertools.count(1)
        # Updates.
        self._update_seq = itertools.count(1)
        self._pending: list[JSON] = []
        self._redelivered: list[Redelivery] = []
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

    def _method_table(self) -> dict[str, Handler]:
        """The Bot API methods answered, by name (``BotAPIEmulator`` composes them)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ chats and messages

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

    def _chat(self, params: Params, *, sending: bool = False) -> JSON:
        raw = params.values.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        chat = self._lookup_chat(raw)
        if chat is None:
            raise bad_request("chat not found")
        if sending and chat["id"] in self._blocked:
            raise APIError(403, BLOCKED)
        return chat

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

    # ------------------------------------------------------------------ updates

    def _queue(self, body: JSON) -> int:
        update_id = next(self._update_seq)
        update = {"update_id": update_id, **body}
        self._history[update_id] = update
        self._pending.append(copy.deepcopy(update))
        self._last_update_id = update_id
        self._wake_pollers()
        return update_id

    def pending_updates(self) -> int:
        return len(self._pending) + len(self._redelivered)

    def _wake_pollers(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    def _notify(self) -> None:
        self._bot_called.set()
        self._bot_called = asyncio.Event()

    # ------------------------------------------------------------------ files

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
            "voice": ("voice", ".oga"), "audio": ("music", ".mp3"),
            "sticker": ("stickers", ".webp"),
        }[kind]
        ext = default_ext
        if kind in ("document", "audio") and file_name:
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
        thumbnail = self._store_file("thumbnail", THUMBNAIL, None)
        photo = self._store_file("photo", data, declared_size)
        photo.thumbnail = thumbnail
        return photo
