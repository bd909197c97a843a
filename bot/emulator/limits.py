"""Telegram's limits: message lengths, file sizes and the flood limits on sending."""

from __future__ import annotations

import collections
import math
import time

from bot.emulator.errors import APIError
from bot.emulator.params import Params
from bot.emulator.records import JSON
from bot.emulator.state import EmulatorState

MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile refuses larger files, like Telegram
MAX_TEXT_LENGTH = 4096  # characters of a message's text
MAX_CAPTION_LENGTH = 1024  # characters of a media message's caption
MAX_CALLBACK_DATA = 64  # bytes of an inline button's callback_data

# Methods Telegram's flood limits count (a media group counts once per item).
_SENDING = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendVoice",
                      "sendAudio", "sendMediaGroup"})


class FloodLimits(EmulatorState):
    """Telegram's flood limits on sending methods, enforced while ``enforce_limits``."""

    # Telegram's flood limits for bots (enforced with enforce_limits=True)
    GLOBAL_PER_SECOND = 30
    PRIVATE_INTERVAL = 1.0  # seconds between two messages to one private chat
    GROUP_PER_MINUTE = 20

    def set_limits(self, enabled: bool) -> None:
        """Enforce Telegram's flood limits on sending methods, or stop enforcing them.

        Sends are limited to ``GLOBAL_PER_SECOND`` per second overall, one per
        ``PRIVATE_INTERVAL`` seconds to a private chat and ``GROUP_PER_MINUTE`` per minute to a
        group (sliding windows; a media group counts once per item).  A call over a limit is
        answered 429 with ``retry_after`` and counted in ``rate_limited``.  Only sends made
        while enforcing count; switching resets the windows.
        """
        if enabled != self.enforce_limits:
            self._sends.clear()
            self._chat_sends.clear()
        self.enforce_limits = enabled

    def _check_limits(self, name: str, params: Params) -> tuple[JSON | None, int] | None:
        """Refuse a sending call over Telegram's limits (429); else what to count once it
        succeeds: (its chat, if known; how many sends it makes)."""
        if not self.enforce_limits or name not in _SENDING:
            return None
        media = params.values.get("media")
        weight = len(media) if name == "sendMediaGroup" and isinstance(media, list) else 1
        chat = self._lookup_chat(params.values.get("chat_id"))
        now = time.monotonic()
        waits = [self._window_wait(self._sends, weight, self.GLOBAL_PER_SECOND, 1.0, now)]
        sent = self._chat_sends.get(chat["id"]) if chat is not None else None
        if chat is not None and sent:
            if chat["type"] == "private":
                waits.append(sent[-1] + self.PRIVATE_INTERVAL - now)
            else:
                waits.append(self._window_wait(sent, weight, self.GROUP_PER_MINUTE, 60.0, now))
        wait = max(waits)
        if wait > 0:
            self.rate_limited += 1
            retry_after = max(1, math.ceil(wait))
            raise APIError(429, f"Too Many Requests: retry after {retry_after}",
                           retry_after=retry_after)
        return chat, weight

    @staticmethod
    def _window_wait(times: collections.deque[float], weight: int, limit: int, span: float,
                     now: float) -> float:
        """Seconds until ``weight`` more sends fit in a sliding window of ``span`` seconds
        holding at most ``limit`` (``times``: the accepted sends, oldest first; pruned)."""
        while times and times[0] <= now - span:
            times.popleft()
        over = len(times) + weight - limit
        if over <= 0:
            return 0.0
        return times[over - 1] + span - now if over <= len(times) else span

    def _count_sends(self, chat: JSON | None, weight: int) -> None:
        now = time.monotonic()
        self._sends.extend([now] * weight)
        if chat is not None:
            sent = self._chat_sends.setdefault(chat["id"], collections.deque())
            sent.extend([now] * weight)
            while sent[0] <= now - 60.0:  # nothing older matters (and keep memory bounded)
                sent.popleft()
