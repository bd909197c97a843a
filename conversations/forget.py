"""/forget: a resident has their personal data erased. Diagram: forget.md.

Asked twice: the second question says what goes now, what stays (their tickets, anonymised,
for the statistics) and which open tickets keep what they wrote until the office finishes
them (tickets/erasure.py). The erasure itself goes through the ticket service, in this
update's transaction; afterwards nothing in the database knows this chat.
"""

from __future__ import annotations

from conversations.context import Context
from conversations.flow import EXIT, Flow, Input, Press, Transition
from conversations.keyboards import Prefix, button, grid, main_menu
from tickets.erasure import ErasedBy

FLOW = Prefix.FORGET
ASKED = "asked"
CONFIRMING = "confirming"
STEPS = (ASKED, CONFIRMING)


async def begin(ctx: Context) -> None:
    _ = ctx._
    if ctx.resident is None:
        ctx.reset()
        ctx.say(_("The office keeps no personal data of yours: you are not registered."))
        return
    ctx.reset()
    ctx.goto(FLOW, ASKED)
    ctx.say(_("Do you want the office to erase your personal data — your name, phone number, "
              "Telegram account and what you wrote to this desk?"),
            grid([button(_("Yes, erase it"), FLOW, "yes"), button(_("No"), FLOW, "no")], 2))


async def _second(ctx: Context) -> None:
    _ = ctx._
    assert ctx.resident is not None
    ctx.answer()
    summary = await ctx.tickets.erasure_summary(ctx.resident)
    lines = [_("This cannot be undone. Erased now: your name, phone number and Telegram "
               "account, this chat's history with the desk, your changes' history, and from "
               "your finished tickets what you wrote and the files you sent.")]
    if summary.files:
        lines.append(ctx.ngettext("%(count)d evidence file is deleted.",
                                  "%(count)d evidence files are deleted.",
                                  summary.files) % {"count": summary.files})
    lines.append(_("What remains: your tickets without your name (category, dates, status, "
                   "flat and the office's own notes), so that the office's statistics stay "
                   "true."))
    if summary.open_tickets:
        lines.append(ctx.ngettext(
            "Your open ticket No. %(numbers)s keeps what you wrote and your files until the "
            "office finishes it; then they are erased too. You will not hear about it here "
            "any more.",
            "Your open tickets No. %(numbers)s keep what you wrote and your files until the "
            "office finishes them; then they are erased too. You will not hear about them "
            "here any more.", len(summary.open_tickets)) % {
                "numbers": ", ".join(summary.open_tickets)})
    lines.append(_("Erase your personal data now?"))
    ctx.goto(FLOW, CONFIRMING)
    ctx.say("\n\n".join(lines), grid([button(_("🗑 Erase for good"), FLOW, "erase"),
                                      button(_("Keep my data"), FLOW, "keep")], 1), edit=True)


async def _erase(ctx: Context) -> None:
    _ = ctx._
    assert ctx.resident is not None
    ctx.answer()
    await ctx.tickets.forget_resident(ctx.resident, ErasedBy.RESIDENT)
    ctx.resident = None
    ctx.reset(keep=())
    ctx.say(_("Your personal data has been erased. Thank you for using the desk; if you "
              "write again, you will be asked to register anew."), edit=True)
    ctx.say(_("Goodbye."), remove_keyboard=True)


async def _kept(ctx: Context) -> None:
    _ = ctx._
    ctx.answer()
    ctx.reset()
    ctx.say(_("Nothing was erased."), edit=True)
    ctx.say(_("What would you like to do?"), keyboard=main_menu(_))


async def _buttons_please(ctx: Context) -> None:
    ctx.say(ctx._("Please answer with the buttons above, or send /cancel."))


TABLE = Flow(
    name=FLOW,
    steps=STEPS,
    starts={ASKED: "/forget (registered)"},
    transitions={
        (ASKED, Press("yes")): Transition(_second, {CONFIRMING: "Yes, erase it"}),
        (ASKED, Press("no")): Transition(_kept, {EXIT: "No (nothing erased)"}),
        (CONFIRMING, Press("erase")): Transition(_erase, {
            EXIT: "Erase for good (erased at once; open tickets' content when they finish)"}),
        (CONFIRMING, Press("keep")): Transition(_kept, {EXIT: "Keep my data"}),
        **{(step, kind): Transition(_buttons_please) for step in STEPS for kind in Input},
    },
    otherwise=_buttons_please,
)
