"""Callback data and keyboards. Callback data is `prefix:action[:arg]`, never over 64 bytes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Protocol, Self

from conversations.events import Button, KeyboardButton, inline
from locales import LANGUAGE_NAMES, N_, SUPPORTED, gettext_for

CALLBACK_LIMIT = 64  # bytes, Telegram's limit


class Prefix(StrEnum):
    """Whose button it is: the first part of every callback data, and the name of a flow in
    the chat's state row. The short forms travel (64 bytes of callback data; rows already
    stored) and are spelled here alone; the code says the names."""

    REGISTRATION = "reg"
    PROFILE = "pf"  # /profile: a registered resident's name, phone and unit
    REPORT = "rp"
    MY_TICKETS = "mt"
    SURVEY = "sv"
    CALL_BACK = "cb"  # the call-back (回访) after closing
    LANGUAGE = "lg"
    PRIVACY = "pv"  # the privacy notice's I agree / Not now, for a registered resident
    FORGET = "fg"  # /forget: erasing a resident's personal data
    STAFF_CARD = "sf"  # a ticket card's buttons in the staff group
    STAFF_DIALOG = "sd"  # choices inside a staff member's guided action
    ANNOUNCE = "an"  # the staff group's /announce and /announcements
    SETTINGS = "st"  # /settings: a resident's announcements on or off


class CardAction(StrEnum):
    """A ticket card's buttons: the action part of a `sf:` callback. Cards already posted
    carry these short forms, so they are spelled here alone; the code says the names."""

    ACKNOWLEDGE = "ack"
    TAKE = "take"
    ASSIGN = "asg"  # shows the staff list to choose from
    ASSIGN_TO = "to"  # one person of that list
    INVESTIGATE = "inv"
    RECORD_FINDINGS = "fnd"
    RESOLVE = "res"
    MESSAGE = "msg"
    REQUEST_INFO = "req"
    ESCALATE = "esc"
    REJECT = "rej"
    NOTE = "note"
    MEDIATE = "pty"  # a dispute: reach the other party
    AGREE = "agr"  # a dispute: the agreement reached
    INCIDENT = "inc"  # the ticket leads an incident (one outage, many reports)
    UNLINK = "unl"  # under a linked report's post: a ticket of its own again
    LINK = "lnk"  # shows the open incidents to link the report to, by hand
    LINK_TO = "lto"  # one incident of that list



class TicketRef(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def version(self) -> int: ...


@dataclass(frozen=True)
class Callback:
    prefix: str
    action: str
    arg: str = ""

    def pack(self) -> str:
        data = ":".join(p for p in (self.prefix, self.action, self.arg) if p)
        if len(data.encode()) > CALLBACK_LIMIT:
            raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
        return data

    @classmethod
    def parse(cls, data: str | None) -> Callback | None:
        if not data or len(data.encode()) > CALLBACK_LIMIT:
            return None
        parts = data.split(":", 2)
        if len(parts) < 2 or not all(parts[:2]):
            return None
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else "")

    def int_arg(self) -> int | None:
        return int(self.arg) if self.arg.isdigit() and len(self.arg) < 12 else None


def button(text: str, prefix: str, action: str, arg: str | int = "") -> Button:
    return Button(text, Callback(prefix, action, str(arg)).pack())


# --- typed callback data per button kind (the packed form is `prefix:action[:arg]`) ----------

@dataclass(frozen=True)
class RecordButton:
    """A button about one record, by its id: `prefix:action:id`."""

    PREFIX: ClassVar[Prefix]
    action: str
    id: int

    def pack(self) -> str:
        return Callback(self.PREFIX, self.action, str(self.id)).pack()

    def labelled(self, text: str) -> Button:
        return Button(text, self.pack())

    @classmethod
    def unpack(cls, callback: Callback | None) -> Self | None:
        """The button, or None when the data is another kind's or its id is not a number."""
        if callback is None or callback.prefix != cls.PREFIX:
            return None
        record = callback.int_arg()
        return None if record is None else cls(callback.action, record)


