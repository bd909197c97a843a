"""`residesk serve`'s HTTP face: Telegram's webhook (with the emulator posting updates as
Telegram does), health checks and metrics — on both frameworks and both databases."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import ResidentDesk, Webhook
from bot.emulator import BotAPIEmulator
from bot.emulator.chat import ChatClient
from bot.handled import HandledUpdates
from storage.db import Database
from tests.chats import register
from tests.conftest import Harness
from tests.processes import free_port, residesk
from web.app import SECRET_HEADER, listening, make_app

SECRET = "s3cret_Token-42"


class Served:
    """The real bot behind its HTTP application, taking updates from the emulator's webhook."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.handled = HandledUpdates()
        self.desk = ResidentDesk(harness.settings, on_handled=self.handled)
        self.app = make_app(self.desk, webhook_path="/telegram/hook", webhook_secret=SECRET)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        webhook = Webhook(f"{self.base}/telegram/hook", SECRET)
        self.task = asyncio.create_task(self.desk.run(
            handle_signals=False, webhook=webhook,
            alongside=listening(self.app, "127.0.0.1", self.port)))
        emulator = self.harness.emulator
        await emulator.wait_for(lambda: bool(emulator.webhook_url), timeout=20)

    async def stop(self) -> None:
        await self.desk.stop()
        assert self.task is not None
        await self.task

    def chat(self, user_id: int, name: str) -> ChatClient:
        emulator = self.harness.emulator
        return ChatClient(emulator, emulator.user(user_id, name, language_code="en"),
                          self.handled.wait)

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.post(
                f"{self.base}/telegram/hook", data=body, headers=headers) as answer:
            return answer.status, await answer.text()

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(f"{self.base}{path}") as answer:
            return answer.status, await answer.text()


@pytest.fixture
async def served(emulator: BotAPIEmulator, database_url: str, tmp_path: Path,
                 transport: str) -> AsyncIterator[Served]:
    server = Served(Harness(emulator, database_url, tmp_path / "media", transport=transport))
    await server.start()
    yield server
    await server.stop()


async def test_a_resident_registers_through_the_webhook(served: Served,
                                                        emulator: BotAPIEmulator) -> None:
    resident = served.chat(1001, "Li Wei")
    await register(resident)
    await resident.send("/report")
    assert "Choose a category" in resident.last_text
    [(_, hook)] = [(m, p) for m, p in emulator.requests if m == "setWebhook"]
    assert hook["url"] == f"{served.base}/telegram/hook" and hook["secret_token"] == SECRET
    assert set(hook["allowed_updates"]) == {"message", "callback_query"}
    assert not any(m == "getUpdates" for m, _ in emulator.requests)  # no polling at all
    assert emulator.webhook_posts and {s for _, s in emulator.webhook_posts} == {200}


async def test_a_request_without_the_secret_or_with_a_bad_body_has_no_effect(
    served: Served, emulator: BotAPIEmulator
) -> None:
    user = emulator.user(1002, "Wang Fang")
    update = {"update_id": 900001, "message": {
        "message_id": 1, "date": 1, "chat": {"id": user.id, "type": "private",
                                             "first_name": "Wang"},
        "from": user.to_api(), "text": "/start"}}
    body = json.dumps(update).encode()
    right = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    assert (await served.post(body, {}))[0] == 401
    assert (await served.post(body, {SECRET_HEADER: "wrong"}))[0] == 401
    assert (await served.post(b"<html>not json</html>", right))[0] == 400
    assert (await served.post(b'{"hello": "world"}', right))[0] == 400
    assert (await served.post(b"{" + b" " * (1024 * 1024 + 10) + b"}", right))[0] == 400
    assert emulator.messages(user.id) == [] and 900001 not in served.handled
    # the right secret: handled, and answered before the 200; the same update again: once
    assert (await served.post(body, right))[0] == 200
    assert "your personal data" in (emulator.last_message(user.id).text or "")
    assert (await served.post(body, right))[0] == 200
    assert len(emulator.messages(user.id)) == 1, "a redelivered update has one effect"


