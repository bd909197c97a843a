"""Registration, once per resident: name, phone, building and unit. Diagram: registration.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from conversations import privacy
from conversations.context import Context
from conversations.events import EventKind
from conversations.flow import EXIT, Flow, Input, Press, Transition
from conversations.keyboards import Prefix, button, grid, main_menu, share_phone
from storage.models import Resident, Ticket, utcnow
from tickets.policy import NAME_MAX, UNIT_TEXT_MAX, normalize_phone, shared_phone

FLOW = Prefix.REGISTRATION
CONSENT = "consent"  # the privacy notice, agreed to before anything is asked
NAME = "name"
PHONE = "phone"
BUILDING = "building"
UNIT = "unit"
STEPS = (CONSENT, NAME, PHONE, BUILDING, UNIT)


async def begin(ctx: Context) -> None:
    """Start registration; a deep-link invite token (`/start <token>`) fixes the unit."""
    _ = ctx._
    ctx.reset()
    token = ctx.event.command_args.strip()
    if token:
        invite = await ctx.units.invite(token[:64])
        if invite is not None and invite.used_by_resident_id is None:
            ctx.data["unit_id"] = invite.unit_id
            ctx.data["invite"] = invite.token
        else:
            ctx.say(_("This invitation link is not valid any more; you can still register."))
    ctx.goto(FLOW, CONSENT)
    privacy.show_notice(ctx, FLOW, "\n\n".join((
        _("Welcome to the residents' service desk! Here you can report problems to the "
          "property management office and follow how they are handled."),
        _("First, a one-time registration. Before it asks for your name, please read how "
          "your data is handled:"))))


async def _agreed(ctx: Context) -> None:
    _ = ctx._
    version = privacy.pressed_version(ctx)
    if version is None:  # the office changed the notice since it was shown
        ctx.answer(_("The notice has changed since; here is the new one."))
        privacy.show_notice(ctx, FLOW)
        return
    ctx.answer(_("Thank you."))
    ctx.data["privacy"] = {"version": version, "at": utcnow().isoformat()}
    ctx.goto(FLOW, NAME)
    ctx.say(_("Thank you. What is your name?"), remove_keyboard=True)


async def _declined(ctx: Context) -> None:
    ctx.answer()
    ctx.reset()
    ctx.say(ctx._("Understood; nothing was saved. Without your agreement the office cannot "
                  "take your requests in this chat. Send /start if you change your mind."))


async def _agree_please(ctx: Context) -> None:
    privacy.show_notice(ctx, FLOW, ctx._("Please press “I agree” below to register, or "
                                         "“Not now”."))


def clean_name(text: str | None) -> str | None:
    """A name as kept: spaces tidied; None when empty or longer than NAME_MAX."""
    name = " ".join((text or "").split())
    return name if 0 < len(name) <= NAME_MAX else None


async def _name(ctx: Context) -> None:
    _ = ctx._
    event = ctx.event
    name = " ".join((event.text or "").split())
    if event.kind != EventKind.TEXT or not name:
        ctx.say(_("Please type your name."))
    elif clean_name(name) is None:
        ctx.say(_("That is too long for a name. Please use at most %(max)d characters.")
                % {"max": NAME_MAX})
    else:
        ctx.data["name"] = name
        ctx.goto(FLOW, PHONE)
        ctx.say(
            _("Thank you, %(name)s. What phone number can the office reach you on? "
              "Press the button below to share it, or type it.") % {"name": name},
            keyboard=share_phone(_),
        )


async def _building_by_buttons(ctx: Context) -> None:
    await _ask_building(ctx, ctx._("Please choose your building with the buttons."))


async def _another_building(ctx: Context) -> None:
    ctx.answer()
    await _ask_building(ctx, ctx._("Which building do you live in?"))


async def _flat_not_listed(ctx: Context) -> None:
    if not ctx.data.get("unit_try"):
        ctx.answer(ctx._("This button is no longer active."))
        return
    ctx.answer()
    await _unlisted(ctx)


def given_phone(ctx: Context) -> tuple[str, bool] | None:
    """The phone the resident shared or typed, in E.164, and whether Telegram vouches for it
    (shared from their own account); None after saying why it is not one."""
    _ = ctx._
    event = ctx.event
    if event.kind == EventKind.CONTACT:
        if event.contact_user_id not in (None, event.sender.user_id):
            ctx.say(_("Please share your own phone number, not someone else's contact."),
                    keyboard=share_phone(_))
            return None
        phone = shared_phone(event.phone or "", ctx.office.phone_region)
    elif event.kind == EventKind.TEXT:
        phone = normalize_phone(event.text or "", ctx.office.phone_region)
    else:
        phone = None
    if phone is None:
        ctx.say(_("That does not look like a phone number. Please type it with digits only, "
                  "for example +86 138 0013 8000, or press the button below."),
                keyboard=share_phone(_))
        return None
    # a typed number is only what they say: it must not hand them complaints the office took
    # for that number
    return phone, (event.kind == EventKind.CONTACT
                   and event.contact_user_id == event.sender.user_id)


async def _phone(ctx: Context) -> None:
    _ = ctx._
    given = given_phone(ctx)
    if given is None:
        return
    ctx.data["phone"], ctx.data["phone_verified"] = given
    if ctx.data.get("unit_id"):
        await _finish(ctx)
    elif await ctx.units.any_loaded():
        await _ask_building(ctx, _("Thank you. Which building do you live in?"), new=True)
    else:
        ctx.goto(FLOW, UNIT)
        ctx.say(_("Thank you. What is your building and flat number? For example: 3-1202"),
                remove_keyboard=True)


async def _ask_building(ctx: Context, text: str, *, new: bool = False) -> None:
    buildings = await ctx.units.buildings()
    if len(buildings) == 1:
        ctx.data["building_id"] = buildings[0].id
        ctx.goto(FLOW, UNIT)
        ctx.say(ctx._("Thank you. What is your flat number in building %(building)s?")
                % {"building": buildings[0].name}, remove_keyboard=True)
        return
    ctx.goto(FLOW, BUILDING)
    if new:  # take the share-phone keyboard away before showing inline buttons
        ctx.say(ctx._("Got it."), remove_keyboard=True)
    ctx.say(text, grid([button(b.name, FLOW, "bld", b.id) for b in buildings], 3))


async def _choose_building(ctx: Context) -> None:
    _ = ctx._
    callback = ctx.callback
    building_id = callback.int_arg() if callback else None
    building = await ctx.units.building(building_id) if building_id else None
    if building is None:
        ctx.answer(_("This button is no longer active."))
        return
    ctx.answer()
    ctx.data["building_id"] = building.id
    ctx.goto(FLOW, UNIT)
    ctx.say(_("Building %(building)s. What is your flat number?") % {"building": building.name},
            edit=True)


async def _unit(ctx: Context) -> None:
    _ = ctx._
    text = " ".join((ctx.event.text or "").split())
    if ctx.event.kind != EventKind.TEXT or not text:
        ctx.say(_("Please type your flat number."))
        return
    if len(text) > UNIT_TEXT_MAX:
        ctx.say(_("That is too long for a flat number. Please use at most %(max)d characters.")
                % {"max": UNIT_TEXT_MAX})
        return
    building_id = ctx.data.get("building_id")
    if building_id:
        unit = await ctx.units.find(int(building_id), text)
        if unit is None:
            building = await ctx.units.building(int(building_id))
            ctx.data["unit_try"] = text
            choices = [button(_("My flat is not on the list"), FLOW, "unlisted")]
            if len(await ctx.units.buildings()) > 1:
                choices.insert(0, button(_("Choose another building"), FLOW, "other"))
            ctx.say(
                _("We could not find flat %(unit)s in building %(building)s. Please check the "
                  "number and type it again.") % {"unit": text,
                                                  "building": building.name if building else ""},
                grid(choices, 1),
            )
            return
        ctx.data["unit_id"] = unit.id
    else:
        ctx.data["unit_text"] = text
    await _finish(ctx)


async def _unlisted(ctx: Context) -> None:
    """A flat missing from the office's list: registered as typed, marked unverified."""
    building = await ctx.units.building(int(ctx.data.get("building_id") or 0))
    prefix = f"{building.name}-" if building else ""
    ctx.data["unit_text"] = (prefix + str(ctx.data["unit_try"]))[:UNIT_TEXT_MAX * 2]
    ctx.data.pop("building_id", None)
    await _finish(ctx)


