"""Reporting a problem: category, description, the category's own questions, evidence,
urgency, summary. Diagram: report.md."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar

from conversations.context import Context
from conversations.events import MEDIA_KINDS, Button, EventKind, inline
from conversations.flow import ANY_STEP, EXIT, Flow, Input, Press, Transition
from conversations.keyboards import Prefix, button, grid, main_menu
from locales.dates import format_when
from tickets.evidence import MediaProblem
from tickets.incidents import leads_planned_works
from tickets.inputs import Submission, TicketError
from tickets.policy import (
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    MAX_EVIDENCE,
    PRIORITY_LABELS,
)
from tickets.policy import category_title as policy_category_title
from tickets.questions import DETAIL_TEXT_MAX, YES_NO, AnswerKind, Detail, Question, QuestionSet

FLOW = Prefix.REPORT
CATEGORY = "category"
DESCRIPTION = "description"
DETAILS = "details"  # the category's own questions (tickets.questions), one at a time
EVIDENCE = "evidence"
URGENCY = "urgency"
SUMMARY = "summary"
EDIT = "edit"
STEPS = (CATEGORY, DESCRIPTION, DETAILS, EVIDENCE, URGENCY, SUMMARY, EDIT)

def category_title(ctx: Context, code: str, titles: dict[str, Any] | None = None) -> str:
    """The office's own name for the category, else the built-in translation, else English."""
    return policy_category_title(code, titles, ctx.lang, ctx._)


async def begin(ctx: Context) -> None:
    """Start a report; with an unfinished one in progress, ask before throwing it away."""
    draft = ReportDraft.read(ctx.data.get("draft"))
    if ctx.flow == FLOW and (draft.category or draft.evidence):
        _ = ctx._
        ctx.say(_("You have an unfinished report. Continue it, or start a new one? "
                  "(Starting anew discards the unfinished one.)"),
                inline([button(_("Continue"), FLOW, "resume"),
                        button(_("Start anew"), FLOW, "restart")]))
        return
    await _start(ctx)


async def _start(ctx: Context, *, edit: bool = False) -> None:
    ctx.reset()
    ctx.data["draft"] = ReportDraft.new().to_json()
    await ask_category(ctx, edit=edit)


async def ask_step(ctx: Context, step: str, *, edit: bool) -> None:
    """Ask the question of `step` again (after an interruption, or to edit it)."""
    if step == CATEGORY:
        await ask_category(ctx, edit=edit)
    elif step == DESCRIPTION:
        ask_description(ctx, edit=edit)
    elif step == DETAILS and _questions(ctx, _draft(ctx)):
        ask_details(ctx, _draft(ctx).asking, edit=edit)
    elif step in (DETAILS, EVIDENCE):  # (at DETAILS: the category has no questions now)
        ask_evidence(ctx, edit=edit)
    elif step == URGENCY:
        ask_urgency(ctx, edit=edit)
    elif step == EDIT:
        _show_edit_menu(ctx)
    else:
        await show_summary(ctx, edit=edit)


@dataclass
class ReportDraft:
    """The report being written, kept in the chat's state row between updates. Stored with a
    version; the unversioned shape of earlier releases is read too (a draft begun before an
    upgrade is finished after it)."""

    VERSION: ClassVar[int] = 2  # 2: details and asking (version 1 had neither)

    key: str  # the submission's idempotency key; its first 8 characters ride on Confirm
    evidence: list[dict[str, Any]] = field(default_factory=list)  # `media_record()` rows
    category: str | None = None
    description: str | None = None
    priority: str | None = None
    full_album: str | None = None  # the album already told it does not fit
    details: dict[str, str] = field(default_factory=dict)  # question code -> answer
    asking: str | None = None  # the question of the details step being asked

    def answers(self, questions: QuestionSet) -> tuple[Detail, ...]:
        """The answers kept, in the order of the category's questions."""
        return questions.checked(self.category or "", tuple(
            Detail(code, value) for code, value in self.details.items()))

    @classmethod
    def new(cls) -> ReportDraft:
        return cls(key=uuid.uuid4().hex)

    @classmethod
    def read(cls, stored: Any) -> ReportDraft:
        if not isinstance(stored, dict) or not stored.get("key"):
            return cls.new()
        # versions 0 (no "v") and 1 had the same fields but details and asking
        details = stored.get("details")
        return cls(key=str(stored["key"]), evidence=list(stored.get("evidence") or []),
                   category=stored.get("category"), description=stored.get("description"),
                   priority=stored.get("priority"), full_album=stored.get("full_album"),
                   details={str(k): str(v) for k, v in details.items()}
                   if isinstance(details, dict) else {},
                   asking=stored.get("asking"))

    def to_json(self) -> dict[str, Any]:
        return {"v": self.VERSION, **{k: v for k, v in asdict(self).items()
                                      if v is not None and v != {}}}


