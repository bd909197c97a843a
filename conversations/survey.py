"""The satisfaction survey after a resolution. Diagram: survey.md.

The survey message carries its buttons (fixed? yes / partly / no, and a 1–5 rating); they work
from anywhere in the chat and each part is answered once. A comment is asked afterwards when the
resident is not in the middle of something else, or given by replying to the survey message.
"""

from __future__ import annotations

from conversations.context import Context
from conversations.events import EventKind, inline
from conversations.flow import EXIT, Flow, Input, Press, Transition
from conversations.keyboards import Prefix, SurveyButton, main_menu
from storage.models import Survey
from tickets.inputs import TicketError
from tickets.policy import INFO_MAX

FLOW = Prefix.SURVEY
COMMENT = "comment"
STEPS = (COMMENT,)
ANSWERS = {"yes": "yes", "partly": "partly", "no": "no"}
RATINGS = {f"r{n}": n for n in range(1, 6)}


async def press(ctx: Context) -> None:
    """A survey message's buttons, pressed anywhere in the chat."""
    _ = ctx._
    callback = ctx.callback
    assert callback is not None
    pressed = SurveyButton.unpack(callback)
    survey_id = pressed.id if pressed is not None else None
    survey = await ctx.surveys.get(survey_id) if survey_id is not None else None
    if ctx.resident is None or survey is None or survey.ticket.resident_id != ctx.resident.id:
        ctx.answer(_("Ticket not found."), alert=True)
        return
    if callback.action == "skip":
        ctx.answer()
        if ctx.flow == FLOW:
            ctx.reset()
        ctx.say(_("Thank you for your feedback!"), edit=True)
        return
    fixed = ANSWERS.get(callback.action)
    rating = RATINGS.get(callback.action)
    if fixed is None and rating is None:
        ctx.answer(_("This button is no longer active."))
        return
    try:
        survey, changed = await ctx.tickets.answer_survey(ctx.resident, survey, fixed=fixed,
                                                          rating=rating)
    except TicketError:
        ctx.answer(_("This button is no longer active."))
        return
    if not changed:
        ctx.answer(_("You have already answered this. Thank you!"))
        return
    ctx.answer(_("Thank you!"))
    number = survey.ticket.number
    if fixed == "yes":
        text = _("Glad it is fixed! Ticket No. %(number)s is closed.") % {"number": number}
    elif fixed is not None and survey.ticket.status == "reopened":
        text = _("We are sorry it is not fixed yet. Ticket No. %(number)s is open again and a "
                 "manager has been told.") % {"number": number}
    elif fixed is not None:
        text = _("Thank you, we have noted your answer.")
    else:
        text = _("Thank you for your rating: %(stars)s") % {"stars": "★" * (rating or 0)}
    if survey.rating is None:
        text += "\n\n" + _("How would you rate our work (1–5)?")
        ctx.say(text, inline(tuple(SurveyButton(f"r{n}", survey.id).labelled(f"{n}⭐")
                                   for n in range(1, 6))))
        return
    ctx.say(text)  # the survey message keeps the outcome; its buttons now only thank
    ask_comment(ctx, survey)


def ask_comment(ctx: Context, survey: Survey) -> None:
    _ = ctx._
    if survey.comment is not None:
        return
    if ctx.flow and ctx.flow != FLOW:  # never hijack a report or registration in progress
        return
    ctx.reset()
    ctx.data["survey_id"] = survey.id
    ctx.goto(FLOW, COMMENT)
    ctx.say(_("Would you like to add a comment? Type it now, or press Skip."),
            inline([SurveyButton("skip", survey.id).labelled(_("Skip"))]))


async def _typed_comment(ctx: Context) -> None:
    _ = ctx._
    survey = await ctx.surveys.get(int(ctx.data.get("survey_id", 0)))
    if ctx.resident is None or survey is None:
        ctx.reset()
        return
    text = (ctx.event.text or "").strip()
    if ctx.event.kind != EventKind.TEXT or not text:
        ctx.say(_("Please type your comment, or press Skip."),
                inline([SurveyButton("skip", survey.id).labelled(_("Skip"))]))
        return
    if await comment(ctx, survey, text):
        ctx.reset()  # a comment too long to keep leaves the resident at this step, to split it


async def comment(ctx: Context, survey: Survey, text: str) -> bool:
    """Keep the resident's comment; False (after saying why) when it is too long."""
    _ = ctx._
    assert ctx.resident is not None
    if len(text) > INFO_MAX:
        ctx.say(_("That message is %(length)d characters long; the limit is %(max)d. "
                  "Please split it into shorter messages.") % {"length": len(text),
                                                                "max": INFO_MAX})
        return False
    _survey, changed = await ctx.tickets.answer_survey(ctx.resident, survey, comment=text)
    if changed:
        ctx.say(_("Thank you for your feedback!"), keyboard=main_menu(_))
    else:
        ctx.say(_("You have already answered this. Thank you!"), keyboard=main_menu(_))
    return True


_typed = Transition(_typed_comment, {EXIT: "text (saved as the comment)"})

TABLE = Flow(
    name=FLOW,
    steps=STEPS,
    starts={COMMENT: "fixed? and rating given (only when no other flow is open)"},
    transitions={
        **{(COMMENT, kind): _typed for kind in Input},
        (COMMENT, Press("skip")): Transition(press, {EXIT: "Skip"}),
        # another survey's buttons: its own answer; the comment asked is then its one
        **{(COMMENT, Press(action)): Transition(press) for action in (*ANSWERS, *RATINGS)},
    },
    otherwise=_typed_comment,  # every input has its transition above
)