async def _finish(ctx: Context) -> None:
    ev = ctx.event
    resident = await ctx.residents.by_user(ev.sender.user_id)
    if resident is None:
        resident = Resident(telegram_user_id=ev.sender.user_id)
        ctx.residents.add(resident)
    resident.chat_id = ev.sender.chat_id
    resident.name = ctx.data["name"]
    resident.phone = ctx.data["phone"]
    resident.language = ctx.lang
    resident.reachable = True
    agreed = ctx.data.get("privacy") or {}
    resident.privacy_version = agreed.get("version")
    resident.privacy_agreed_at = (datetime.fromisoformat(agreed["at"]) if agreed.get("at")
                                  else None)
    unit_id = ctx.data.get("unit_id")
    resident.unit_id = int(unit_id) if unit_id else None
    resident.unit_text = None if unit_id else ctx.data.get("unit_text")
    resident.unit_verified = bool(unit_id)
    await ctx.session.flush()
    if ctx.data.get("invite") and not await ctx.units.use_invite(ctx.data["invite"], resident.id):
        # someone else finished registering with the same link first
        resident.unit_id, resident.unit_verified = None, False
        ctx.data.pop("invite"), ctx.data.pop("unit_id")
        ctx.resident = resident
        _ = ctx._
        if await ctx.units.any_loaded():
            await _ask_building(ctx, _("This invitation link has just been used by someone "
                                       "else. Which building do you live in?"), new=True)
        else:
            ctx.goto(FLOW, UNIT)
            ctx.say(_("This invitation link has just been used by someone else. What is your "
                      "building and flat number?"), remove_keyboard=True)
        return
    unit = await ctx.units.get(resident.unit_id) if resident.unit_id else None
    ctx.resident = resident
    phone_verified = bool(ctx.data.get("phone_verified"))
    ctx.reset()
    _ = ctx._
    text = _("You are registered: %(name)s, %(unit)s. Thank you!\n\n"
             "Press “Report a problem” whenever something needs the office's attention.") % {
        "name": resident.name, "unit": unit.label if unit else resident.unit_text}
    # complaints the office took for this number by phone or at the desk are theirs now
    claimed = await ctx.tickets.claim_by_phone(resident) if phone_verified else []
    if claimed:
        text += "\n\n" + claimed_text(ctx, claimed)
    ctx.say(text, keyboard=main_menu(_))


