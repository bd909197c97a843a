"""Scopes: who an incident or an announcement is about."""

from __future__ import annotations

import pytest

from locales import gettext_for
from storage.models import Unit
from tickets.scope import Scope, ScopeError, ScopeKind, floors_from


def test_a_scope_contains_the_units_it_names() -> None:
    flat = Unit(id=7, building_id=2, number="0501", floor="5")
    other_building = Unit(id=8, building_id=3, number="0501", floor="5")
    assert Scope(ScopeKind.PROPERTY).contains(None)  # a unit typed, not on the list
    assert Scope(ScopeKind.BUILDING, 2).contains(flat)
    assert not Scope(ScopeKind.BUILDING, 2).contains(other_building)
    assert not Scope(ScopeKind.BUILDING, 2).contains(None)
    assert Scope(ScopeKind.FLOORS, 2, ("4", "5")).contains(flat)
    assert not Scope(ScopeKind.FLOORS, 2, ("6",)).contains(flat)
    assert Scope(ScopeKind.UNITS, unit_ids=(7,)).contains(flat)
    assert not Scope(ScopeKind.UNITS, unit_ids=(7,)).contains(other_building)


def test_a_scope_is_kept_and_read_back_and_refused_when_incomplete() -> None:
    scope = Scope(ScopeKind.FLOORS, 2, ("3", "4"))
    assert Scope.from_json(scope.to_json()) == scope
    for broken in ({}, {"kind": "galaxy"}, {"kind": "floors", "building": 2}):
        with pytest.raises(ScopeError):
            Scope.from_json(broken)
    with pytest.raises(ScopeError):
        Scope(ScopeKind.BUILDING)
    assert Scope(ScopeKind.FLOORS, 2, ("3",)).describe(gettext_for("zh_Hans"), "2") == (
        "2号楼 3 层")


def test_floors_are_typed_as_numbers_and_ranges() -> None:
    assert floors_from("3, 5-7，B1") == ("3", "5", "6", "7", "B1")
    for bad in ("", "7-3", "1-500", "x" * 17):
        with pytest.raises(ScopeError):
            floors_from(bad)