def _draft(ctx: Context) -> ReportDraft:
    stored = ctx.data.get("draft")
    draft = ReportDraft.read(stored)
    if not isinstance(stored, dict) or stored.get("key") != draft.key:
        _keep(ctx, draft)  # a new one: its key must stay the same from here on
    return draft


def _keep(ctx: Context, draft: ReportDraft) -> None:
    ctx.data["draft"] = draft.to_json()


def _cancel_button(ctx: Context) -> Button:
    return button(ctx._("✖ Cancel"), FLOW, "cancel")


async def ask_category(ctx: Context, *, edit: bool = False) -> None:
    ctx.goto(FLOW, CATEGORY)
    categories = await ctx.categories.active()
    buttons = [button(category_title(ctx, c.code, c.titles), FLOW, "cat", c.code)
               for c in categories]
    ctx.say(ctx._("What is the problem about? Choose a category:"),
            grid(buttons, 2) + inline([_cancel_button(ctx)]), edit=edit)


def ask_description(ctx: Context, *, edit: bool = False) -> None:
    ctx.goto(FLOW, DESCRIPTION)
    ctx.say(ctx._("Please describe the problem: what happened, where exactly, and since when. "
                  "(%(min)d–%(max)d characters)") % {"min": DESCRIPTION_MIN,
                                                     "max": DESCRIPTION_MAX}, edit=edit)


def _questions(ctx: Context, draft: ReportDraft) -> tuple[Question, ...]:
    return ctx.office.questions.of(draft.category or "")


def ask_details(ctx: Context, code: str | None = None, *, edit: bool = False) -> None:
    """Ask the category's question `code` (default: its first), with its buttons."""
    _ = ctx._
    draft = _draft(ctx)
    questions = _questions(ctx, draft)
    question = next((q for q in questions if q.code == code), questions[0])
    draft.asking = question.code
    _keep(ctx, draft)
    ctx.goto(FLOW, DETAILS)
    if question.kind == AnswerKind.CHOICE:
        options = [button(c.label(ctx.lang, _), FLOW, "ans", f"{question.code}.{c.code}")
                   for c in question.choices]
    elif question.kind == AnswerKind.YES_NO:
        options = [button(_(label), FLOW, "ans", f"{question.code}.{value}")
                   for value, label in YES_NO.items()]
    else:
        options = []
    last = [_cancel_button(ctx)]
    if not question.required:
        last.insert(0, button(_("Skip"), FLOW, "skipq", question.code))
    number = questions.index(question) + 1
    text = f"({number}/{len(questions)}) {question.text(ctx.lang, _)}"
    if question.kind == AnswerKind.TEXT:
        text += "\n" + _("Please type a short answer (up to %(max)d characters).") % {
            "max": DETAIL_TEXT_MAX}
    elif draft.details.get(question.code):
        text += "\n" + _("Your answer so far: %(answer)s") % {
            "answer": question.answer_text(draft.details[question.code], ctx.lang, _)}
    ctx.say(text, grid(options, 2) + inline(last), edit=edit)


async def _answered(ctx: Context, draft: ReportDraft, question: Question, value: str | None,
                    *, edit: bool) -> None:
    """Keep the answer (None: skipped) and ask the next question, or move on."""
    if value is None:
        draft.details.pop(question.code, None)
    else:
        draft.details[question.code] = value
    questions = _questions(ctx, draft)
    following = questions[questions.index(question) + 1:]
    if following:
        _keep(ctx, draft)
        ask_details(ctx, following[0].code, edit=edit)
        return
    draft.asking = None
    _keep(ctx, draft)
    await _next_after(ctx, DETAILS, edit=edit)


def _asked(ctx: Context) -> tuple[ReportDraft, Question | None]:
    draft = _draft(ctx)
    return draft, next((q for q in _questions(ctx, draft) if q.code == draft.asking), None)


