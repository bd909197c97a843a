"""/console: the way into the office console from Telegram.

- In the staff group: a link button to the console (groups cannot open Mini Apps).
- In a staff member's private chat with the bot: a button that opens the console as a Mini
  App (Telegram signs them in), and a one-time sign-in link for a desktop browser (valid ten
  minutes, for one sign-in). That message is not kept for a redelivery: the database keeps
  only the link's hash.
- To anyone else: that it is for office staff.
"""

from __future__ import annotations

from conversations.context import Context
from conversations.events import Button, Reply
from storage.models import utcnow
from storage.repositories import StaffMembers
from storage.sign_in import SignInLinks


def _not_served(ctx: Context) -> bool:
    if ctx.office.console_url:
        return False
    ctx.say(ctx._("The office console is not set up yet (CONSOLE_URL)."),
            reply_to=ctx.event.message_id if ctx.event.in_group else None)
    ctx.out.result = "refused"
    return True


async def in_group(ctx: Context) -> None:
    """Asked in the staff group by a staff member."""
    if _not_served(ctx):
        return
    _ = ctx._
    ctx.say(_("The office console: queue, tickets, statistics."),
            buttons=((Button.link(_("🖥 Open the console"), f"{ctx.office.console_url}/"),),),
            reply_to=ctx.event.message_id)


async def in_private(ctx: Context) -> None:
    _ = ctx._
    staff = await StaffMembers(ctx.session).by_user(ctx.event.sender.user_id)
    if staff is None or not staff.active:
        ctx.say(_("/console is for the office's staff."))
        ctx.out.result = "refused"
        return
    if _not_served(ctx):
        return
    base = ctx.office.console_url
    token = await SignInLinks(ctx.session).issue(staff, utcnow())
    link = f"{base}/sign-in/{token}"
    ctx.out.replies.append(Reply(
        _("The office console. Open it here in Telegram, or sign in in a browser with this "
          "one-time link (valid for 10 minutes; do not forward it):\n%(link)s") % {"link": link},
        buttons=((Button.link(_("🖥 Open in Telegram"), f"{base}/", mini_app=True),),
                 (Button.link(_("🌐 Sign in in a browser"), link),)),
        keep=False))
