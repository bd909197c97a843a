"""The HTTP side: the aiohttp app, its lifecycle, and how one method call is answered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from bot.emulator.errors import APIError, bad_request
from bot.emulator.faults import FaultInjection, LongPollCut
from bot.emulator.limits import FloodLimits
from bot.emulator.params import Params, Upload

logger = logging.getLogger(__name__)

# Methods that change nothing visible: they do not bump ``activity``.
_READ_ONLY = frozenset(
    {"getMe", "getUpdates", "getWebhookInfo", "getFile", "getMyCommands", "getChat",
     "sendChatAction"}
)


class HttpServer(FaultInjection, FloodLimits):
    """Serve the Bot API (``/bot<token>/<method>``) and file downloads on loopback."""

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the emulator is not started")
        return self._base_url

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._stopping = False
        self._runner = runner
        self.port = runner.addresses[0][1]
        self._base_url = f"http://{self.host}:{self.port}"
        logger.debug("Bot API emulator listening on %s", self._base_url)

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._stopping = True
        self._wake_pollers()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        runner, self._runner = self._runner, None
        await runner.cleanup()
        self._base_url = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return APIError(404, "Not Found").response()

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return APIError(401, "Unauthorized").response()
        if (down := self._outage_answer(request)) is not None:
            return down
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return APIError(404, "Not Found").response()
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return APIError(401, "Unauthorized").response()
        if (down := self._outage_answer(request)) is not None:
            return down
        requested = request.match_info["method"]
        name, handler = self._methods.get(requested.lower(), (requested, None))
        try:
            params = await self._read_params(request)
        except APIError as error:
            return error.response()
        except Exception as exc:  # a body aiohttp cannot parse
            return bad_request(f"can't parse request body: {exc}").response()
        self.requests.append((name, params.record()))
        try:
            if handler is None:
                raise APIError(404, "Not Found")
            injection = self._take_injection(name)
            if injection is not None:
                if injection.drop_connection:
                    self._drop_connection(request)
                return APIError(injection.status, injection.description,
                                retry_after=injection.retry_after).response(injection.body)
            # Sending handlers never await: checking, sending and counting are one step even
            # for concurrent calls.  Refused or failed sends are not counted.
            counted = self._check_limits(name, params)
            result = await handler(params)
            if counted is not None:
                self._count_sends(*counted)
        except LongPollCut:
            if (down := self._outage_answer(request)) is not None:
                return down
            return web.json_response({"ok": True, "result": []})
        except APIError as error:
            return error.response()
        except Exception as exc:
            logger.exception("Bot API emulator failed on %s", name)
            self.internal_errors.append(f"{name}: {exc!r}")
            return bad_request(f"emulator could not handle {name}: {exc!r}").response()
        finally:
            self._notify()
        if name not in _READ_ONLY:
            self.activity += 1
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> Params:
        values: dict[str, Any] = dict(request.query)
        uploads: dict[str, Upload] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise bad_request(f"can't parse JSON body: {exc}") from exc
                if not isinstance(body, dict):
                    raise bad_request("the JSON body must be an object")
                values.update(body)
            else:
                for key, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        uploads[key] = Upload(value.file.read(), value.filename,
                                              value.content_type)
                    else:
                        values[key] = value
        return Params(values, uploads)