class TicketButton(RecordButton):
    """My tickets: an action on one of the resident's tickets, or a page of the list ("page")."""

    PREFIX = Prefix.MY_TICKETS


class SurveyButton(RecordButton):
    """A survey message's answers (yes / partly / no, r1…r5) and Skip, by the survey's id."""

    PREFIX = Prefix.SURVEY


class CallBackButton(RecordButton):
    """The call-back's answers: "held" (still solved) or "back" (it came back), by its id."""

    PREFIX = Prefix.CALL_BACK


@dataclass(frozen=True)
class CardButton:
    """A ticket card's button: `sf:action:ticket.version[.extra]`. The version makes a button
    pressed on an older card refused."""

    PREFIX: ClassVar[Prefix] = Prefix.STAFF_CARD
    action: str
    ticket_id: int
    version: int
    extra: str = ""

    def pack(self) -> str:
        arg = f"{self.ticket_id}.{self.version}" + (f".{self.extra}" if self.extra else "")
        return Callback(self.PREFIX, self.action, arg).pack()

    @classmethod
    def unpack(cls, callback: Callback | None) -> CardButton | None:
        if callback is None:
            return None
        parts = callback.arg.split(".", 2)
        if len(parts) < 2 or not all(p.isdigit() and len(p) < 12 for p in parts[:2]):
            return None
        return cls(callback.action, int(parts[0]), int(parts[1]),
                   parts[2] if len(parts) == 3 else "")


def staff_button(text: str, action: str, ticket: TicketRef, extra: str | int = "") -> Button:
    """A card button carries the ticket's version: pressed on an older card, it is refused."""
    return Button(text, CardButton(action, ticket.id, ticket.version, str(extra)).pack())


def staff_target(callback: Callback) -> tuple[int, int, str] | None:
    """(ticket id, version, extra) of a card button, or None if the data is not one."""
    card = CardButton.unpack(callback)
    return None if card is None else (card.ticket_id, card.version, card.extra)


def grid(buttons: Sequence[Button], columns: int = 2) -> tuple[tuple[Button, ...], ...]:
    return inline(*(tuple(buttons[i : i + columns]) for i in range(0, len(buttons), columns)))


# --- main menu (a reply keyboard, so it stays under the input field) ---------------------

MENU_REPORT = N_("📝 Report a problem")
MENU_TICKETS = N_("📋 My tickets")
MENU_HELP = N_("❓ Help")
MENU_LANGUAGE = N_("🌐 Language")
MENU_ACTIONS = {MENU_REPORT: "report", MENU_TICKETS: "mytickets", MENU_HELP: "help",
                MENU_LANGUAGE: "language"}


def main_menu(_: Callable[[str], str]) -> tuple[tuple[KeyboardButton, ...], ...]:
    return (
        (KeyboardButton(_(MENU_REPORT)), KeyboardButton(_(MENU_TICKETS))),
        (KeyboardButton(_(MENU_HELP)), KeyboardButton(_(MENU_LANGUAGE))),
    )


def menu_action(text: str | None) -> str | None:
    """Which menu button a text is, in any language (the resident may have just switched)."""
    if not text:
        return None
    for lang in SUPPORTED:
        _ = gettext_for(lang)
        for label, action in MENU_ACTIONS.items():
            if text == _(label):
                return action
    return None


def share_phone(_: Callable[[str], str]) -> tuple[tuple[KeyboardButton, ...], ...]:
    return ((KeyboardButton(_("📱 Share my phone number"), request_contact=True),),)


def languages() -> tuple[tuple[Button, ...], ...]:
    return grid([button(LANGUAGE_NAMES[lang], Prefix.LANGUAGE, "set", lang)
                 for lang in SUPPORTED], 3)
