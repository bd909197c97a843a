"""A flow as one transition table: (step, what arrived) → the handler, the steps it may lead to,
and how that edge reads in the flow's diagram. `Flow.handle` dispatches from the table (as
python-telegram-bot's `ConversationHandler` states do, without its in-memory state), and
`Flow.mermaid()` draws the diagram kept next to each flow (`test_project` compares them).

A handler that takes the chat somewhere its table does not say is logged as an error: the
tests fail on it, so the table and the diagram cannot drift from what the code does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from conversations.context import Context
from conversations.events import MEDIA_KINDS, EventKind
from conversations.keyboards import Prefix

log = logging.getLogger(__name__)

ANY_STEP = "*"  # a transition taken from whichever step the chat is at
EXIT = "[*]"  # the flow is left (done, cancelled, or another flow begun)

Handler = Callable[[Context], Awaitable[None]]


class Input(StrEnum):
    """What the resident sent, when it is not one of the flow's buttons."""

    TEXT = "text"
    MEDIA = "media"  # photo, video, voice note, document
    CONTACT = "contact"
    OTHER = "other"  # stickers, locations, anything else


@dataclass(frozen=True)
class Press:
    """One of the flow's own buttons, by its action."""

    action: str


Arrival = Input | Press


@dataclass(frozen=True)
class Transition:
    handler: Handler
    to: Mapping[str, str] = field(default_factory=dict)
    """The steps this may lead to (EXIT to leave the flow), each with its label in the
    diagram. Staying at the same step (a bad answer asked again) is always allowed."""


@dataclass(frozen=True)
class Flow:
    name: Prefix
    steps: tuple[str, ...]
    transitions: Mapping[tuple[str, Arrival], Transition]
    starts: Mapping[str, str]  # entry step → how it is entered (the diagram's [*] edges)
    otherwise: Handler  # something arrived that no transition takes
    cancel: str = "/cancel"  # what leaves the flow from any step (the engine's command)

    def arrival(self, ctx: Context) -> Arrival | None:
        """What arrived; None for a button that is not this flow's (stale or forged)."""
        event = ctx.event
        if ctx.pressed:
            callback = ctx.callback
            return Press(callback.action) if callback and callback.prefix == self.name else None
        if event.kind == EventKind.TEXT:
            return Input.TEXT
        if event.kind in MEDIA_KINDS:
            return Input.MEDIA
        if event.kind == EventKind.CONTACT:
            return Input.CONTACT
        return Input.OTHER

    def find(self, step: str, arrival: Arrival) -> Transition | None:
        return self.transitions.get((step, arrival)) or self.transitions.get((ANY_STEP, arrival))

    async def handle(self, ctx: Context) -> None:
        arrival, step = self.arrival(ctx), ctx.step
        transition = self.find(step, arrival) if arrival is not None else None
        if transition is None:
            if ctx.pressed:
                ctx.answer(ctx._("This button is no longer active."))
            else:
                await self.otherwise(ctx)
            return
        await transition.handler(ctx)
        reached = ctx.step if ctx.flow == self.name else EXIT
        if reached != step and reached not in transition.to:
            log.error("flow %s: %s --%s--> %s is not in its transition table",
                      self.name.name, step, arrival, reached)

    def mermaid(self) -> str:
        """The state diagram, generated from the table."""
        lines = ["stateDiagram-v2"]
        lines += [f"    [*] --> {step}: {label}" for step, label in self.starts.items()]
        anywhere: list[str] = []
        for (step, _arrival), transition in self.transitions.items():
            source = "any_step" if step == ANY_STEP else step
            edges = [f"    {source} --> {'any_step' if target == ANY_STEP else target}: {label}"
                     for target, label in transition.to.items()]
            (anywhere if step == ANY_STEP else lines).extend(edges)
        if anywhere or self.cancel:
            lines.append('    state "any step" as any_step')
            lines += anywhere
        if self.cancel:
            lines.append(f"    any_step --> [*]: {self.cancel}")
        return "\n".join(dict.fromkeys(lines))  # one edge once, in the table's order
