"""Talking to Telegram: what both frameworks share (`transport`), the two adapters (the only
modules that import aiogram or python-telegram-bot), fetching evidence, and the per-chat flood
limit."""