def claimed_text(ctx: Context, claimed: Sequence[Ticket]) -> str:
    """The complaints the office had logged for the resident's number, now theirs."""
    return ctx.ngettext(
        "The office already has a complaint from you: No. %(numbers)s. You will get its "
        "news here; see /mytickets.",
        "The office already has complaints from you: No. %(numbers)s. You will get their "
        "news here; see /mytickets.", len(claimed)) % {
        "numbers": ", ".join(t.number or "" for t in claimed)}


_typed_name = Transition(_name, {PHONE: "a name (1–64 characters)"})
_given_phone = Transition(_phone, {
    BUILDING: "a phone (shared contact or typed), unit list loaded, several buildings; or "
              "the invite was used by someone else meanwhile",
    UNIT: "a phone, one building or no unit list",
    EXIT: "a phone, unit known from the invite"})
_typed_flat = Transition(_unit, {
    EXIT: "a known unit (or any text when no list is loaded: unverified)"})
_buttons_please = Transition(_building_by_buttons, {UNIT: "typed, and one building is left"})

TABLE = Flow(
    name=FLOW,
    steps=STEPS,
    starts={CONSENT: "/start (not registered)"},
    transitions={
        (CONSENT, Press(privacy.AGREE)): Transition(_agreed, {
            NAME: "I agree (the version shown is still the office's)"}),
        (CONSENT, Press(privacy.DECLINE)): Transition(_declined, {
            EXIT: "Not now (nothing saved)"}),
        **{(CONSENT, kind): Transition(_agree_please) for kind in Input},
        **{(NAME, kind): _typed_name for kind in Input},
        **{(PHONE, kind): _given_phone for kind in Input},
        (BUILDING, Press("bld")): Transition(_choose_building, {UNIT: "building button"}),
        **{(BUILDING, kind): _buttons_please for kind in Input},
        **{(UNIT, kind): _typed_flat for kind in Input},
        (UNIT, Press("other")): Transition(_another_building, {
            BUILDING: "Choose another building (a flat not found)"}),
        (UNIT, Press("unlisted")): Transition(_flat_not_listed, {
            EXIT: "My flat is not on the list (registered as typed, unverified)"}),
    },
    otherwise=_building_by_buttons,  # every input has its transition above
)
