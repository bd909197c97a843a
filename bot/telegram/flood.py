"""A per-chat flood limit: one resident sending hundreds of messages must not make the bot send
hundreds of answers (Telegram would answer most with 429 and slow the bot for everyone).

Each private chat has a token bucket of `per_minute` messages, refilled evenly over a minute;
an album counts once, however many files it has.
Past it, the chat hears one polite "please slow down" and then nothing until it has calmed
down (its bucket half full again); what it sends meanwhile is not read. Checked before a file
is downloaded or the database is touched, so a flood costs next to nothing. The buckets are
kept in memory, bounded: a full bucket is the same as none and is forgotten, and a restart
only forgives a flood.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

MAX_CHATS = 10_000  # buckets kept at most; the least recently seen go first


class Verdict(Enum):
    READ = "read"
    WARN = "warn"  # the first message over the limit: say "please slow down"
    DROP = "drop"  # over the limit and told already: not read, not answered


@dataclass(slots=True)  # up to MAX_CHATS of them: no __dict__ each
class _Bucket:
    tokens: float
    at: float
    warned: bool = False
    album: str | None = None  # the album its last message belonged to


class FloodGuard:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 max_chats: int = MAX_CHATS) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self.max_chats = max_chats
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()

    def check(self, chat_id: int, album: str | None = None) -> Verdict:
        if self.capacity <= 0:
            return Verdict.READ  # switched off
        now = self.clock()
        bucket = self._buckets.pop(chat_id, None) or _Bucket(self.capacity, now)
        if album is not None and album == bucket.album:  # the rest of an album: paid for
            self._buckets[chat_id] = bucket
            return Verdict.DROP if bucket.warned else Verdict.READ
        bucket.album = album
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.warned and bucket.tokens >= self.capacity / 2:
            bucket.warned = False  # calm again
        if bucket.tokens >= 1 and not bucket.warned:
            verdict = Verdict.READ
        else:
            verdict = Verdict.DROP if bucket.warned else Verdict.WARN
            bucket.warned = True
        bucket.tokens = max(0.0, bucket.tokens - 1)  # a flood must stop to be forgiven
        self._buckets[chat_id] = bucket
        self._forget(now)
        return verdict

    def _forget(self, now: float) -> None:
        """Keep memory flat: drop the oldest buckets past the bound (a bucket seen long ago
        would be full by now, the same as none)."""
        while len(self._buckets) > self.max_chats:
            self._buckets.popitem(last=False)
        oldest = next(iter(self._buckets.items()), None)
        if oldest is not None and oldest[1].at + self.capacity / self.rate <= now:
            del self._buckets[oldest[0]]

    def __len__(self) -> int:
        return len(self._buckets)
