"""Telegram Bot API emulator for tests and the offline demo (see :mod:`bot.emulator.server`)."""

from bot.emulator.server import (
    MAX_DOWNLOAD_SIZE,
    APIError,
    Body,
    BotAPIEmulator,
    Button,
    EmulatedUser,
    SentMessage,
    StoredFile,
)

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
