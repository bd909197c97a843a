"""Reply templates: texts the office often sends, one per language, with placeholders filled
from the ticket — `{number}`, `{name}`, `{unit}`, `{category}`. Staff pick one when messaging a
resident, resolving or rejecting (in the staff group and in the console) and may change the
text before it goes. The office keeps them in the console's Admin or with `residesk
templates`."""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from locales import SUPPORTED
from storage.models import ReplyTemplate, Ticket

TITLE_MAX = 64
TEXT_MAX = 2000


class Purpose(StrEnum):
    """Where a template is offered."""

    MESSAGE = "message"  # a message to the resident (and a request for information)
    RESOLVE = "resolve"  # the resolution the resident is told
    REJECT = "reject"  # the reason of a rejection


class TemplateError(ValueError):
    """A template that cannot be kept; the message says why."""


@dataclass(frozen=True)
class Fields:
    """What a template's placeholders are filled with."""

    number: str
    name: str
    unit: str
    category: str

    @classmethod
    def of(cls, ticket: Ticket, category: str) -> Fields:
        return cls(ticket.number or "", ticket.complainant, ticket.unit_text or "", category)


PLACEHOLDERS = tuple(Fields.__dataclass_fields__)
# what tells who complained: left out where the complainant of a dispute is hidden
PERSONAL = ("name", "unit")


def check(title: str, texts: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The title and texts as kept (trimmed), or TemplateError saying what is wrong."""
    title = " ".join(title.split())
    if not 0 < len(title) <= TITLE_MAX:
        raise TemplateError(f"the title must be 1 to {TITLE_MAX} characters")
    kept = {lang: text.strip() for lang, text in texts.items() if text.strip()}
    if not kept:
        raise TemplateError("give the text in at least one language")
    for lang, text in kept.items():
        if lang not in SUPPORTED:
            raise TemplateError(f"{lang}: not a language residesk speaks "
                                f"({', '.join(SUPPORTED)})")
        if len(text) > TEXT_MAX:
            raise TemplateError(f"{lang}: longer than {TEXT_MAX} characters")
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError:
            raise TemplateError(f"{lang}: a {{ without its }} (write {{{{ for a brace)") from None
        if unknown := names - set(PLACEHOLDERS):
            raise TemplateError(f"{lang}: unknown placeholder {{{sorted(unknown)[0]}}}; "
                                "known: " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
    return title, kept


def text_for(template: ReplyTemplate, lang: str, default_language: str = "en") -> str:
    """The template's text in `lang` (else the office's language, else any it has)."""
    texts: Mapping[str, str] = template.texts or {}
    for candidate in (lang, default_language, "en"):
        if candidate in texts:
            return texts[candidate]
    return next(iter(texts.values()), "")


def uses(text: str, names: Iterable[str]) -> bool:
    """Whether the text has any of these placeholders."""
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return False
    return bool(used & set(names))


def names_anyone(template: ReplyTemplate) -> bool:
    """Whether, filled, the template in any of its languages would name the complainant."""
    return any(uses(text, PERSONAL) for text in (template.texts or {}).values())


def fill(text: str, fields: Fields) -> str:
    """The text with its placeholders filled (a text checked by `check` has only known ones;
    one stored otherwise keeps what it cannot fill)."""
    values = {name: getattr(fields, name) for name in PLACEHOLDERS}
    try:
        return text.format_map(_Keep(values))
    except ValueError:
        return text


class _Keep(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
