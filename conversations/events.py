"""Neutral events and replies: what the transports translate Telegram updates to and from.

Nothing here knows about aiogram or python-telegram-bot; both adapters produce `Event`s and
render `Reply`s, so the dialogues behave the same whichever framework runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

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
    AUDIO = "audio"  # an audio file (M4A, MP3…), not a voice note recorded in Telegram
    CONTACT = "contact"
    LOCATION = "location"
    OTHER = "other"  # stickers, polls, games…: things the bot never asks for


MEDIA_KINDS = frozenset({EventKind.PHOTO, EventKind.DOCUMENT, EventKind.VIDEO, EventKind.VOICE,
                         EventKind.AUDIO})


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
    sha256: str | None = None  # of the stored copy
    local_path: str | None = None
    # when the stored copy differs from what was received (a picture's metadata taken out):
    # the received bytes' sha256, and where they are kept (KEEP_ORIGINAL_FILES)
    received_sha256: str | None = None
    original_path: str | None = None
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
    """An inline button: pressed, it sends `data` back (a callback); or, with `url`, it opens
    a page, in the browser or (with `mini_app`, private chats only) as a Telegram Mini App."""

    text: str
    data: str = ""
    url: str | None = None
    mini_app: bool = False

    @classmethod
    def link(cls, text: str, url: str, *, mini_app: bool = False) -> Button:
        return cls(text, url=url, mini_app=mini_app)


@dataclass(frozen=True)
class KeyboardButton:
    text: str
    request_contact: bool = False


@dataclass(frozen=True)
class FileRef:
    """A file Telegram already has (sent to the bot before), re-sent by its id; or, with
    `data`, a new file the bot uploads (a chart); or, with `path`, a kept copy it uploads
    (evidence that came in through the console, which Telegram never saw)."""

    kind: str  # photo | video | voice | audio | document
    file_id: str
    data: bytes | None = field(default=None, repr=False)
    name: str = ""  # the uploaded file's name
    path: str | None = None


@dataclass(frozen=True)
class Mention:
    """A person named in a message's text, linked to their Telegram account so that Telegram
    notifies them (a text mention: no username needed)."""

    user_id: int
    name: str  # as it appears in the text


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
    mentions: tuple[Mention, ...] = ()  # names in `text` that notify their person
    # False: not kept in the chat's row to be sent again on a redelivery (it holds a secret,
    # such as a one-time sign-in link, that the database must not keep)
    keep: bool = True


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


@dataclass(frozen=True)
class Answer:
    """What the bot answered to one update, kept in the chat's state row by the update's own
    transaction: when the update comes again (a crash before the answer went out), the same
    answer is sent again instead of nothing. Stored as versioned JSON; a version this code
    does not know reads as no answer (a redelivery then only stops the button's spinner)."""

    VERSION: ClassVar[int] = 1
    update_id: int
    replies: tuple[Reply, ...] = ()
    callback_answer: CallbackAnswer | None = None

    def to_json(self) -> dict[str, Any]:
        return {"v": self.VERSION, "update": self.update_id,
                "replies": [_reply_json(r) for r in self.replies],
                "callback": None if self.callback_answer is None else {
                    "text": self.callback_answer.text, "alert": self.callback_answer.alert}}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Answer | None:
        if not data or data.get("v") != cls.VERSION:
            return None
        callback = data.get("callback")
        return cls(int(data["update"]), tuple(_reply_of(r) for r in data.get("replies", ())),
                   None if callback is None else CallbackAnswer(callback.get("text"),
                                                                bool(callback.get("alert"))))


def _reply_json(reply: Reply) -> dict[str, Any]:
    """A reply as JSON; only what differs from the defaults (most replies are text alone).
    An upload's bytes are not kept: chat answers re-send files by their Telegram id."""
    data: dict[str, Any] = {"text": reply.text}
    if reply.buttons:
        data["buttons"] = [[[b.text, b.data] if b.url is None else [b.text, b.data, b.url,
                                                                     b.mini_app]
                             for b in row] for row in reply.buttons]
    if reply.keyboard:
        data["keyboard"] = [[[b.text, b.request_contact] for b in row] for row in reply.keyboard]
    for flag in ("remove_keyboard", "edit"):
        if getattr(reply, flag):
            data[flag] = True
    for number in ("reply_to", "edit_message_id"):
        if getattr(reply, number) is not None:
            data[number] = getattr(reply, number)
    if reply.file is not None:
        data["file"] = [reply.file.kind, reply.file.file_id]
    if reply.album:
        data["album"] = [[f.kind, f.file_id] for f in reply.album]
    return data


def _reply_of(data: dict[str, Any]) -> Reply:
    file = data.get("file")
    return Reply(
        text=str(data["text"]),
        buttons=tuple(tuple(Button(*b) for b in row) for row in data.get("buttons", ())),
        keyboard=tuple(tuple(KeyboardButton(t, bool(c)) for t, c in row)
                       for row in data.get("keyboard", ())),
        remove_keyboard=bool(data.get("remove_keyboard")), edit=bool(data.get("edit")),
        reply_to=data.get("reply_to"), edit_message_id=data.get("edit_message_id"),
        file=FileRef(file[0], file[1]) if file else None,
        album=tuple(FileRef(k, i) for k, i in data.get("album", ())))