async def test_health_readiness_and_metrics(served: Served) -> None:
    resident = served.chat(1003, "Chen Jing")
    await register(resident, name="Chen Jing")
    assert await served.get("/healthz") == (200, '{"status": "ok"}')
    assert await served.get("/readyz") == (200, '{"status": "ready"}')
    status, text = await served.get("/metrics")
    assert status == 200
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines()
                 if line and not line.startswith("#"))
    assert float(lines['residesk_updates_total{outcome="ok"}']) >= 4
    assert float(lines['residesk_sends_total{kind="reply"}']) >= 4
    assert float(lines["residesk_update_seconds_count"]) >= 4
    assert 'residesk_outbox_rows{state="pending"}' in lines
    assert 'residesk_outbox_rows{state="failed"}' in lines and "residesk_timers_due" in lines
    assert "Chen" not in text and "8613800138000" not in text  # nothing personal anywhere


async def test_readiness_says_why_the_database_cannot_serve(
    emulator: BotAPIEmulator, tmp_path: Path, transport: str
) -> None:
    empty = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"  # never migrated
    desk = ResidentDesk(Harness(emulator, empty, tmp_path / "media",
                                transport=transport).settings)
    port = free_port()
    try:
        async with listening(make_app(desk), "127.0.0.1", port), aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
                assert answer.status == 503
                assert "not migrated" in (await answer.json())["reason"]
            await desk.db.upgrade()
            async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
                assert answer.status == 200
            async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                assert answer.status == 200
    finally:
        await desk.transport.close()
        await desk.db.dispose()


async def test_residesk_serve_polls_without_a_webhook_and_stops_on_sigterm(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, transport: str
) -> None:
    port = free_port()
    environment = {**os.environ, "BOT_TOKEN": emulator.token,
                   "TELEGRAM_API_URL": emulator.base_url, "DATABASE_URL": database_url,
                   "HTTP_PORT": str(port), "PYTHONPATH": str(Path(__file__).parent.parent)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--transport", transport, cwd=tmp_path,
        env=environment, stderr=asyncio.subprocess.PIPE)
    try:
        user = emulator.user(1, "Ann")
        emulator.send_text(user, "/start")
        await emulator.wait_for(lambda: bool(emulator.messages(1)), timeout=60)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                assert answer.status == 200
            async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
                assert answer.status == 200
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
    assert process.stderr is not None
    log = (await process.stderr.read()).decode()
    assert "your personal data" in (emulator.last_message(1).text or "")
    assert f"HTTP on 127.0.0.1:{port}" in log and log.rstrip().endswith("stopped")


def test_a_webhook_without_its_secret_stops_start_up_with_one_line(tmp_path: Path) -> None:
    result = residesk("serve", cwd=tmp_path, env={
        "BOT_TOKEN": "123456:ABCDEFGHIJKLMNOP", "WEBHOOK_URL": "https://desk.example/hook",
        "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "residesk: configuration error: WEBHOOK_SECRET is required with WEBHOOK_URL: 1 to 256 "
        "of A-Z a-z 0-9 _ -"]


async def test_the_emulator_posts_again_what_was_not_answered_200(
    emulator: BotAPIEmulator
) -> None:
    answers = [500, 200]
    seen: list[int] = []

    async def hook(request: aiohttp.web.Request) -> aiohttp.web.Response:
        assert request.headers[SECRET_HEADER] == "t0ken"
        seen.append((await request.json())["update_id"])
        return aiohttp.web.Response(status=answers.pop(0) if answers else 200)

    app = aiohttp.web.Application()
    app.router.add_post("/hook", hook)
    port = free_port()
    emulator.webhook_retry_delay = 0.1
    async with listening(app, "127.0.0.1", port):
        async with aiohttp.ClientSession() as http, http.post(
                f"{emulator.base_url}/bot{emulator.token}/setWebhook",
                json={"url": f"http://127.0.0.1:{port}/hook", "secret_token": "t0ken"}):
            pass
        update_id = emulator.send_text(emulator.user(5, "Ann"), "hello")
        await emulator.wait_until_consumed(update_id, timeout=10)
    assert seen == [update_id, update_id]
    assert [s for _, s in emulator.webhook_posts] == [500, 200]


def test_database_readiness_names_the_revision(tmp_path: Path) -> None:
    async def check() -> str | None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
        try:
            await db.upgrade()
            return await db.not_ready()
        finally:
            await db.dispose()

    assert asyncio.run(check()) is None
