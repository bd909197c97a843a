"""What the emulator keeps and shows tests: users, the bot's messages, files, queued updates.

Plain data classes; the state that holds them is :class:`bot.emulator.state.EmulatorState`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]  # a Bot API object as it travels in JSON


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
    web_app_url: str | None = None  # a Mini App button: the page it opens


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
            [Button(b["text"], callback_data=b.get("callback_data"), url=b.get("url"),
                    web_app_url=(b.get("web_app") or {}).get("url"))
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
        listing = ", ".join(f"{b.text!r} ({b.callback_data or b.url or b.web_app_url})"
                            for b in buttons)
        raise KeyError(
            f"no inline button {text_or_data!r} on message {self.message_id} in chat "
            f"{self.chat_id}; buttons: {listing or 'none'}"
        )


@dataclass
class StoredFile:
    """A file the emulator knows: sent by a user or uploaded by the bot."""

    file_id: str
    file_unique_id: str
    kind: str  # "photo" | "document" | "video" | "voice" | "audio" | "sticker" | "thumbnail"
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
        if self.kind == "audio":
            return {**base, "duration": 5, "file_name": self.file_name,
                    "mime_type": self.mime_type}
        return {**base, "type": "regular", "width": 512, "height": 512,
                "is_animated": False, "is_video": False, "emoji": "🙂"}

    def photo_sizes(self) -> list[JSON]:
        sizes = [self.thumbnail.describe()] if self.thumbnail else []
        return [*sizes, self.describe()]


@dataclass
class Redelivery:
    """An update queued again (``redeliver``); it goes once the bot confirms past it."""

    update: JSON
    delivered: bool = False
