"""The HTTP application, on aiohttp.

Why aiohttp: it is already here (aiogram's HTTP client, the emulator), it serves asyncio code
directly, so the desk's event loop, database pool and transport are shared with the routes
without an ASGI bridge, and it runs under gunicorn (`aiohttp.GunicornWebWorker`) for several
worker processes. aiohttp-jinja2 and its sessions carry a server-rendered console later.

Routes:
- `POST <path of WEBHOOK_URL>` — Telegram's updates (only with WEBHOOK_URL): 401 without the
  right `X-Telegram-Bot-Api-Secret-Token`, 400 for a body that is not a JSON update or is over
  1 MB, 200 once the update's transaction has committed and its answer was delivered.
- `GET /healthz` — the process is up.
- `GET /readyz` — the database answers and its schema is the code's; else 503 and why.
- `GET /metrics` — Prometheus text format.
- `/console/` — the office console (`web/console/`).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.app import ResidentDesk
from bot.metrics import CONTENT_TYPE
from tickets.policy import MAX_EVIDENCE, MAX_FILE_BYTES
from web.console import console_app

log = logging.getLogger("residesk.web")
MAX_BODY = 1024 * 1024  # an update is a few kB; Telegram's largest are far below this
MAX_UPLOAD = MAX_EVIDENCE * MAX_FILE_BYTES + MAX_BODY
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DESK: web.AppKey[ResidentDesk] = web.AppKey("desk", ResidentDesk)
SECRET: web.AppKey[str] = web.AppKey("secret", str)


def make_app(desk: ResidentDesk, *, webhook_path: str | None = None,
             webhook_secret: str = "", console: bool = True) -> web.Application:
    # the console's New complaint form uploads evidence (up to MAX_EVIDENCE files of
    # MAX_FILE_BYTES; aiohttp spools file fields to disk); the webhook reads at most MAX_BODY
    app = web.Application(client_max_size=MAX_UPLOAD)
    app[DESK] = desk
    app[SECRET] = webhook_secret
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    if webhook_path is not None:
        app.router.add_post(webhook_path, webhook)
    if console:
        app.add_subapp("/console/", console_app(desk, desk.settings.console))
    return app


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    problem = await request.app[DESK].db.not_ready()
    if problem is not None:
        return web.json_response({"status": "not ready", "reason": problem}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    return web.Response(body=await desk.metrics.render(desk.db),
                        headers={"Content-Type": CONTENT_TYPE})


async def webhook(request: web.Request) -> web.Response:
    secret = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(secret.encode(), request.app[SECRET].encode()):
        log.warning("webhook: a request without the right secret token was refused")
        return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
    if (request.content_length or 0) > MAX_BODY:
        return _bad("body over 1 MB")
    body = await _read_at_most(request, MAX_BODY)
    if body is None:
        return _bad("body over 1 MB")
    try:
        data = json.loads(body)
    except ValueError:
        return _bad("not JSON")
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return _bad("not a Telegram update")
    try:
        await request.app[DESK].handle_posted(data)
    except ValueError:
        return _bad("not a Telegram update")
    return web.json_response({"ok": True})


async def _read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The body, or None once it is over `limit` (read no further: a sender without a
    Content-Length cannot make us hold more)."""
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _bad(reason: str) -> web.Response:
    log.warning("webhook: a request was refused: %s", reason)
    return web.json_response({"ok": False, "error": reason}, status=400)


@contextlib.asynccontextmanager
async def listening(app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    """Serve `app` on host:port while the block runs; yields the port (0 picks a free one).
    At the end, requests in hand are finished first (their updates are answered)."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=10.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    log.info("HTTP on %s:%s", host, bound)
    try:
        yield bound
    finally:
        await runner.cleanup()
