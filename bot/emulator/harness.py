"""The test-facing API: act as users in their chats and read what the bot did."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from urllib.parse import quote, urlencode

from bot.emulator.records import JSON, EmulatedUser, Redelivery, SentMessage
from bot.emulator.state import EmulatorState


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class EmulatorHarness(EmulatorState):
    """What tests, the demo and the benchmarks call: users, groups, sends, clicks, reads."""

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
        caption: str | None = None,
    ) -> int:
        doc = self._store_file("document", data, declared_size, file_name=file_name,
                               mime_type=mime_type)
        content: JSON = {"document": doc.describe()}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user, content, chat_id=chat_id, reply_to=reply_to)

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

    def send_audio(
        self, user: EmulatedUser, data: bytes, *, file_name: str, mime_type: str,
        declared_size: int | None = None, chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """An audio file (an M4A or MP3 recording), as Telegram shows it: not a voice note."""
        audio = self._store_file("audio", data, declared_size, file_name=file_name,
                                 mime_type=mime_type)
        return self._user_message(user, {"audio": audio.describe()}, chat_id=chat_id,
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

    def web_app_init_data(self, user: EmulatedUser, *, auth_date: int | None = None) -> str:
        """The launch data Telegram gives a Mini App that `user` opens, signed with the bot's
        token as Telegram signs it (HMAC-SHA256, key HMAC-SHA256("WebAppData", token))."""
        fields = {
            "auth_date": str(int(time.time()) if auth_date is None else auth_date),
            "query_id": secrets.token_urlsafe(12),
            "user": json.dumps({"id": user.id, "first_name": user.first_name,
                                **({"language_code": user.language_code}
                                   if user.language_code else {})},
                               ensure_ascii=False, separators=(",", ":")),
        }
        check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
        secret = hmac.new(b"WebAppData", self.token.encode(), hashlib.sha256).digest()
        fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
        return urlencode(fields, quote_via=quote)

    def open_web_app(self, user: EmulatedUser, message: SentMessage, button: str) -> str:
        """Press a Mini App button: the page address a Telegram client opens, with the launch
        data in its fragment (#tgWebAppData=…), as clients pass it."""
        found = self._bot_messages.get((message.chat_id, message.message_id), message
                                       ).button(button)
        if found.web_app_url is None:
            raise ValueError(f"button {found.text!r} opens no Mini App")
        fragment = urlencode({"tgWebAppData": self.web_app_init_data(user),
                              "tgWebAppVersion": "8.0", "tgWebAppPlatform": "tdesktop"},
                             quote_via=quote)
        return f"{found.web_app_url.split('#')[0]}#{fragment}"

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
        self._redelivered.append(Redelivery(copy.deepcopy(self._history[update_id])))
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

    # ------------------------------------------------------------------ internals

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

    def _consumed(self, update_id: int) -> bool:
        if update_id > self._last_update_id:
            return False
        waiting = {u["update_id"] for u in self._pending}
        waiting.update(r.update["update_id"] for r in self._redelivered)
        return update_id not in waiting

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
