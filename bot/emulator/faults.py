"""Fault injection: errors on chosen methods, outages, dropped connections."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import NoReturn

from aiohttp import web

from bot.emulator.errors import BLOCKED, APIError, Body
from bot.emulator.state import EmulatorState

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected error",
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
         "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class Injection:
    """Errors ``inject_error`` queued: the next ``remaining`` calls of ``method`` fail."""

    method: str
    status: int
    description: str
    retry_after: int | None
    remaining: int
    drop_connection: bool
    body: Body = Body.ERROR


@dataclass(frozen=True)
class Outage:
    """Every method answers this until the outage ends; long polls in progress are cut."""

    status: int
    body: Body
    drop_connection: bool

    def error(self) -> APIError:
        return APIError(self.status, _DEFAULT_DESCRIPTIONS.get(self.status,
                                                               f"Error {self.status}"))


class LongPollCut(Exception):
    """An outage began while a long poll was waiting."""


class FaultInjection(EmulatorState):
    """Make calls fail as Telegram, or a proxy in front of it, can."""

    def inject_error(
        self,
        method: str,
        status: int,
        *,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        drop_connection: bool = False,
        body: Body = Body.ERROR,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*": any but getUpdates) fail: with
        the Bot API's error object, or (``body``) an HTML page, plain text, ``{"ok": true}``
        without a result or JSON that is no object, under any ``status`` (200 too)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        self._injections.append(Injection(
            method.lower(), status, description, retry_after, times, drop_connection, body
        ))

    def start_outage(self, status: int = 502, *, body: Body = Body.HTML,
                     drop_connection: bool = False) -> None:
        """Telegram (or the proxy in front of it) is down: every call, getUpdates and file
        downloads included, is answered with ``status`` and ``body`` (or its connection
        dropped) until ``end_outage``. Long polls waiting now are cut the same way."""
        self._outage = Outage(status, body, drop_connection)
        self._wake_pollers()

    def end_outage(self) -> None:
        self._outage = None

    def clear_injections(self) -> None:
        """Forget the errors injected and not yet used."""
        self._injections.clear()

    def _outage_answer(self, request: web.Request) -> web.Response | None:
        outage = self._outage
        if outage is None:
            return None
        self.outage_answers += 1
        self._notify()
        if outage.drop_connection:
            self._drop_connection(request)
        return outage.error().response(outage.body)

    def _take_injection(self, method: str) -> Injection | None:
        lowered = method.lower()
        for exact in (True, False):
            for injection in self._injections:
                matches = (injection.method == lowered if exact
                           else injection.method == "*" and lowered != "getupdates")
                if matches:
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._injections.remove(injection)
                    return injection
        return None

    @staticmethod
    def _drop_connection(request: web.Request) -> NoReturn:
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # abandon the request: nothing is written back
