"""The console's announcements page (web/console/announcements.py): managers only, each
announcement with its scope, time and delivery report."""

from __future__ import annotations

import pytest

from tests.chats import register
from tests.console_site import AGENT, MANAGER, Site, browser_of


@pytest.fixture
def transport() -> str:
    return "aiogram"  # the console does not depend on the framework


async def test_managers_see_the_announcements_and_how_they_went(site: Site) -> None:
    await register(site.resident, "Wang Fang", "2-301")
    await site.manager.send("/announce all\nThe lifts are serviced on Friday.")
    await site.manager.click("📢 Send", site.manager.last_with_text("Send it?"))
    await site.all_sent()
    async with browser_of(site, AGENT) as agent:
        status, _page = await agent.get("/console/announcements")
        assert status == 403
    async with browser_of(site, MANAGER) as manager:
        status, page = await manager.get("/console/announcements")
    assert status == 200
    assert 'id="announcement-1"' in page and "the whole property" in page
    assert "The lifts are serviced on Friday." in page
    assert "sent 1 · unreachable 0 · muted 0 · on the way 0" in page
