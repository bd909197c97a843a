"""A registered resident changes their name, phone or unit (`/profile`). Diagram: profile.md.

Each change is one step from the profile's menu and back to it. A new unit is found in the
office's list as at registration (or kept as typed, unverified), and recorded in the
resident's audit trail (`ResidentChange`); tickets already filed keep the unit they were
filed for. A phone shared from the resident's own account also brings over the complaints the
office logged for that number.
"""

from __future__ import annotations

from conversations.context import Context
from conversations.events import EventKind
from conversations.flow import EXIT, Flow, Input, Press, Transition
from conversations.keyboards import Prefix, button, grid, main_menu, share_phone
from conversations.registration import claimed_text, clean_name, given_phone
from storage.models import Resident
from tickets.policy import NAME_MAX, UNIT_TEXT_MAX

FLOW = Prefix.PROFILE
MENU = "menu"
NAME = "name"
PHONE = "phone"
BUILDING = "building"
UNIT = "unit"
STEPS = (MENU, NAME, PHONE, BUILDING, UNIT)


async def begin(ctx: Context, *, edit: bool = False, done: str = "") -> None:
    """The resident's details, and what they may change."""
    _ = ctx._
    resident = ctx.resident
    if resident is None:
        ctx.say(_("Please register first: send /start."))
        return
    ctx.reset()
    ctx.goto(FLOW, MENU)
    lines = [done, ""] if done else []
    lines += [_("Your details:"),
              _("Name: %(name)s") % {"name": resident.name},
              _("Phone: %(phone)s") % {"phone": resident.phone},
              _("Unit: %(unit)s") % {"unit": resident.unit_label or "—"},
              "", _("What would you like to change?")]
    ctx.say("\n".join(lines), grid([
        button(_("Name"), FLOW, "name"), button(_("Phone"), FLOW, "phone"),
        button(_("Unit"), FLOW, "unit"), button(_("✅ Done"), FLOW, "done")], 3), edit=edit)


async def _ask_name(ctx: Context) -> None:
    ctx.answer()
    ctx.goto(FLOW, NAME)
    ctx.say(ctx._("What is your name? (up to %(max)d characters)") % {"max": NAME_MAX},
            edit=True)


async def _ask_phone(ctx: Context) -> None:
    _ = ctx._
    ctx.answer()
    ctx.goto(FLOW, PHONE)
    ctx.say(_("What phone number can the office reach you on? Press the button below to share "
              "it, or type it."), keyboard=share_phone(_))


async def _ask_unit(ctx: Context) -> None:
    ctx.answer()
    await _unit_question(ctx)


async def _unit_question(ctx: Context) -> None:
    _ = ctx._
    buildings = await ctx.units.buildings() if await ctx.units.any_loaded() else []
    if len(buildings) > 1:
        ctx.goto(FLOW, BUILDING)
        ctx.say(_("Which building do you live in now?"),
                grid([button(b.name, FLOW, "bld", b.id) for b in buildings], 3))
        return
    ctx.data["building_id"] = buildings[0].id if buildings else None
    ctx.goto(FLOW, UNIT)
    ctx.say(_("What is your flat number now?") if buildings else
            _("What is your building and flat number now? For example: 3-1202"))


async def _name(ctx: Context) -> None:
    _ = ctx._
    name = clean_name(ctx.event.text) if ctx.event.kind == EventKind.TEXT else None
    if name is None:
        ctx.say(_("Please type your name (up to %(max)d characters).") % {"max": NAME_MAX})
        return
    resident = _resident(ctx)
    if name != resident.name:
        ctx.residents.record_change(resident, "name", resident.name, name)
        resident.name = name
        await ctx.tickets.refresh_cards_of(resident)
    await begin(ctx, done=_("Saved: your name is now %(name)s.") % {"name": name})


async def _phone(ctx: Context) -> None:
    _ = ctx._
    given = given_phone(ctx)
    if given is None:
        return  # (said why, and asked again)
    phone, verified = given
    resident = _resident(ctx)
    if phone != resident.phone:
        ctx.residents.record_change(resident, "phone", resident.phone, phone)
        resident.phone = phone
        await ctx.tickets.refresh_cards_of(resident)
    done = _("Saved: your phone is now %(phone)s.") % {"phone": phone}
    claimed = await ctx.tickets.claim_by_phone(resident) if verified else []
    if claimed:
        done += "\n" + claimed_text(ctx, claimed)
    ctx.say(_("Got it."), keyboard=main_menu(_))  # the share-phone keyboard goes away
    await begin(ctx, done=done)


