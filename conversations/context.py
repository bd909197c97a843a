"""What a step handler works with: the event, the chat's state, the services, the language."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from conversations.events import (
    Button,
    CallbackAnswer,
    Event,
    KeyboardButton,
    Outcome,
    Reply,
)
from conversations.keyboards import Callback
from locales import gettext_for, ngettext_for
from storage.models import ConversationState, Resident
from storage.repositories import Categories, MessageLinks, Residents, Surveys, Units
from tickets.policy import DEFAULT_PHONE_REGION, Timing
from tickets.privacy import PrivacyNotice
from tickets.questions import QuestionSet
from tickets.service import TicketService


@dataclass(frozen=True)
class Office:
    """Facts about the office the dialogues mention."""

    default_language: str = "en"
    emergency_phone: str = ""
    office_phone: str = ""
    staff_chat_id: int | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    timing: Timing = field(default_factory=Timing)
    console_url: str = ""  # the office console's address ("": not served)
    phone_region: str = DEFAULT_PHONE_REGION  # where a number without a country code is
    questions: QuestionSet = field(default_factory=QuestionSet)  # asked per category
    privacy: PrivacyNotice = field(default_factory=PrivacyNotice)  # agreed to by residents
    # a dispute's complainant is kept from the staff group (DISPUTE_HIDE_COMPLAINANT)
    hide_dispute_complainant: bool = False


@dataclass
class Context:
    event: Event
    state: ConversationState
    session: AsyncSession
    office: Office
    lang: str
    resident: Resident | None
    out: Outcome = field(default_factory=Outcome)
    data: dict[str, Any] = field(default_factory=dict)
    flow: str = ""
    step: str = ""

    def __post_init__(self) -> None:
        # a deep copy: drafts are nested, and changes must show as changes when saving
        self.flow, self.step = self.state.flow, self.state.step
        self.data = copy.deepcopy(self.state.data or {})
        self.tickets = TicketService(self.session, staff_chat_id=self.office.staff_chat_id,
                                     timing=self.office.timing,
                                     phone_region=self.office.phone_region)
        self.residents = Residents(self.session)
        self.units = Units(self.session)
        self.categories = Categories(self.session)
        self.links = MessageLinks(self.session)
        self.surveys = Surveys(self.session)

    # --- translation ---------------------------------------------------------------------
    @property
    def _(self) -> Callable[[str], str]:
        return gettext_for(self.lang)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return ngettext_for(self.lang)(singular, plural, n)

    # --- state ---------------------------------------------------------------------------
    def goto(self, flow: str, step: str) -> None:
        self.flow, self.step = flow, step

    def reset(self, keep: tuple[str, ...] = ("lang", "sent")) -> None:
        """Leave any flow; the draft goes with it (nothing half-made is kept)."""
        self.flow, self.step = "", ""
        self.data = {k: v for k, v in self.data.items() if k in keep}

    def save(self) -> None:
        state = self.state
        if (state.flow, state.step, state.data) != (self.flow, self.step, self.data):
            state.flow, state.step, state.data = self.flow, self.step, copy.deepcopy(self.data)
            state.version = (state.version or 0) + 1

    # --- output --------------------------------------------------------------------------
    def say(
        self,
        text: str,
        buttons: tuple[tuple[Button, ...], ...] = (),
        *,
        keyboard: tuple[tuple[KeyboardButton, ...], ...] = (),
        remove_keyboard: bool = False,
        edit: bool = False,
        reply_to: int | None = None,
    ) -> None:
        self.out.say(
            Reply(
                text=text,
                buttons=buttons,
                keyboard=keyboard,
                remove_keyboard=remove_keyboard,
                edit=edit and self.pressed and self.event.message_id is not None,
                reply_to=reply_to,
            )
        )

    def answer(self, text: str | None = None, *, alert: bool = False) -> None:
        """Answer the pressed button (Telegram shows a spinner until we do)."""
        self.out.callback_answer = CallbackAnswer(text=text, alert=alert)

    @property
    def callback(self) -> Callback | None:
        """The pressed button's data, parsed; None for a message or unreadable data."""
        return Callback.parse(self.event.callback_data)

    @property
    def pressed(self) -> bool:
        return self.event.callback_data is not None
