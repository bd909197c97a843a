"""The office's side, in the staff group: card buttons, guided actions, relayed replies.

Diagram: __init__.md (next to this file). Every action checks who pressed or typed it (the
user, not the chat): only active staff act, and the lifecycle decides what each role may do
in each status. A guided action (investigation, resolution, reason, message, intake) is kept
on the staff member's row, one at a time, so it survives restarts and two staff never share
one.

What is where:
- here: `handle`, the entry point the engine calls, which sends each update on;
- `card`: a ticket card's buttons (`press`, `act`, `refuse`);
- `dialog`: the guided action in progress as stored (`Guided`, `GuidedAction`);
- `questions`: what each guided action asks (`DIALOGS`, `Ask`);
- `guided`: asking, answering and finishing a guided action (`begin`, `answer`, `finish`);
- `answers`: reading one answer (texts, files, buttons, dates, phone numbers);
- `relay`: a reply in a card's thread goes to the resident;
- `commands`: /intake, /cancel, /help, /stats, /announce, /announcements (whose drafts and
  buttons are conversations/announcements.py's; a photo with /announce as its caption too).
"""

from __future__ import annotations

from conversations import announcements
from conversations.context import Context
from conversations.events import MEDIA_KINDS, EventKind
from conversations.keyboards import Callback, Prefix
from conversations.staffdesk.card import press
from conversations.staffdesk.commands import STAFF_ONLY, command
from conversations.staffdesk.dialog import Guided, GuidedAction
from conversations.staffdesk.guided import answer
from conversations.staffdesk.relay import relay
from storage.models import Staff

__all__ = ["FLOW", "STEPS", "Guided", "GuidedAction", "handle"]

FLOW = Prefix.STAFF_CARD
STEPS = ("asking",)  # a guided action in progress (kept on the staff row)


async def handle(ctx: Context, staff: Staff | None) -> None:
    """An update from the staff group."""
    event = ctx.event
    if event.kind == EventKind.BUTTON and _announcing(ctx):
        await announcements.press(ctx, staff)
    elif event.kind == EventKind.BUTTON:
        await press(ctx, staff)
    elif staff is None or not staff.active:
        if event.kind == EventKind.COMMAND and event.command in STAFF_ONLY:
            ctx.say(ctx._("Only office staff can do this. A manager can add you with "
                          "“residesk staff add”."), reply_to=event.message_id)
        else:
            ctx.out.result = "ignored"  # people talk in the group; not everything is for us
    elif event.kind == EventKind.COMMAND:
        await command(ctx, staff)
    elif event.kind in MEDIA_KINDS and (args := announcements.caption_args(event.text)
                                        ) is not None:
        if event.kind == EventKind.PHOTO and event.media is not None:
            await announcements.announce(ctx, staff, args=args,
                                         photo_file_id=event.media.file_id)
        else:
            announcements.refuse_file(ctx)
    elif (dialog := GuidedAction.from_json(staff.dialog)) is not None:
        if await replies_to_another_ticket(ctx, dialog):
            # never let an answer meant for one ticket's thread go to another ticket's resident
            ctx.say(_busy(ctx), reply_to=event.message_id)
            ctx.out.result = "refused"
        else:
            await answer(ctx, staff)
    elif event.reply_to_message_id is not None:
        await relay(ctx, staff)
    else:
        ctx.out.result = "ignored"


def _announcing(ctx: Context) -> bool:
    callback = Callback.parse(ctx.event.callback_data)
    return callback is not None and callback.prefix == Prefix.ANNOUNCE


async def replies_to_another_ticket(ctx: Context, dialog: GuidedAction) -> bool:
    replied = ctx.event.reply_to_message_id
    if replied is None:
        return False
    link = await ctx.links.ticket_of(ctx.event.sender.chat_id, replied)
    return link is not None and link.ticket_id != dialog.ticket


def _busy(ctx: Context) -> str:
    return ctx._("You are still answering questions for another ticket; nothing was sent. "
                 "Finish them, or send /cancel, then reply again.")
