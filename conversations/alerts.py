"""/alerts: a manager chooses where escalations, missed deadlines and recurrences reach them —
the staff group only (as everyone), or their private chat with the bot as well."""

from __future__ import annotations

from conversations.context import Context
from storage.repositories import StaffMembers

CHOICES = {"private": True, "group": False}


async def in_private(ctx: Context) -> None:
    _ = ctx._
    staff = await StaffMembers(ctx.session).by_user(ctx.event.sender.user_id)
    if staff is None or not staff.active or not staff.is_manager:
        ctx.say(_("/alerts is for the office's managers."))
        ctx.out.result = "refused"
        return
    wanted = ctx.event.command_args.strip().lower()
    if wanted in CHOICES:
        staff.alerts_in_private = CHOICES[wanted]
    elif wanted:
        ctx.say(_("Please write /alerts private or /alerts group."))
        ctx.out.result = "refused"
        return
    ctx.say(_("Escalations, missed deadlines and recurrences reach you here in this chat as "
              "well as in the staff group. /alerts group stops that.")
            if staff.alerts_in_private else
            _("Escalations, missed deadlines and recurrences reach you in the staff group "
              "(you are mentioned, so Telegram notifies you). /alerts private sends them here "
              "too."))
