"""Reply templates in the console (tickets/templates.py): managers keep them on Admin (a list
there, a page to add or change one), and the ticket page offers the active ones of each
text form's purpose, filled for the ticket's resident.

Picking one is a plain GET (`?form=reject&template=3`): the page comes back with that form
open and its text filled in the resident's language. Nothing is sent until the form is posted
as before, so the text can still be changed; the script fills the text in place instead (the
same filled text, carried on the option).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from locales import LANGUAGE_NAMES, N_, SUPPORTED, gettext_for
from storage.models import Category, ReplyTemplate, Ticket
from storage.repositories import ReplyTemplates
from tickets.templates import (
    PERSONAL,
    PLACEHOLDERS,
    TEXT_MAX,
    TITLE_MAX,
    Fields,
    Purpose,
    TemplateError,
    check,
    fill,
    text_for,
    uses,
)
from web.console.access import DESK, Need, need
from web.console.forms import NOT_A_CHOICE, Form
from web.console.pages import language_of
from web.console.queue import category_title

PURPOSE_OF: dict[Form, Purpose] = {
    Form.MESSAGE: Purpose.MESSAGE, Form.REQUEST_INFO: Purpose.MESSAGE,
    Form.RESOLVE: Purpose.RESOLVE, Form.REJECT: Purpose.REJECT,
}
PURPOSE_LABELS: dict[str, str] = {
    Purpose.MESSAGE: N_("Message to the resident, request for information"),
    Purpose.RESOLVE: N_("Resolution"),
    Purpose.REJECT: N_("Reason of a rejection"),
}
TITLE_TAKEN = N_("There is already a template of this title.")
NOT_KEPT = N_("The template cannot be saved: %(detail)s")
# TemplateError says what is wrong in English for the shell (`residesk templates`); here it
# is said in the reader's language (anything not matched still shows, in English)
EXPLAINED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"the title must be"),
     N_("Please give a title of 1 to %(title_max)d characters.")),
    (re.compile(r"at least one language"),
     N_("Please give the text in at least one language.")),
    (re.compile(r"^(?P<lang>\w+): longer than"),
     N_("%(language)s: please keep it under %(text_max)d characters.")),
    (re.compile(r"^(?P<lang>\w+): a \{ without"),
     N_("%(language)s: a brace { or } on its own. Write {{ or }} for a brace the resident "
        "should see.")),
    (re.compile(r"^(?P<lang>\w+): unknown placeholder (?P<name>\{[^}]*\})"),
     N_("%(language)s: there is no placeholder %(placeholder)s. The placeholders are "
        "%(known)s.")),
)


@dataclass(frozen=True)
class Offer:
    """A template offered on a ticket's form, with its text filled for that ticket."""

    id: int
    title: str
    text: str


def resident_language(ticket: Ticket, default_language: str) -> str:
    resident = ticket.resident
    return resident.language if resident is not None and resident.language else default_language


async def offers(session: AsyncSession, ticket: Ticket, forms: Iterable[Form],
                 category: Category | None, *, default_language: str,
                 complainant_hidden: bool) -> dict[Form, list[Offer]]:
    """The active templates of each form's purpose, filled in the resident's language (the
    category's title in that language too: the resident reads it)."""
    lang = resident_language(ticket, default_language)
    fields = Fields.of(ticket, category_title(category, lang) if category
                       else ticket.category_code)
    found: dict[Purpose, list[Offer]] = {}
    shown: dict[Form, list[Offer]] = {}
    for form in forms:
        purpose = PURPOSE_OF.get(form)
        if purpose is None:
            continue
        if purpose not in found:
            found[purpose] = []
            for template in await ReplyTemplates(session).offered(purpose):
                text = text_for(template, lang, default_language)
                if complainant_hidden and uses(text, PERSONAL):
                    continue  # filled, it would tell the agent who complained
                found[purpose].append(Offer(template.id, template.title, fill(text, fields)))
        if found[purpose]:
            shown[form] = found[purpose]
    return shown