async def _choose_building(ctx: Context) -> None:
    callback = ctx.callback
    building = await ctx.units.building(callback.int_arg() or 0) if callback else None
    if building is None:
        ctx.answer(ctx._("This button is no longer active."))
        return
    ctx.answer()
    ctx.data["building_id"] = building.id
    ctx.goto(FLOW, UNIT)
    ctx.say(ctx._("Building %(building)s. What is your flat number?") % {
        "building": building.name}, edit=True)


async def _building_by_buttons(ctx: Context) -> None:
    ctx.say(ctx._("Please choose your building with the buttons."))


async def _unit(ctx: Context) -> None:
    _ = ctx._
    text = " ".join((ctx.event.text or "").split()) if ctx.event.kind == EventKind.TEXT else ""
    if not text or len(text) > UNIT_TEXT_MAX:
        ctx.say(_("Please type your flat number (up to %(max)d characters).") % {
            "max": UNIT_TEXT_MAX})
        return
    building_id = ctx.data.get("building_id")
    if building_id:
        unit = await ctx.units.find(int(building_id), text)
        if unit is None:
            building = await ctx.units.building(int(building_id))
            ctx.data["unit_try"] = f"{building.name}-{text}" if building else text
            ctx.say(_("We could not find flat %(unit)s in building %(building)s. Please check "
                      "the number and type it again.") % {
                "unit": text, "building": building.name if building else ""},
                grid([button(_("My flat is not on the list"), FLOW, "unlisted")], 1))
            return
        await _moved(ctx, unit.id, None, unit.label)
    else:
        await _moved(ctx, None, text, text)


async def _unlisted(ctx: Context) -> None:
    typed = ctx.data.get("unit_try")
    if not typed:
        ctx.answer(ctx._("This button is no longer active."))
        return
    ctx.answer()
    await _moved(ctx, None, str(typed)[:UNIT_TEXT_MAX * 2], str(typed))


async def _moved(ctx: Context, unit_id: int | None, unit_text: str | None, label: str) -> None:
    """The resident's new unit: from the office's list (verified), or as typed."""
    resident = _resident(ctx)
    before = resident.unit_label
    if (resident.unit_id, resident.unit_text) != (unit_id, unit_text):
        resident.unit_id, resident.unit_text = unit_id, unit_text
        resident.unit_verified = unit_id is not None
        ctx.residents.record_change(resident, "unit", before, label)
    await ctx.session.flush()
    await ctx.session.refresh(resident, ["unit"])
    await begin(ctx, done=ctx._("Saved: your unit is now %(unit)s. Complaints already sent "
                                "keep the unit they were sent for.") % {"unit": label})


async def _done(ctx: Context) -> None:
    _ = ctx._
    ctx.answer()
    ctx.reset()
    ctx.say(_("Your details are kept. Thank you!"), edit=True)
    ctx.say(_("What would you like to do next?"), keyboard=main_menu(_))


def _resident(ctx: Context) -> Resident:
    assert ctx.resident is not None  # the engine opens /profile for registered residents only
    return ctx.resident


_back = {MENU: "saved: the details again"}
_by_buttons = Transition(_building_by_buttons)

TABLE = Flow(
    name=FLOW,
    steps=STEPS,
    starts={MENU: "/profile"},
    transitions={
        (MENU, Press("name")): Transition(_ask_name, {NAME: "Name"}),
        (MENU, Press("phone")): Transition(_ask_phone, {PHONE: "Phone"}),
        (MENU, Press("unit")): Transition(_ask_unit, {
            BUILDING: "Unit (several buildings)", UNIT: "Unit (one building, or no list)"}),
        (MENU, Press("done")): Transition(_done, {EXIT: "Done"}),
        **{(NAME, kind): Transition(_name, {MENU: "a name (1–64 characters): saved"})
           for kind in Input},
        **{(PHONE, kind): Transition(_phone, {MENU: "a phone (shared or typed): saved"})
           for kind in Input},
        (BUILDING, Press("bld")): Transition(_choose_building, {UNIT: "building button"}),
        **{(BUILDING, kind): _by_buttons for kind in Input},
        **{(UNIT, kind): Transition(_unit, {MENU: "a flat found (or any text without a "
                                                  "list): saved and audited"})
           for kind in Input},
        (UNIT, Press("unlisted")): Transition(_unlisted, {
            MENU: "My flat is not on the list (kept as typed, unverified)"}),
    },
    otherwise=_building_by_buttons,  # every input has its transition above
)