async def _choose_answer(ctx: Context) -> None:
    draft, question = _asked(ctx)
    code, _dot, value = (ctx.callback.arg if ctx.callback else "").partition(".")
    if question is None or code != question.code or not question.accepts(value):
        ctx.answer(ctx._("This button is no longer active."))
        return
    ctx.answer()
    await _answered(ctx, draft, question, value, edit=True)


async def _skip_question(ctx: Context) -> None:
    draft, question = _asked(ctx)
    if question is None or question.required or (ctx.callback and
                                                  ctx.callback.arg != question.code):
        ctx.answer(ctx._("This button is no longer active."))
        return
    ctx.answer()
    await _answered(ctx, draft, question, None, edit=True)


async def _typed_answer(ctx: Context) -> None:
    _ = ctx._
    draft, question = _asked(ctx)
    if question is None:  # the office changed its questions meanwhile
        draft.asking = None
        _keep(ctx, draft)
        await _next_after(ctx, DETAILS, edit=False)
        return
    text = (ctx.event.text or "").strip()
    if question.kind != AnswerKind.TEXT or ctx.event.kind != EventKind.TEXT:
        ctx.say(_("Please answer with the buttons of the question above.")
                if question.kind != AnswerKind.TEXT else
                _("Please type the answer in words."))
        return
    if not question.accepts(text):
        ctx.say(_("That answer is %(length)d characters long; please keep it under %(max)d.")
                % {"length": len(text), "max": DETAIL_TEXT_MAX} if text else
                _("Please type the answer in words."))
        return
    await _answered(ctx, draft, question, text, edit=False)


async def _file_while_asked(ctx: Context) -> None:
    """A photo sent before the questions are answered: kept (the files step shows it), and
    the question stands."""
    _ = ctx._
    draft, event = _draft(ctx), ctx.event
    if len(draft.evidence) >= MAX_EVIDENCE:
        ctx.say(_("You have already attached %(max)d files, the most a report can hold.")
                % {"max": MAX_EVIDENCE})
        return
    record = media_record(ctx)
    if record is None or any(e["file_unique_id"] == record["file_unique_id"]
                             for e in draft.evidence):
        return
    same_album = bool(event.album_id) and any(e.get("album_id") == event.album_id
                                              for e in draft.evidence)
    draft.evidence.append(record)
    _keep(ctx, draft)
    if not same_album:  # an album arrives as several updates; one acknowledgement is enough
        ctx.say(_("Received — attached to your report. Please answer the question above "
                  "first; you can send more files after the questions."))


def _evidence_buttons(ctx: Context) -> tuple[tuple[Button, ...], ...]:
    if _draft(ctx).evidence:
        return inline([button(ctx._("✅ Done"), FLOW, "done")])
    return inline([button(ctx._("Skip"), FLOW, "skip")])


def ask_evidence(ctx: Context, *, edit: bool = False) -> None:
    ctx.goto(FLOW, EVIDENCE)
    ctx.say(ctx._("Photos, videos, voice notes, audio recordings or documents (a PDF or an "
                  "office document: a letter, an invoice) help us understand the problem. Send "
                  "up to %(max)d files, then press Done — or press Skip.") % {
                      "max": MAX_EVIDENCE},
            _evidence_buttons(ctx), edit=edit)


def ask_urgency(ctx: Context, *, edit: bool = False) -> None:
    ctx.goto(FLOW, URGENCY)
    ctx.say(
        ctx._("How urgent is it? Urgent means danger to people or property, or a problem "
              "that gets worse by the hour (a flood, no power, a broken lock)."),
        inline([button(ctx._(PRIORITY_LABELS["normal"]), FLOW, "prio", "normal"),
                button("🚨 " + ctx._(PRIORITY_LABELS["urgent"]), FLOW, "prio", "urgent")]),
        edit=edit,
    )


