"""A whole replica — the bot, its notifier and timers when it leads, and the HTTP face — as
`residesk serve` runs it: in this process (one worker), or as N worker processes under
gunicorn with aiohttp's worker, each one such replica (PostgreSQL only)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator

from aiohttp import web

from bot import logs
from bot.app import ResidentDesk, Settings, Webhook
from bot.settings import (
    ConfigError,
    ConsoleSettings,
    DatabaseSettings,
    HttpSettings,
    OfficeSettings,
    TelegramSettings,
    load,
)
from web.app import listening, make_app

log = logging.getLogger("residesk.web")


def settings_from_environment(transport: str | None = None) -> tuple[Settings, HttpSettings]:
    telegram = load(TelegramSettings, **({"transport": transport} if transport else {}))
    return (Settings(telegram, load(DatabaseSettings), load(OfficeSettings),
                     load(ConsoleSettings)),
            load(HttpSettings))


def webhook_of(http: HttpSettings) -> Webhook | None:
    return Webhook(http.webhook_url, http.webhook_secret) if http.webhook_url else None


def replica(settings: Settings, http: HttpSettings) -> tuple[ResidentDesk, web.Application]:
    desk = ResidentDesk(settings)
    app = make_app(desk, webhook_path=http.webhook_path if http.webhook_url else None,
                   webhook_secret=http.webhook_secret)
    return desk, app


async def serve(settings: Settings, http: HttpSettings) -> None:
    """One replica in this process, until SIGTERM / SIGINT."""
    desk, app = replica(settings, http)
    await desk.run(webhook=webhook_of(http),
                   alongside=listening(app, http.http_host, http.http_port))


def serve_workers(settings: Settings, http: HttpSettings, workers: int) -> None:
    """N replicas as gunicorn workers (this process becomes gunicorn's arbiter)."""
    if settings.database.database_url.startswith("sqlite"):
        raise ConfigError(f"--workers {workers} needs PostgreSQL: SQLite serves one process "
                          "(DATABASE_URL=postgresql://…)")
    os.environ["TRANSPORT"] = settings.telegram.transport  # the workers read the environment
    os.execv(sys.executable, [
        sys.executable, "-m", "gunicorn", "web.service:worker_app",
        "--worker-class", "aiohttp.GunicornWebWorker", "--workers", str(workers),
        "--bind", f"{http.http_host}:{http.http_port}", "--graceful-timeout", "15",
        # a socket per worker, balanced by the kernel: on one shared socket the first worker
        # to wake accepts a whole burst of connections, and keep-alive keeps them there
        "--reuse-port",
        "--access-logfile", "-" if os.environ.get("ACCESS_LOG") else "/dev/null",
        # no Referer or User-Agent, and queries cut (worker_app): no search terms in the log
        "--access-logformat", '%a %t "%r" %s %b %Tf'])


async def worker_app() -> web.Application:
    """gunicorn's aiohttp worker calls this in each worker: a replica whose bot lives as long
    as the application (gunicorn's signals stop both)."""
    logs.from_environment()
    logging.getLogger("gunicorn.access").addFilter(logs.DropQueries())  # with ACCESS_LOG
    settings, http = settings_from_environment()
    desk, app = replica(settings, http)

    async def lifetime(_app: web.Application) -> AsyncIterator[None]:
        running = asyncio.create_task(desk.run(handle_signals=False, webhook=webhook_of(http)))
        running.add_done_callback(_report_end)
        yield
        await desk.stop()
        await running

    app.cleanup_ctx.append(lifetime)
    return app


def _report_end(task: asyncio.Task[None]) -> None:
    error = None if task.cancelled() else task.exception()
    if error is not None:
        log.error("the bot of this worker stopped: %s", logs.reason(error))
