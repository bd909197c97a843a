"""The guided action in progress, as kept on the staff member's row (`staff.dialog`).

`Guided` names the actions; its values are the short codes stored in that row (and, for the
actions begun from a card, the same as the card button's code). `GuidedAction` is the typed
record: it is written with a version number and still reads the unversioned rows written
before it had one, so a dialog begun before an upgrade is finished after it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class Guided(StrEnum):
    """Which guided action. The short forms are stored; they are spelled here alone."""

    MESSAGE = "msg"  # a message to the resident
    REQUEST_INFO = "req"  # ask the resident for information or evidence
    REJECT = "rej"  # the reason of a rejection
    NOTE = "note"  # an internal note
    FINDINGS = "fnd"  # the investigation's findings
    RESOLUTION = "res"  # how it was resolved
    INTAKE = "intake"  # a complaint taken by phone, e-mail or at the desk
    PARTY = "pty"  # a dispute: the other party, and how they were reached
    AGREEMENT = "agr"  # a dispute: the agreement reached
    INCIDENT = "inc"  # the ticket leads an incident: for which scope


@dataclass(frozen=True)
class GuidedAction:
    """One staff member's guided action: which, about what, how far, and what was answered."""

    VERSION: ClassVar[int] = 1

    kind: Guided
    ticket: int | None  # None for an intake (the ticket does not exist yet)
    anchor: int | None  # the message the questions reply to (the card, or the /intake)
    key: str  # random; binds the buttons to this dialog, and makes the intake idempotent
    step: int = -1  # the question being asked; -1 before the first
    answers: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        """Carried by the current question's buttons: another's (or an older) is refused."""
        return f"{self.key[:8]}.{self.step}"

    def at(self, step: int) -> GuidedAction:
        return dataclasses.replace(self, step=step)

    def answered(self, key: str, value: Any) -> GuidedAction:
        return dataclasses.replace(self, answers={**self.answers, key: value})

    def to_json(self) -> dict[str, Any]:
        return {"v": self.VERSION, "kind": self.kind.value, "ticket": self.ticket,
                "step": self.step, "answers": dict(self.answers), "anchor": self.anchor,
                "key": self.key}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> GuidedAction | None:
        """The stored dialog, or None if there is none. Rows without "v" are version 1's
        shape written before it was numbered."""
        if not data:
            return None
        version = data.get("v", 1)
        if version != cls.VERSION:
            raise ValueError(f"unknown staff dialog version {version!r}")
        return cls(kind=Guided(data["kind"]), ticket=data.get("ticket"),
                   anchor=data.get("anchor"), key=str(data.get("key", "")),
                   step=int(data.get("step", -1)), answers=dict(data.get("answers") or {}))
