"""Bot API methods for updates: getUpdates (long polling) and webhook mode."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import time
from typing import Any

import aiohttp

from bot.emulator.errors import APIError
from bot.emulator.faults import LongPollCut
from bot.emulator.params import Params
from bot.emulator.records import JSON
from bot.emulator.state import EmulatorState


def _forget(in_flight: dict[int, asyncio.Task[None]], chat: int, _task: object) -> None:
    in_flight.pop(chat, None)


def _chat_of_update(update: JSON) -> int:
    """The chat an update belongs to (a button's chat, else who pressed it)."""
    message = update.get("message") or (update.get("callback_query") or {}).get("message")
    if message:
        return int(message["chat"]["id"])
    return int((update.get("callback_query") or {}).get("from", {}).get("id", 0))


class UpdateMethods(EmulatorState):
    """getUpdates, set/deleteWebhook, getWebhookInfo, and posting updates to the webhook."""

    async def _get_updates(self, params: Params) -> list[JSON]:
        if self.webhook_url:
            raise APIError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = params.get_int("offset")
        limit = params.get_int("limit") or 100
        if not 1 <= limit <= 100:
            limit = 100
        timeout = max(0, params.get_int("timeout") or 0)
        allowed = params.get_json("allowed_updates", list) or None
        deadline = time.monotonic() + timeout
        while True:
            if self._outage is not None:
                raise LongPollCut
            result = self._collect_updates(offset, limit, allowed)
            if result or self._stopping:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            event = self._updates_changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()

    def _collect_updates(self, offset: int | None, limit: int,
                         allowed: list[Any] | None) -> list[JSON]:
        if offset is not None:
            if offset < 0:
                self._pending = self._pending[offset:]
            else:
                self._max_offset = max(self._max_offset, offset)
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
                self._redelivered = [r for r in self._redelivered
                                     if not (r.delivered and r.update["update_id"] < offset)]
        if allowed:  # Telegram drops the updates of other types
            self._pending = [u for u in self._pending if any(k in u for k in allowed)]
        batch = [r.update for r in self._redelivered][:limit]
        for redelivery in self._redelivered[:limit]:
            redelivery.delivered = True
        batch += self._pending[: limit - len(batch)]
        self._notify()
        return copy.deepcopy(batch)

    async def _delete_webhook(self, params: Params) -> bool:
        self.webhook_url = ""
        self._wake_pollers()  # the webhook's pusher stops
        if params.get_bool("drop_pending_updates"):
            self._pending.clear()
            self._redelivered.clear()
        return True

    async def _set_webhook(self, params: Params) -> bool:
        self.webhook_url = params.get_str("url", required=True) or ""
        self.webhook_secret = params.get_str("secret_token")
        self.webhook_max_connections = params.get_int("max_connections") or 40
        if self.webhook_url and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.create_task(self._push_updates())
        return True

    # ------------------------------------------------------------------ webhook mode

    async def _push_updates(self) -> None:
        """Webhook mode, as Telegram does it: each update is POSTed to the webhook URL with
        the secret header; one that is not answered 200 (or whose connection drops) comes
        again after `webhook_retry_delay`; one chat's updates one at a time, in order; up to
        `max_connections` requests at once."""
        in_flight: dict[int, asyncio.Task[None]] = {}  # chat -> its update being posted
        async with aiohttp.ClientSession() as http:
            while self.webhook_url and not self._stopping:
                for update in self._webhook_batch(set(in_flight)):
                    chat = _chat_of_update(update)
                    task = asyncio.create_task(self._post_update(http, update))
                    in_flight[chat] = task
                    task.add_done_callback(functools.partial(_forget, in_flight, chat))
                changed = asyncio.ensure_future(self._updates_changed.wait())
                await asyncio.wait({changed, *in_flight.values()}, timeout=0.05,
                                   return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
            for task in list(in_flight.values()):
                task.cancel()

    def _webhook_batch(self, busy: set[int]) -> list[JSON]:
        now, chosen, chats = time.monotonic(), [], set(busy)
        waiting = [r.update for r in self._redelivered] + self._pending
        for update in waiting:
            if len(chats) >= self.webhook_max_connections:
                break
            chat = _chat_of_update(update)
            if chat in chats:
                continue  # the chat's earlier update goes first
            chats.add(chat)
            if self._webhook_not_before.get(update["update_id"], 0) <= now:
                chosen.append(update)
        return chosen

    async def _post_update(self, http: aiohttp.ClientSession, update: JSON) -> None:
        headers = ({"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret}
                   if self.webhook_secret else {})
        update_id = update["update_id"]
        try:
            async with http.post(self.webhook_url, json=update, headers=headers,
                                 timeout=aiohttp.ClientTimeout(total=60)) as answer:
                status = answer.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.webhook_posts.append((update_id, status))
        if status == 200:
            self._pending = [u for u in self._pending if u["update_id"] != update_id]
            self._redelivered = [r for r in self._redelivered
                                 if r.update["update_id"] != update_id]
            self._webhook_not_before.pop(update_id, None)
        else:
            self._webhook_not_before[update_id] = time.monotonic() + self.webhook_retry_delay
        self._notify()

    async def _get_webhook_info(self, params: Params) -> JSON:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": self.pending_updates()}
