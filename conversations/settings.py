"""/settings: what a resident receives besides their own tickets' news. One button for now:
the office's announcements on or off (their tickets' messages always come). Not a flow: the
button works from anywhere in the chat, and says the setting as it is after the press."""

from __future__ import annotations

from conversations.context import Context
from conversations.keyboards import Prefix, button, grid

ON, OFF = "on", "off"  # the button's action: what it sets


def _show(ctx: Context, *, edit: bool = False) -> None:
    _ = ctx._
    assert ctx.resident is not None
    muted = ctx.resident.announcements_muted
    state = _("off") if muted else _("on")
    ctx.say(_("Settings\n\nAnnouncements from the office: %(state)s\n\n"
              "Messages about your own tickets always come.") % {"state": state},
            grid([button(_("🔔 Turn announcements on") if muted
                         else _("🔕 Turn announcements off"),
                         Prefix.SETTINGS, ON if muted else OFF)], 1), edit=edit)


async def show(ctx: Context) -> None:
    _show(ctx)


async def press(ctx: Context) -> None:
    callback = ctx.callback
    if ctx.resident is None or callback is None or callback.action not in (ON, OFF):
        ctx.answer(ctx._("This button is no longer active."))
        return
    ctx.resident.announcements_muted = callback.action == OFF
    ctx.answer(ctx._("Saved."))
    _show(ctx, edit=True)
