"""The per-chat flood limit on its own, with a clock of our own (the end-to-end flood is in
test_e2e_faults.py)."""

from __future__ import annotations

from bot.telegram.flood import FloodGuard, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_past_the_limit_one_warning_then_nothing_until_the_chat_calms_down() -> None:
    clock = Clock()
    guard = FloodGuard(20, clock=clock)
    assert [guard.check(1) for _ in range(20)] == [Verdict.READ] * 20
    assert guard.check(1) == Verdict.WARN
    assert {guard.check(1) for _ in range(279)} == {Verdict.DROP}
    assert guard.check(2) == Verdict.READ  # another chat is not touched
    clock.now += 20  # still flooding now and then: the bucket never fills up
    assert guard.check(1) == Verdict.DROP
    clock.now += 10  # not yet half a minute's worth of quiet
    assert guard.check(1) == Verdict.DROP
    clock.now += 31
    assert guard.check(1) == Verdict.READ  # calm again; and a new flood is told again
    again = [guard.check(1) for _ in range(30)]
    assert again.count(Verdict.WARN) == 1 and again[0] == Verdict.READ
    assert again[again.index(Verdict.WARN) + 1:] == [Verdict.DROP] * (29 - again.index(
        Verdict.WARN))


def test_a_steady_resident_is_never_limited() -> None:
    clock = Clock()
    guard = FloodGuard(20, clock=clock)
    for _ in range(500):  # one message every 3 s is exactly the limit
        assert guard.check(1) == Verdict.READ
        clock.now += 3
    assert {FloodGuard(0).check(1) for _ in range(1000)} == {Verdict.READ}  # switched off


def test_an_album_counts_once() -> None:
    guard = FloodGuard(5, clock=Clock())
    for album in ("a", "b", "c"):
        assert {guard.check(1, album) for _ in range(10)} == {Verdict.READ}
    assert [guard.check(1) for _ in range(3)] == [Verdict.READ, Verdict.READ, Verdict.WARN]
    assert guard.check(1, "d") == Verdict.DROP and guard.check(1, "d") == Verdict.DROP


def test_memory_stays_bounded() -> None:
    clock = Clock()
    guard = FloodGuard(20, clock=clock, max_chats=100)
    for chat in range(10_000):
        guard.check(chat)
    assert len(guard) == 100
    clock.now += 3600  # an hour later every bucket would be full: they are forgotten
    for chat in range(10_000, 10_200):
        guard.check(chat)
        clock.now += 0.001
    assert len(guard) <= 100