async def show_summary(ctx: Context, *, edit: bool = False) -> None:
    _ = ctx._
    draft = _draft(ctx)
    ctx.goto(FLOW, SUMMARY)
    assert draft.category is not None and draft.priority is not None
    category = await ctx.categories.by_code(draft.category)
    titles = category.titles if category else None
    unit = ctx.resident.unit_label if ctx.resident else ""
    lines = [
        _("Please check your report:"),
        "",
        _("Category: %(category)s") % {"category": category_title(ctx, draft.category, titles)},
        *("  " + line for line in ctx.office.questions.lines(
            draft.category, draft.answers(ctx.office.questions), ctx.lang, _)),
        _("Unit: %(unit)s") % {"unit": unit},
        _("Urgency: %(urgency)s") % {"urgency": _(PRIORITY_LABELS[draft.priority])},
        _("Files attached: %(count)d") % {"count": len(draft.evidence)},
        "",
        draft.description or "",
    ]
    if draft.priority == "urgent" and ctx.office.emergency_phone:
        lines += ["", _("🚨 If anyone is in danger, call the office's emergency line now: "
                        "%(phone)s") % {"phone": ctx.office.emergency_phone}]
    ctx.say(
        "\n".join(lines),
        inline(
            [button(_("✅ Confirm"), FLOW, "confirm", draft.key[:8])],
            [button(_("✏️ Edit"), FLOW, "edit"), _cancel_button(ctx)],
        ),
        edit=edit,
    )


def _show_edit_menu(ctx: Context) -> None:
    _ = ctx._
    ctx.goto(FLOW, EDIT)
    choices = [button(_("Category"), FLOW, "goto", CATEGORY),
               button(_("Description"), FLOW, "goto", DESCRIPTION)]
    if _questions(ctx, _draft(ctx)):
        choices.append(button(_("Details"), FLOW, "goto", DETAILS))
    choices += [button(_("Files"), FLOW, "goto", EVIDENCE),
                button(_("Urgency"), FLOW, "goto", URGENCY),
                button(_("« Back to the summary"), FLOW, "back")]
    ctx.say(_("What would you like to change?"), grid(choices, 2), edit=True)


async def _next_after(ctx: Context, step: str, *, edit: bool) -> None:
    """Move on in the wizard; while editing, go back to the summary instead (a category
    changed there asks its own questions first)."""
    draft = _draft(ctx)
    if step == CATEGORY and ctx.data.get("editing") and _questions(ctx, draft) and not (
            draft.details):
        ask_details(ctx, edit=edit)
    elif ctx.data.get("editing"):
        await show_summary(ctx, edit=edit)
    elif step == CATEGORY:
        ask_description(ctx, edit=edit)
    elif step == DESCRIPTION and _questions(ctx, draft):
        ask_details(ctx, edit=edit)
    elif step in (DESCRIPTION, DETAILS):
        ask_evidence(ctx)
    elif step == EVIDENCE:
        ask_urgency(ctx, edit=edit)
    else:
        await show_summary(ctx, edit=edit)


async def _not_here(ctx: Context) -> None:
    _ = ctx._
    if ctx.event.kind in MEDIA_KINDS:
        ctx.say(_("This file was not attached: files are added at the files step of the "
                  "report. From the summary, use Edit → Files."))
    else:
        ctx.say(_("Please use the buttons of the last message, or send /cancel to stop."))


async def _cancel(ctx: Context) -> None:
    _ = ctx._
    ctx.answer()
    ctx.reset()
    ctx.say(_("Report cancelled. Nothing was saved."), edit=True)
    ctx.say(_("What would you like to do next?"), keyboard=main_menu(_))


async def _choose_category(ctx: Context) -> None:
    callback = ctx.callback
    category = await ctx.categories.by_code(callback.arg) if callback else None
    if category is None or not category.active:
        ctx.answer(ctx._("This button is no longer active."))
        return
    draft = _draft(ctx)
    if draft.category != category.code:  # another category asks other questions
        draft = replace(draft, details={}, asking=None)
    await _chosen(ctx, CATEGORY, replace(draft, category=category.code))


async def _evidence_done(ctx: Context) -> None:
    ctx.answer()
    await _next_after(ctx, EVIDENCE, edit=True)


async def _choose_urgency(ctx: Context) -> None:
    callback = ctx.callback
    if callback is None or callback.arg not in PRIORITY_LABELS:
        ctx.answer(ctx._("This button is no longer active."))
        return
    await _chosen(ctx, URGENCY, replace(_draft(ctx), priority=callback.arg))


async def _chosen(ctx: Context, step: str, draft: ReportDraft) -> None:
    """A button answered `step`: keep the draft with the answer and move on."""
    ctx.answer()
    _keep(ctx, draft)
    await _next_after(ctx, step, edit=True)


async def _confirm_pressed(ctx: Context) -> None:
    key = ctx.callback.arg if ctx.callback else ""
    if key != _draft(ctx).key[:8]:
        await already_sent(ctx, key)  # the Confirm of an earlier report
    else:
        await _confirm(ctx)


