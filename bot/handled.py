"""Watching a desk handle updates, for the demo, the tests and the benchmarks: they wait for an
update to be handled (and see how) without reaching into the desk. Pass one as
`ResidentDesk(settings, on_handled=HandledUpdates())`; production passes nothing."""

from __future__ import annotations

import asyncio

KEPT = 10_000  # a window for waiters, not a history


class HandledUpdates:
    def __init__(self) -> None:
        self.results: dict[int, list[str]] = {}  # update_id -> how it was handled, each time
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}

    def __call__(self, update_id: int, result: str) -> None:
        self.results.setdefault(update_id, []).append(result)
        while len(self.results) > KEPT:
            del self.results[next(iter(self.results))]
        for waiter in self._waiters.pop(update_id, []):  # wake only who waits for this one
            if not waiter.done():
                waiter.set_result(None)

    def __contains__(self, update_id: int) -> bool:
        return update_id in self.results

    async def wait(self, update_id: int, times: int = 1, within: float = 10.0) -> str:
        """Wait until the update was handled `times` times (a redelivery counts again)."""
        async with asyncio.timeout(within):
            while len(self.results.get(update_id, ())) < times:
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.setdefault(update_id, []).append(waiter)
                try:
                    await waiter
                finally:  # timed out or cancelled: nothing kept for an update never handled
                    self._forget(update_id, waiter)
            return self.results[update_id][-1]

    def _forget(self, update_id: int, waiter: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(update_id)
        if waiters is not None and waiter in waiters:
            waiters.remove(waiter)
            if not waiters:
                del self._waiters[update_id]

    @property
    def waiting(self) -> int:
        """Updates someone waits for now."""
        return len(self._waiters)
