"""Telegram Bot API emulator for tests, the offline demo and the benchmarks.

``BotAPIEmulator`` (in ``emulator``) is composed of one part per concern, each a class
over the shared ``EmulatorState``:

- ``emulator``: ``BotAPIEmulator`` itself and its table of Bot API methods.
- ``records``: the data it keeps and shows: ``EmulatedUser``, ``Button``, ``SentMessage``,
  ``StoredFile``, a re-queued update.
- ``state``: ``EmulatorState``: every attribute (chats, messages, files, the update queue,
  what the bot did) and the helpers several parts share.
- ``errors``: ``APIError``, the bodies an error can be answered with (``Body``), error texts.
- ``params``: ``Params``, one call's parameters decoded and validated as Telegram does.
- ``limits``: Telegram's limits: text, caption and callback data lengths, download size,
  and the flood limits on sending (sliding windows, 429 with retry_after).
- ``faults``: fault injection: ``inject_error``, outages, dropped connections.
- ``server``: the HTTP side: the aiohttp app, start/stop, one method call's dispatch, files.
- ``outgoing``: what sending and editing share: keyboards, reply targets, captions, and
  recording what the bot sent.
- ``messages``: sendMessage, the edits, deleteMessage, sendChatAction.
- ``media``: sendPhoto/Document/Video/Voice, sendMediaGroup, getFile, uploads.
- ``callbacks``: answerCallbackQuery.
- ``commands``: set/get/deleteMyCommands, setChatMenuButton, getChat, getMe.
- ``updates``: getUpdates, set/deleteWebhook, getWebhookInfo, posting updates to a webhook.
- ``harness``: the test-facing API: ``user``, ``add_group``, ``send_text``, ``click``,
  ``messages``, ``wait_for``, ``block``, …
- ``chat``: ``ChatClient`` and ``GroupMember``, a person's side of a chat, for tests and
  the demo.
"""

from bot.emulator.emulator import BotAPIEmulator
from bot.emulator.errors import APIError, Body
from bot.emulator.limits import MAX_DOWNLOAD_SIZE
from bot.emulator.records import Button, EmulatedUser, SentMessage, StoredFile

__all__ = [
    "MAX_DOWNLOAD_SIZE",
    "APIError",
    "Body",
    "BotAPIEmulator",
    "Button",
    "EmulatedUser",
    "SentMessage",
    "StoredFile",
]
