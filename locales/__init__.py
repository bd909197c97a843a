"""gettext catalogs (en, zh_Hans, ru), built with Babel; see README "Translations"."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).parent
DOMAIN = "messages"
SUPPORTED = ("en", "zh_Hans", "ru")
LANGUAGE_NAMES = {"en": "English", "zh_Hans": "简体中文", "ru": "Русский"}
# Telegram's language_code for each supported language (what setMyCommands is keyed by).
TELEGRAM_CODES = {"en": "en", "zh_Hans": "zh", "ru": "ru"}

Gettext = Callable[[str], str]


def negotiate(language_code: str | None, default: str) -> str:
    """Map Telegram's IETF tag ("zh-hans", "zh-CN", "ru-RU", "en") to a supported language."""
    code = (language_code or "").replace("_", "-").lower()
    if code.startswith("zh"):
        return "zh_Hans"
    primary = code.split("-", 1)[0]
    for lang in SUPPORTED:
        if lang.lower() == primary:
            return lang
    return default if default in SUPPORTED else "en"


@cache
def translations(lang: str) -> NullTranslations:
    return Translations.load(str(LOCALES_DIR), [lang], DOMAIN)


def gettext_for(lang: str) -> Gettext:
    return translations(lang).gettext


def ngettext_for(lang: str) -> Callable[[str, str, int], str]:
    return translations(lang).ngettext


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the language is known."""
    return message
