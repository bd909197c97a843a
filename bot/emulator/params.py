"""One method call's parameters, decoded as Telegram does and validated with its errors."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.emulator.errors import bad_request
from bot.emulator.records import JSON

T = TypeVar("T")

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


@dataclass
class Upload:
    """A file sent in a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


class Params:
    """The parameters of one method call, with Telegram-like validation errors."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload]) -> None:
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
                raise bad_request(f"parameter {name} is required")
            return None
        if not isinstance(value, str):
            raise bad_request(f'field "{name}" must be of type String')
        return value

    def get_int(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f'field "{name}" must be of type Integer')
        return value

    def req_int(self, name: str) -> int:
        value = self.get_int(name, required=True)
        assert value is not None
        return value

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name, False)
        if not isinstance(value, bool):
            raise bad_request(f'field "{name}" must be of type Boolean')
        return value

    def get_json(self, name: str, expected: type[T]) -> T | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, expected):
            raise bad_request(f"can't parse {name} JSON object")
        return value


# A Bot API method: the call's parameters in, the "result" of the answer out.
Handler = Callable[[Params], Coroutine[Any, Any, Any]]
