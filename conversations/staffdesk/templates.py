"""The office's reply templates in a guided action's text question (messaging a resident,
asking for information, resolving, rejecting): a button per template shows its text filled
for this ticket, in the resident's language; "Use this text" takes it, or the staff member
sends their own version instead (copied and changed)."""

from __future__ import annotations

from conversations.context import Context
from conversations.events import Button
from conversations.keyboards import Prefix, button
from conversations.notices import category_name
from locales import gettext_for
from storage.models import ReplyTemplate, Ticket
from storage.repositories import ReplyTemplates
from tickets.offers import is_dispute
from tickets.templates import Fields, Purpose, fill, names_anyone, text_for

SHOW = "tpl."  # a template's button: show it filled
USE = "use."  # under a shown template: take its text


def pressed_template(pressed: str | None) -> tuple[str, int] | None:
    """("show" | "use", the template's id) for a template's button; None otherwise."""
    for prefix, what in ((SHOW, "show"), (USE, "use")):
        if pressed and pressed.startswith(prefix) and pressed[len(prefix):].isdigit():
            return what, int(pressed[len(prefix):])
    return None


async def offered(ctx: Context, purpose: Purpose | None, ticket: Ticket | None
                  ) -> list[ReplyTemplate]:
    """The templates offered for this question; where the staff group does not see a
    dispute's complainant, none that would name them (their name, their flat)."""
    if purpose is None or ticket is None:
        return []
    found = await ReplyTemplates(ctx.session).offered(purpose)
    if ctx.office.hide_dispute_complainant and is_dispute(ticket):
        return [t for t in found if not names_anyone(t)]
    return list(found)


def buttons(ctx: Context, templates: list[ReplyTemplate], tag: str,
            shown: ReplyTemplate | None = None) -> list[Button]:
    _ = ctx._
    found = [button(_("✅ Use this text"), Prefix.STAFF_DIALOG, f"{USE}{shown.id}", tag)
             ] if shown else []
    return found + [button("📋 " + t.title, Prefix.STAFF_DIALOG, f"{SHOW}{t.id}", tag)
                    for t in templates if t is not shown]


def filled(ctx: Context, template: ReplyTemplate, ticket: Ticket) -> str:
    """The template's text as the resident will read it: their language, their ticket."""
    lang = (ticket.resident.language if ticket.resident else None) or (
        ctx.office.default_language)
    category = category_name(gettext_for(lang), ticket.category_code)
    return fill(text_for(template, lang, ctx.office.default_language),
                Fields.of(ticket, category))


def preview(ctx: Context, template: ReplyTemplate, text: str) -> str:
    return ctx._("📋 %(title)s:\n\n%(text)s\n\nPress “Use this text”, or send your own "
                 "version instead (copy it and change what you need).") % {
        "title": template.title, "text": text}