# --- Admin -----------------------------------------------------------------------------------

def _template_id(request: web.Request) -> int | None:
    """None for a new one."""
    raw = request.match_info.get("template_id", "new")
    if raw == "new":
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound(text="no such template")
    return int(raw)


@need(Need.MANAGER)
async def template_page(request: web.Request) -> web.Response:
    template_id = _template_id(request)
    values: dict[str, str] = {"active": "1", "purpose": Purpose.MESSAGE}
    if template_id is not None:
        async with request.app[DESK].db.reading() as session:
            template = await ReplyTemplates(session).get(template_id)
            if template is None:
                raise web.HTTPNotFound(text="no such template")
            values = _values_of(template)
    return _render(request, template_id, values)


def _values_of(template: ReplyTemplate) -> dict[str, str]:
    texts = template.texts or {}
    return {"title": template.title, "purpose": template.purpose,
            "active": "1" if template.active else "",
            **{f"text_{lang}": str(texts.get(lang, "")) for lang in SUPPORTED}}


def _render(request: web.Request, template_id: int | None, values: dict[str, str], *,
            problem: str | None = None, status: int = 200) -> web.Response:
    return aiohttp_jinja2.render_template("reply_template.html", request, {
        "template_id": template_id, "values": values, "problem": problem,
        "purposes": [(p.value, PURPOSE_LABELS[p]) for p in Purpose],
        "languages_codes": SUPPORTED, "placeholders": PLACEHOLDERS,
        "title_max": TITLE_MAX, "text_max": TEXT_MAX,
    }, status=status)


def explain(error: TemplateError, gettext: Callable[[str], str]) -> str:
    """TemplateError's message, in the reader's language."""
    detail = str(error)
    for pattern, message in EXPLAINED:
        if found := pattern.search(detail):
            named = found.groupdict()
            return gettext(message) % {
                "title_max": TITLE_MAX, "text_max": TEXT_MAX,
                "language": LANGUAGE_NAMES.get(named.get("lang", ""), ""),
                "placeholder": named.get("name", ""),
                "known": ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)}
    return gettext(NOT_KEPT) % {"detail": detail}


@need(Need.MANAGER)
async def template_save(request: web.Request) -> web.Response:
    template_id = _template_id(request)
    values = {k: v.replace("\x00", "") for k, v in (await request.post()).items()
              if isinstance(v, str)}
    _ = gettext_for(language_of(request))
    purpose = values.get("purpose", "")
    active = values.get("active") == "1"
    if purpose not in {p.value for p in Purpose}:
        return _render(request, template_id, values, problem=_(NOT_A_CHOICE), status=400)
    try:
        title, texts = check(values.get("title", ""),
                             {lang: values.get(f"text_{lang}", "") for lang in SUPPORTED})
    except TemplateError as error:
        return _render(request, template_id, values, problem=explain(error, _), status=400)
    desk = request.app[DESK]
    try:
        async with desk.db.transaction() as session:
            templates = ReplyTemplates(session)
            same_title = await templates.by_title(title)
            if same_title is not None and same_title.id != template_id:
                return _render(request, template_id, values, problem=_(TITLE_TAKEN),
                               status=400)
            if template_id is None:
                await templates.upsert(title, purpose, texts, active)
            else:
                template = await templates.get(template_id)
                if template is None:
                    raise web.HTTPNotFound(text="no such template")
                # the texts as the form shows them: an emptied language goes
                template.title, template.purpose, template.texts = title, purpose, texts
                template.active = active
    except IntegrityError:  # the same title added meanwhile (another tab, the CLI)
        return _render(request, template_id, values, problem=_(TITLE_TAKEN), status=400)
    raise web.HTTPSeeOther(str(request.app.router["admin"].url_for()
                               .with_query(done="template_saved")) + "#template")
