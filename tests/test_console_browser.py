"""The office console in a real browser: Chromium from Debian's packages (./dev installs it),
driven by Playwright, against a real replica serving the console on the emulator.

RESIDESK_SCREENSHOTS=docs ./dev test tests/test_console_browser.py redraws the README's
pictures of the console (docs/console-*.png); otherwise they go to the test's tmp dir.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.cli import remove_staff
from bot.demo import tiny_png
from bot.emulator.chat import ChatClient
from storage.models import Ticket
from tests.chats import register
from tests.console_site import MANAGER, Site

CHROMIUM = Path("/usr/bin/chromium")
# as this machine's notes say: no sandbox as root, and none of Chromium's own network calls
# (they are refused here, many at a time)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture
def transport() -> str:
    return "aiogram"


@pytest.fixture
def chromium() -> str:
    assert CHROMIUM.exists(), "Chromium is missing: ./dev installs Debian's chromium package"
    return str(CHROMIUM)


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium,
                                                    args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("RESIDESK_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def open_as_mini_app(site: Site, page: Page) -> None:
    """The manager writes /console to the bot and presses "Open in Telegram": the client
    opens the console with Telegram's signed launch data in the URL's fragment."""
    chat = ChatClient(site.emulator, site.emulator.user(MANAGER, "Manager Zhao"),
                      site.handled.wait)
    await chat.send("/console")
    url = site.emulator.open_web_app(chat.user, chat.last, "Open in Telegram")
    assert "#tgWebAppData=" in url
    await page.goto(url)
    # The page signs in by script and then moves to the queue: wait for that move, or the
    # test's next navigation races it.
    await expect(page.locator("header .name")).to_be_visible()


async def test_a_manager_works_a_ticket_to_resolved_in_the_browser(
        site: Site, browser: Browser, tmp_path: Path) -> None:
    ticket = await site.new_ticket("Water drips from the kitchen ceiling onto the floor.")
    await site.more_tickets()
    before = len(site.resident.messages)
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await open_as_mini_app(site, page)

    row = page.locator(f'tr[data-number="{ticket.number}"]')
    await expect(row).to_be_visible()
    await expect(page.locator("header .name")).to_contain_text("Manager Zhao")
    await page.screenshot(path=screenshots(tmp_path) / "console-queue.png")

    await row.get_by_role("link", name=ticket.number or "").click()
    await expect(page.locator("h1")).to_contain_text(ticket.number or "")
    await page.get_by_role("button", name="Acknowledge").click()
    await expect(page.get_by_role("status")).to_contain_text("Acknowledged")
    await page.get_by_role("button", name="Investigation").click()
    await expect(page.locator("#status")).to_have_text("under investigation")

    await page.locator("summary", has_text="Record findings").click()
    findings = page.locator('details[data-form="findings"]')
    await findings.locator('textarea[name="findings"]').fill("The drain pipe above leaks.")
    await findings.locator('select[name="severity"]').select_option("medium")
    await findings.locator('select[name="cause_category"]').select_option("facility")
    await findings.locator('textarea[name="cause"]').fill("A corroded pipe joint")
    await findings.get_by_role("button", name="Record findings").click()
    await expect(page.get_by_role("status")).to_contain_text("investigation record is saved")

    await page.locator("summary", has_text="Resolve").click()
    resolve = page.locator('details[data-form="resolve"]')
    await resolve.locator('select[name="type"]').select_option("repair")
    await resolve.locator('textarea[name="text"]').fill("The plumber replaced the pipe joint.")
    await resolve.get_by_role("button", name="Resolve").click()
    await expect(page.locator("#status")).to_have_text("resolved")
    await expect(page.locator("#timeline")).to_contain_text("The plumber replaced")
    await page.screenshot(path=screenshots(tmp_path) / "console-ticket.png", full_page=True)

    await site.settle(lambda: "has been resolved" in site.resident.last_text)
    await site.all_sent()
    said = [m.text or "" for m in site.resident.messages[before:]]
    assert len(said) == 3 and "taken up" in said[0] and "pipe joint" in said[2], said
    await site.settle(lambda: "Status: resolved" in site.card_text(ticket.number))

    await page.get_by_role("link", name="Dashboard").click()
    charts = page.locator("img[data-chart]")
    await expect(charts).to_have_count(4)
    for index in range(4):  # each SVG chart loaded and drawn (decode() waits for it to arrive)
        assert await charts.nth(index).evaluate(
            "img => img.decode().then(() => img.naturalWidth > 0)")
    await page.screenshot(path=screenshots(tmp_path) / "console-dashboard.png", full_page=True)

    await page.get_by_label("Language").select_option("zh_Hans")  # remembered with them
    await expect(page.locator("header nav")).to_contain_text("工单队列")
    await page.goto(f"{site.base}/console/")
    await expect(page.locator("header nav")).to_contain_text("统计面板")


async def test_the_phone_number_is_shown_by_a_press_that_is_recorded(
        site: Site, browser: Browser) -> None:
    ticket = await site.new_ticket()
    page = await browser.new_page()
    await open_as_mini_app(site, page)
    await page.goto(f"{site.base}/console/tickets/{ticket.id}")
    phone = page.locator("#phone")
    await expect(phone).not_to_contain_text("138")
    assert "8613800138000" not in await page.content()
    await phone.get_by_role("button", name="Show phone").click()
    await expect(phone.get_by_role("link", name="+8613800138000")).to_have_attribute(
        "href", "tel:+8613800138000")
    audit = page.locator("#personal-data")  # a manager sees who opened what, themselves too
    await expect(audit).to_contain_text("Manager Zhao")
    await expect(audit).to_contain_text("phone number")


async def test_a_manager_erases_a_residents_personal_data_after_confirming(
        site: Site, browser: Browser) -> None:
    ticket = await site.new_ticket()
    page = await browser.new_page()
    await open_as_mini_app(site, page)
    await page.goto(f"{site.base}/console/tickets/{ticket.id}")
    await page.get_by_role("link", name="Erase personal data…").click()
    await expect(page.locator("h1")).to_have_text("Erase personal data")
    await expect(page.locator("#open-tickets")).to_contain_text(ticket.number or "")
    await page.get_by_label("The resident asked for it").check()
    await page.get_by_role("button", name="Erase for good").click()
    await expect(page.get_by_role("status")).to_have_text("Personal data erased.")
    await expect(page.locator("h1")).to_contain_text(ticket.number or "")  # back on it
    await expect(page.locator("#erasure")).to_contain_text("Personal data erased on")
    assert "Wang Fang" not in await page.content()


async def test_a_reply_template_kept_on_admin_fills_the_message_in_place(
        site: Site, browser: Browser) -> None:
    ticket = await site.new_ticket()
    page = await browser.new_page()
    await open_as_mini_app(site, page)
    await page.goto(f"{site.base}/console/admin")
    await page.get_by_role("link", name="Add a template").click()
    await page.get_by_label("Title (for staff)").fill("On our way")
    await page.get_by_label("English").fill("Hello {name}, a plumber comes about No. {number}.")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("The reply template is saved.")
    await expect(page.locator("#template")).to_contain_text("On our way")

    await page.goto(f"{site.base}/console/tickets/{ticket.id}")
    await page.locator("summary", has_text="Message resident").click()
    message = page.locator('details[data-form="message"]')
    await message.get_by_label("Reply template").select_option(label="On our way")
    await message.get_by_role("button", name="Use").click()
    text = message.locator('textarea[name="text"]')
    filled = f"Hello Wang Fang, a plumber comes about No. {ticket.number}."
    await expect(text).to_have_value(filled)
    assert "template=" not in page.url  # filled in place by the script
    await text.fill(filled + " Tomorrow at 10.")  # changed before it goes
    await message.get_by_role("button", name="Message resident").click()
    await expect(page.get_by_role("status")).to_contain_text("on its way to the resident")
    await site.settle(lambda: "Tomorrow at 10." in site.resident.last_text)
    assert filled in site.resident.last_text


async def test_forged_launch_data_leaves_the_browser_signed_out(site: Site,
                                                                browser: Browser) -> None:
    page = await browser.new_page()
    good = site.emulator.web_app_init_data(site.emulator.user(MANAGER, "Manager Zhao"))
    forged = good.replace("Manager", "Mallory")
    await page.goto(f"{site.base}/console/sign-in#tgWebAppData={quote(forged)}")
    await expect(page.locator(".refused")).to_be_visible()
    await page.goto(f"{site.base}/console/")
    await expect(page).to_have_url(f"{site.base}/console/sign-in?next=/console/")


async def test_a_removed_staff_member_and_a_forged_form_are_refused(
        site: Site, browser: Browser) -> None:
    ticket = await site.new_ticket()
    page = await browser.new_page()
    await open_as_mini_app(site, page)
    await expect(page.locator(f'tr[data-number="{ticket.number}"]')).to_be_visible()
    await page.goto(f"{site.base}/console/tickets/{ticket.id}")
    # a form whose CSRF token is not the session's (as a forged cross-site post would be)
    await page.locator('form[action$="/acknowledge"] input[name="csrf"]').evaluate(
        "input => input.value = 'forged'")
    await page.locator('form[action$="/acknowledge"] button').click()
    await expect(page.locator("body")).to_contain_text("the form was out of date")
    async with site.desk.db.reading() as session:
        current = await session.get(Ticket, ticket.id)
        assert current is not None and current.status == "new"

    async with site.desk.db.transaction() as session:
        await remove_staff(session, MANAGER)
    await page.goto(f"{site.base}/console/tickets/{ticket.id}")
    await expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))


async def test_a_hotline_complaint_with_a_photo_on_the_form(
        site: Site, browser: Browser, tmp_path: Path) -> None:
    page = await browser.new_page()
    await open_as_mini_app(site, page)
    await page.get_by_role("link", name="New complaint").click()
    form = page.locator("form.intake")
    await form.get_by_label("Name").fill("Wang Fang")
    await form.get_by_label("Phone").fill("+86 138 0013 8000")
    await form.get_by_label("Unit").fill("2-301")
    await form.get_by_label("Category").select_option("noise")
    await form.locator('textarea[name="description"]').fill(
        "Loud music from 2-401 every night after midnight.")
    await form.locator('select[name="channel"]').select_option("hotline")
    photo = tmp_path / "music.png"
    photo.write_bytes(tiny_png((200, 40, 40)))
    await form.locator('input[type="file"]').set_input_files(str(photo))
    await form.get_by_role("button", name="Register the complaint").click()
    notice = page.get_by_role("status")
    await expect(notice).to_contain_text("The complaint is registered as No.")
    number = re.search(r"No\. ([\d-]+)", await notice.inner_text())
    assert number
    await expect(page.locator("#evidence img")).to_have_count(1)
    # (loaded: read once it has arrived, not when the tag has)
    await expect(page.locator("#evidence img")).to_have_js_property("naturalWidth", 8)

    await register(site.resident, "Wang Fang", "2-301")
    await site.resident.send("/mytickets")
    assert any(number.group(1) in b.text for row in site.resident.last.inline_buttons
               for b in row)


async def test_a_manager_announces_with_a_photo_from_the_form(
        site: Site, browser: Browser, tmp_path: Path) -> None:
    await register(site.resident, "Wang Fang", "2-301")
    page = await browser.new_page()
    await open_as_mini_app(site, page)
    await page.get_by_role("link", name="Announcements").click()
    form = page.locator("#new-announcement")
    await form.get_by_label("Text for everyone").fill("")
    await form.get_by_role("button", name="📢 Send").click()
    await expect(page.locator('[data-field="text"]')).to_contain_text("Please write the text")
    form = page.locator("#new-announcement")
    await form.get_by_label("Text for everyone").fill("The bicycle shed opens on Monday.")
    photo = tmp_path / "shed.png"
    photo.write_bytes(tiny_png((40, 200, 40)))
    await form.locator('input[type="file"]').set_input_files(str(photo))
    await form.get_by_role("button", name="📢 Send").click()
    await expect(page.get_by_role("status")).to_contain_text(
        "Announcement No. 1 saved: it goes now.")
    await site.all_sent()
    await site.settle(lambda: any(m.kind == "photo" for m in site.resident.messages))
    shed = [m for m in site.resident.messages if m.kind == "photo"][-1]
    assert (shed.text or "").endswith("The bicycle shed opens on Monday.")


async def test_the_pages_fit_a_phone_screen(site: Site, browser: Browser) -> None:
    ticket = await site.new_ticket()
    await site.more_tickets()
    await site.manager.send("/announce all\nThe lifts are serviced on Friday from 9:00 to 12:00.")
    await site.manager.click("📢 Send", site.manager.last_with_text("Send it?"))
    page = await browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    await open_as_mini_app(site, page)
    for path in ("/console/", f"/console/tickets/{ticket.id}", "/console/new",
                 "/console/dashboard", "/console/admin", "/console/incidents",
                 "/console/announcements",
                 f"/console/residents/{ticket.resident_id}/erase"):
        await page.goto(site.base + path)
        width = await page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 390, (path, width)  # nothing wider than the screen
