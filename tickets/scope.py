"""Which residents something is about: the whole property, a building, some floors of a
building, or some units. An incident's scope says which new reports are linked to it; an
announcement's, who receives it. Kept as JSON (`to_json` / `from_json`, versioned)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from locales import Gettext
from storage.models import Unit


class ScopeKind(StrEnum):
    PROPERTY = "property"
    BUILDING = "building"
    FLOORS = "floors"  # of one building
    UNITS = "units"


class ScopeError(ValueError):
    """A scope that cannot be read (from a form, a command, a stored row)."""


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    building_id: int | None = None  # BUILDING and FLOORS
    floors: tuple[str, ...] = ()  # FLOORS: as the unit list spells them
    unit_ids: tuple[int, ...] = ()  # UNITS

    VERSION = 1

    def __post_init__(self) -> None:
        if self.kind in (ScopeKind.BUILDING, ScopeKind.FLOORS) and self.building_id is None:
            raise ScopeError("a building's scope names the building")
        if self.kind == ScopeKind.FLOORS and not self.floors:
            raise ScopeError("a floors' scope names at least one floor")
        if self.kind == ScopeKind.UNITS and not self.unit_ids:
            raise ScopeError("a units' scope names at least one unit")

    def contains(self, unit: Unit | None) -> bool:
        """Whether a resident (or a report) of this unit is in the scope. A unit the office's
        list does not know (typed at registration) is only in the whole property."""
        if self.kind == ScopeKind.PROPERTY:
            return True
        if unit is None:
            return False
        if self.kind == ScopeKind.UNITS:
            return unit.id in self.unit_ids
        if unit.building_id != self.building_id:
            return False
        return self.kind == ScopeKind.BUILDING or (unit.floor or "") in self.floors

    def to_json(self) -> dict[str, Any]:
        return {"v": self.VERSION, "kind": self.kind.value, "building": self.building_id,
                "floors": list(self.floors), "units": list(self.unit_ids)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Scope:
        if not data:
            raise ScopeError("no scope")
        try:
            return cls(ScopeKind(data["kind"]), data.get("building"),
                       tuple(str(f) for f in data.get("floors") or ()),
                       tuple(int(u) for u in data.get("units") or ()))
        except (KeyError, ValueError, TypeError) as error:
            raise ScopeError(f"unreadable scope: {error}") from None

    def describe(self, _: Gettext, building_name: str = "", unit_labels: tuple[str, ...] = ()
                 ) -> str:
        """The scope in words, for staff and residents."""
        if self.kind == ScopeKind.PROPERTY:
            return _("the whole property")
        if self.kind == ScopeKind.BUILDING:
            return _("building %(building)s") % {"building": building_name}
        if self.kind == ScopeKind.FLOORS:
            return _("building %(building)s, floors %(floors)s") % {
                "building": building_name, "floors": ", ".join(self.floors)}
        return _("units %(units)s") % {"units": ", ".join(unit_labels)}


def floors_from(text: str) -> tuple[str, ...]:
    """Floors as staff type them: "3", "3-7", "3, 5, 9-11" (ranges of whole numbers)."""
    floors: list[str] = []
    for part in text.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        low, dash, high = part.partition("-")
        if dash and low.strip().isdigit() and high.strip().isdigit():
            first, last = int(low), int(high)
            if first > last or last - first > 200:
                raise ScopeError(f"{part}: not a range of floors")
            floors += [str(n) for n in range(first, last + 1)]
        elif not dash and len(part) <= 16:
            floors.append(part)
        else:
            raise ScopeError(f"{part}: not a floor or a range such as 3-7")
    if not floors:
        raise ScopeError("no floor given")
    return tuple(dict.fromkeys(floors))
