"""Neutral events and replies: what the transports translate Telegram updates to and from.

Nothing here knows about aiogram or python-telegram-bot; both adapters produce `Event`s and
render `Reply`s, so the dialogues behave the same whichever framework runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from tickets.evidence import MediaProblem

# Characters no field may hold: C0 and C1 controls but tab and newline, DEL, and the halves
# of a surrogate pair on their own (PostgreSQL refuses NUL in text and any lone surrogate;
# none of them is anything a person typed on purpose).
_UNWANTED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text as it may be stored and shown: line ends as \\n, controls removed."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNWANTED.sub("", text) if _UNWANTED.search(text) else text


def clean_optional(text: str | None) -> str | None:
    return None if text is None else clean_text(text)


class EventKind(StrEnum):
    COMMAND = "command"
    TEXT = "text"
    BUTTON = "button"
    PHOTO = "photo"
    DOCUMENT = "document"
    VIDEO = "video"
    VOICE = "voice"
    CONTACT = "contact"
    LOCATION = "location"
    OTHER = "other"  # stickers, polls, games…: things the bot never asks for


MEDIA_KINDS = frozenset({EventKind.PHOTO, EventKind.DOCUMENT, EventKind.VIDEO, EventKind.VOICE})


@dataclass(frozen=True)
class Sender:
    user_id: int
    chat_id: int
    display_name: str
    language_code: str | None = None


@dataclass(frozen=True)
class Media:
    """A file the user sent, already fetched and checked by the shell (or refused)."""

    kind: str  # photo | video | voice | document
    file_id: str
    file_unique_id: str
    size: int
    mime_type: str | None = None
    sha256: str | None = None
    local_path: str | None = None
    problem: MediaProblem | None = None


@dataclass(frozen=True)
class Event:
    update_id: int
    sender: Sender
    kind: EventKind
    text: str | None = None
    command: str | None = None  # without the slash, lower case
    command_args: str = ""
    callback_data: str | None = None
    callback_id: str | None = None
    message_id: int | None = None  # the message itself, or the one carrying the pressed button
    media: Media | None = None
    album_id: str | None = None
    phone: str | None = None
    contact_user_id: int | None = None
    reply_to_message_id: int | None = None  # the message this one answers (Telegram "reply")

    @property
    def in_group(self) -> bool:
        return self.sender.chat_id != self.sender.user_id


@dataclass(frozen=True)
class Button:
    text: str
    data: str


@dataclass(frozen=True)
class KeyboardButton:
    text: str
    request_contact: bool = False


@dataclass(frozen=True)
class FileRef:
    """A file Telegram already has (sent to the bot before), re-sent by its id; or, with
    `data`, a new file the bot uploads (a chart)."""

    kind: str  # photo | video | voice | document
    file_id: str
    data: bytes | None = field(default=None, repr=False)
    name: str = ""  # the uploaded file's name


@dataclass(frozen=True)
class Reply:
    """One message to show. `edit=True` edits the message whose button was pressed;
    `edit_message_id` edits that message instead (the notifier's cards). With `file`, the text
    is the file's caption; with `album`, the files go as one album and the text is dropped."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    keyboard: tuple[tuple[KeyboardButton, ...], ...] = ()
    remove_keyboard: bool = False
    edit: bool = False
    reply_to: int | None = None
    file: FileRef | None = None
    album: tuple[FileRef, ...] = ()
    edit_message_id: int | None = None


@dataclass(frozen=True)
class CallbackAnswer:
    text: str | None = None
    alert: bool = False


@dataclass
class Outcome:
    """What handling one event produced; `step` and `result` feed the per-update log line."""

    replies: list[Reply] = field(default_factory=list)
    callback_answer: CallbackAnswer | None = None
    step: str = ""
    result: str = "ok"
    notify: bool = False  # something was queued in the outbox: wake the notifier

    def say(self, reply: Reply) -> Outcome:
        self.replies.append(reply)
        return self


def inline(*rows: list[Button] | tuple[Button, ...]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(row) for row in rows if row)