async def _resume(ctx: Context) -> None:
    ctx.answer()
    await ask_step(ctx, ctx.step, edit=True)


async def _restart(ctx: Context) -> None:
    ctx.answer()
    await _start(ctx, edit=True)


async def _edit(ctx: Context) -> None:
    ctx.answer()
    ctx.data["editing"] = True
    _show_edit_menu(ctx)


async def _back(ctx: Context) -> None:
    ctx.answer()
    await show_summary(ctx, edit=True)


async def _goto(ctx: Context) -> None:
    step = ctx.callback.arg if ctx.callback else ""
    if step not in (CATEGORY, DESCRIPTION, DETAILS, EVIDENCE, URGENCY) or (
            step == DETAILS and not _questions(ctx, _draft(ctx))):
        ctx.answer(ctx._("This button is no longer active."))
        return
    ctx.answer()
    await ask_step(ctx, step, edit=True)


async def _description(ctx: Context) -> None:
    _ = ctx._
    event = ctx.event
    text = (event.text or "").strip()
    captioned = event.kind in MEDIA_KINDS and bool(text) and not ctx.data.get("editing")
    if event.kind != EventKind.TEXT and not captioned:
        ctx.say(_("Please describe the problem in words first; you can send photos and "
                  "videos in the next step."))
        return
    if len(text) < DESCRIPTION_MIN:
        ctx.say(_("Please describe the problem in a little more detail (at least %(min)d "
                  "characters).") % {"min": DESCRIPTION_MIN})
        return
    if len(text) > DESCRIPTION_MAX:
        ctx.say(_("That description is %(length)d characters long; the limit is %(max)d. "
                  "Please shorten it — you can add more details to the ticket later.")
                % {"length": len(text), "max": DESCRIPTION_MAX})
        return
    draft = _draft(ctx)
    draft.description = text
    _keep(ctx, draft)
    if captioned and _questions(ctx, draft):  # the photo is kept; the questions come first
        ask_details(ctx)
        await _file_while_asked(ctx)
        return
    if captioned:  # a photo with its caption: the caption describes, the photo is evidence
        ctx.goto(FLOW, EVIDENCE)
        await _evidence(ctx, caption_used=True)
        return
    await _next_after(ctx, DESCRIPTION, edit=False)


def media_problem_text(ctx: Context, problem: MediaProblem) -> str:
    _, why = ctx._, MediaProblem
    texts = {
        why.TOO_BIG: _("This file is larger than 20 MB, which is more than we can accept. "
                       "Please send a smaller file or a photo instead."),
        why.MISMATCH: _("We could not accept this file: its content is not what it claims to "
                        "be. Please send it again as a photo, a video or a PDF."),
        why.UNSUPPORTED: _("We can accept photos, videos, voice notes, audio recordings, and "
                           "pictures, PDFs and office documents sent as files. Please send one "
                           "of those."),
        why.NOT_STORED: _("Sorry, we could not store this file just now. Please try again "
                          "later; everything else you sent is kept."),
    }
    return texts.get(problem, _("We could not receive this file. Please try sending it again."))


def media_record(ctx: Context) -> dict[str, Any] | None:
    """The file of the current event as stored in drafts, or None after telling what's wrong."""
    event = ctx.event
    if event.kind not in MEDIA_KINDS or event.media is None:
        return None
    media = event.media
    if media.problem:
        ctx.say(media_problem_text(ctx, media.problem))
        return None
    return {
        "kind": media.kind, "file_id": media.file_id, "file_unique_id": media.file_unique_id,
        "size": media.size, "mime_type": media.mime_type, "sha256": media.sha256,
        "local_path": media.local_path, "album_id": event.album_id,
        "received_sha256": media.received_sha256, "original_path": media.original_path,
    }


