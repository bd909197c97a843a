"""The staff member's guided action as stored on their row, and the short forms that travel."""

from __future__ import annotations

import pytest

from conversations.keyboards import CardAction
from conversations.staffdesk import Guided, GuidedAction
from conversations.staffdesk.questions import DIALOG_ACTIONS, DIALOGS


def test_a_dialog_stored_before_it_had_a_version_reads_the_same() -> None:
    old = {"kind": "fnd", "ticket": 12, "step": 2,
           "answers": {"visit_at": None, "findings": "a leak"},
           "anchor": 345, "key": "0123456789abcdef0123456789abcdef"}
    action = GuidedAction.from_json(old)
    assert action == GuidedAction(kind=Guided.FINDINGS, ticket=12, anchor=345,
                                  key="0123456789abcdef0123456789abcdef", step=2,
                                  answers={"visit_at": None, "findings": "a leak"})
    assert action.tag == "01234567.2"  # the buttons sent before the upgrade still match
    assert action.to_json() == {**old, "v": 1}


def test_a_dialog_round_trips() -> None:
    action = GuidedAction(kind=Guided.INTAKE, ticket=None, anchor=9, key="k" * 32)
    action = action.at(1).answered("name", "Wang Fang")
    stored = action.to_json()
    assert stored["v"] == 1 and stored["kind"] == "intake"
    assert GuidedAction.from_json(stored) == action
    assert GuidedAction.from_json(None) is None and GuidedAction.from_json({}) is None
    with pytest.raises(ValueError):
        GuidedAction.from_json({**stored, "v": 2})


def test_the_stored_and_sent_short_forms_do_not_change() -> None:
    # rows and cards already out there carry these: renaming one breaks them
    assert {g.value for g in Guided} == {"msg", "req", "rej", "note", "fnd", "res", "intake",
                                         "pty", "agr", "inc"}
    assert {b.value for b in CardAction} == {
        "ack", "take", "asg", "to", "inv", "fnd", "res", "msg", "req", "esc", "rej", "note",
        "pty", "agr", "inc", "unl", "lnk", "lto"}
    assert set(DIALOGS) == set(Guided) and set(DIALOG_ACTIONS) == set(Guided) - {Guided.INTAKE}
