"""Logging set-up: one line per update, and secrets never reach the log."""

from __future__ import annotations

import logging

_secrets: set[str] = set()


def redact(secret: str) -> None:
    """Register a secret (the bot token) that must never appear in a log line."""
    if len(secret) > 8:
        _secrets.add(secret)


class RedactSecrets(logging.Filter):
    """Defence in depth: whatever a library logs, registered secrets are masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        for secret in _secrets:
            message = message.replace(secret, "<secret>")
        record.msg, record.args = message, None
        return True


def setup(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # we log one line per update
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets())