async def _evidence(ctx: Context, *, caption_used: bool = False) -> None:
    _ = ctx._
    event, draft = ctx.event, _draft(ctx)
    if event.kind not in MEDIA_KINDS:
        if event.kind == EventKind.OTHER:
            ctx.say(_("Stickers and similar messages can't be used as evidence. Please send a "
                      "photo, a video, a voice note or a document, or press Done."),
                    _evidence_buttons(ctx))
        else:
            ctx.say(_("Please send a photo, a video, a voice note or a document — or press Done "
                      "to continue."),
                    _evidence_buttons(ctx))
        return
    evidence = draft.evidence
    if len(evidence) >= MAX_EVIDENCE:
        if not (event.album_id and draft.full_album == event.album_id):
            draft.full_album = event.album_id  # one notice per album, not one per photo
            _keep(ctx, draft)
            ctx.say(_("You have already attached %(max)d files, the most a report can hold. "
                      "Press Done to continue.") % {"max": MAX_EVIDENCE}, _evidence_buttons(ctx))
        return
    record = media_record(ctx)
    if record is None:
        return
    caption = (event.text or "").strip()
    if caption and not caption_used:  # keep what the resident wrote with the file
        description = f"{draft.description or ''}\n{caption}".strip()
        draft.description = description[:DESCRIPTION_MAX]
        _keep(ctx, draft)
    if any(e["file_unique_id"] == record["file_unique_id"] for e in evidence):
        ctx.say(_("This file is already attached."), _evidence_buttons(ctx))
        return
    same_album = bool(event.album_id) and any(e.get("album_id") == event.album_id
                                              for e in evidence)
    evidence.append(record)
    _keep(ctx, draft)
    if same_album:
        return  # an album arrives as several updates; one acknowledgement is enough
    if event.album_id:
        ctx.say(_("Received your photos; they are attached as they arrive. Send more, or press "
                  "Done."), _evidence_buttons(ctx))
        return
    ctx.say(ctx.ngettext("Received — %(count)d file attached. Send more, or press Done.",
                         "Received — %(count)d files attached. Send more, or press Done.",
                         len(evidence)) % {"count": len(evidence)}, _evidence_buttons(ctx))


async def _confirm(ctx: Context) -> None:
    _ = ctx._
    draft = _draft(ctx)
    if ctx.resident is None or not draft.description or not draft.category:
        ctx.answer(_("This button is no longer active."))
        return
    submission = Submission(
        key=draft.key, category=draft.category, description=draft.description,
        priority=draft.priority or "normal",
        evidence=[{k: v for k, v in e.items() if k != "album_id"} for e in draft.evidence],
        details=draft.answers(ctx.office.questions),
    )
    try:
        ticket, created = await ctx.tickets.submit(ctx.resident, submission)
    except TicketError:
        ctx.answer(_("This category is no longer available; please choose another."), alert=True)
        await ask_category(ctx, edit=True)
        return
    ctx.answer(_("Report sent"))
    ctx.out.notify = created
    ctx.reset()
    # remembered so a second tap on this Confirm can name the ticket (the last few reports)
    sent = dict(list(ctx.data.get("sent", {}).items())[-4:])
    sent[submission.key[:8]] = ticket.number
    ctx.data["sent"] = sent
    # one outage, many reports (or planned works this report is the first of): the office
    # already knows
    if ticket.incident is not None or await leads_planned_works(ctx.session, ticket):
        ctx.say(_("Thank you! Your report is registered as No. %(number)s. We already know "
                  "about this problem and are working on it; you will be told here when it is "
                  "fixed.") % {"number": ticket.number}, edit=True)
        ctx.say(_("Anything else? Use the menu below."), keyboard=main_menu(_))
        return
    hours = max(1, round((ticket.ack_due_at - ticket.created_at).total_seconds() / 3600))
    text = _("Thank you! Your report is registered as No. %(number)s.") % {
        "number": ticket.number}
    text += "\n\n" + ctx.ngettext(
        "We take every report seriously. The office will contact you within %(hours)d hour "
        "(by %(due)s).",
        "We take every report seriously. The office will contact you within %(hours)d hours "
        "(by %(due)s).", hours) % {"hours": hours, "due": _when(ctx, ticket.ack_due_at)}
    text += " " + _("We expect to resolve it by %(due)s.") % {
        "due": _when(ctx, ticket.resolve_due_at)}
    text += "\n" + _("You will get a message here at every step, and you can follow the ticket "
                    "under “My tickets”.")
    if ticket.priority == "urgent" and ctx.office.emergency_phone:
        text += "\n\n" + _("🚨 Urgent: if anyone is in danger, call the emergency line now: "
                           "%(phone)s") % {"phone": ctx.office.emergency_phone}
    ctx.say(text, edit=True)
    ctx.say(_("Anything else? Use the menu below."), keyboard=main_menu(_))


def _when(ctx: Context, moment: datetime) -> str:
    return format_when(moment, ctx.lang, ctx.office.timezone)


async def already_sent(ctx: Context, key: str) -> None:
    """A Confirm pressed again after the report was stored (double tap, old message)."""
    number = ctx.data.get("sent", {}).get(key)
    if number:
        ctx.answer(ctx._("This report was already sent as No. %(number)s.") % {"number": number})
    else:
        ctx.answer(ctx._("This button is no longer active."))


_describe = Transition(_description, {EVIDENCE: "text of 10–2000 characters (or a photo with "
                                                "such a caption)",
                                      DETAILS: "the same, when the category has questions",
                                      SUMMARY: "the same, while editing"})
_typed = Transition(_typed_answer, {DETAILS: "a short text (a text question): the next one; "
                                             "else asked to use the buttons",
                                    EVIDENCE: "…the last question answered",
                                    SUMMARY: "…the last, while editing"})
_attach = Transition(_evidence, {EVIDENCE: "photo / video / voice / picture file (up to 10; "
                                           "albums as one)"})
_leave = Transition(_cancel, {EXIT: "Cancel"})

TABLE = Flow(
    name=FLOW,
    steps=STEPS,
    starts={CATEGORY: "/report or the menu"},
    transitions={
        (CATEGORY, Press("cat")): Transition(_choose_category, {
            DESCRIPTION: "category button", SUMMARY: "category button, while editing",
            DETAILS: "another category with questions, while editing"}),
        (CATEGORY, Press("cancel")): _leave,
        (DESCRIPTION, Input.TEXT): _describe,
        (DESCRIPTION, Input.MEDIA): _describe,
        (DESCRIPTION, Input.CONTACT): _describe,
        (DESCRIPTION, Input.OTHER): _describe,
        (DETAILS, Press("ans")): Transition(_choose_answer, {
            DETAILS: "a choice or yes / no: the next question",
            EVIDENCE: "…the last question answered", SUMMARY: "…the last, while editing"}),
        (DETAILS, Press("skipq")): Transition(_skip_question, {
            DETAILS: "Skip (an optional question)", EVIDENCE: "Skip the last question",
            SUMMARY: "Skip the last, while editing"}),
        (DETAILS, Input.TEXT): _typed,
        (DETAILS, Input.CONTACT): _typed,
        (DETAILS, Input.OTHER): _typed,
        (DETAILS, Input.MEDIA): Transition(_file_while_asked, {
            DETAILS: "a file: kept for the files step; the question stands"}),
        (DETAILS, Press("cancel")): _leave,
        (EVIDENCE, Input.MEDIA): _attach,
        (EVIDENCE, Input.TEXT): _attach,
        (EVIDENCE, Input.CONTACT): _attach,
        (EVIDENCE, Input.OTHER): _attach,
        (EVIDENCE, Press("done")): Transition(_evidence_done, {
            URGENCY: "Done or Skip", SUMMARY: "Done, while editing"}),
        (EVIDENCE, Press("skip")): Transition(_evidence_done, {URGENCY: "Done or Skip"}),
        (EVIDENCE, Press("cancel")): _leave,
        (URGENCY, Press("prio")): Transition(_choose_urgency, {SUMMARY: "Normal or Urgent"}),
        (URGENCY, Press("cancel")): _leave,
        (SUMMARY, Press("confirm")): Transition(_confirm_pressed, {
            EXIT: "Confirm (ticket stored, number and response time sent)",
            CATEGORY: "Confirm, but the category was disabled meanwhile"}),
        (SUMMARY, Press("edit")): Transition(_edit, {EDIT: "Edit"}),
        (SUMMARY, Press("cancel")): _leave,
        (EDIT, Press("goto")): Transition(_goto, {
            CATEGORY: "Category", DESCRIPTION: "Description", DETAILS: "Details",
            EVIDENCE: "Files", URGENCY: "Urgency"}),
        (EDIT, Press("back")): Transition(_back, {SUMMARY: "Back"}),
        # the question asked at /report (or /start) while a report is unfinished
        (ANY_STEP, Press("resume")): Transition(_resume, {
            ANY_STEP: "Continue (at /report with an unfinished report: its step again)"}),
        (ANY_STEP, Press("restart")): Transition(_restart, {
            CATEGORY: "Start anew (the unfinished report is discarded)"}),
    },
    otherwise=_not_here,
)
