"""The office console under /console/: staff and managers work tickets in a browser, or inside
Telegram as a Mini App. Server-rendered pages (Jinja2 templates, a little script), everything
shipped in this package: no build step, nothing from a CDN.

Every route declares who may open it (`access.need`); the `guard` middleware enforces it,
and the CSRF token of every state-changing request. Every change goes through `tickets/`.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.app import ResidentDesk
from bot.settings import ConsoleSettings
from web.console import (
    admin,
    announcements,
    dashboard,
    erasure,
    incidents,
    intake,
    queue,
    replies,
    signin,
    ticket,
)
from web.console.access import DESK, SETTINGS, guard
from web.console.pages import pages_for_people, setup_templates

STATIC = Path(__file__).parent / "static"


def console_app(desk: ResidentDesk, settings: ConsoleSettings) -> web.Application:
    """The console as an aiohttp sub-application (mounted at /console/ by `web.app`)."""
    app = web.Application(middlewares=[pages_for_people, guard])
    app[DESK] = desk
    app[SETTINGS] = settings
    setup_templates(app)
    routes = app.router
    routes.add_get("/", queue.queue_page, name="queue")
    routes.add_get("/sign-in", signin.sign_in_page, name="sign_in")
    routes.add_post("/sign-in/telegram", signin.sign_in_telegram, name="sign_in_telegram")
    routes.add_get("/sign-in/{token}", signin.link_page, name="sign_in_link")
    routes.add_post("/sign-in/{token}", signin.link_spend)
    routes.add_post("/sign-out", signin.sign_out, name="sign_out")
    routes.add_post("/language", signin.choose_language, name="language")
    routes.add_get("/new", intake.new_complaint_page, name="new")
    routes.add_post("/new", intake.new_complaint)
    routes.add_get("/tickets/{ticket_id}", ticket.ticket_page, name="ticket")
    # (before the actions' route, which would take "phone" for an action's name)
    routes.add_post("/tickets/{ticket_id}/phone", ticket.show_phone, name="phone")
    routes.add_post("/tickets/{ticket_id}/{form}", ticket.act, name="act")
    routes.add_get("/files/{attachment_id}", ticket.evidence_file, name="file")
    routes.add_get("/residents/{resident_id}/erase", erasure.erase_page, name="erase")
    routes.add_post("/residents/{resident_id}/erase", erasure.erase)
    routes.add_get("/dashboard", dashboard.dashboard_page, name="dashboard")
    routes.add_get("/dashboard/export", dashboard.export_download, name="export")
    routes.add_get("/admin", admin.admin_page, name="admin")
    routes.add_get("/announcements", announcements.announcements_page, name="announcements")
    routes.add_get("/incidents", incidents.incidents_page, name="incidents")
    routes.add_post("/announcements", announcements.announce)
    routes.add_post("/announcements/{number}/cancel", announcements.cancel_announcement,
                    name="announcement_cancel")
    routes.add_post("/admin/staff", admin.staff_add, name="staff_add")
    routes.add_post("/admin/staff/{staff_id}", admin.staff_change, name="staff_change")
    routes.add_post("/admin/units", admin.units_import, name="units_import")
    routes.add_post("/admin/categories/{code}", admin.category_save, name="category_save")
    # (".../new" is the page of a new one: replies.template_page reads it)
    routes.add_get("/admin/templates/{template_id}", replies.template_page,
                   name="reply_template")
    routes.add_post("/admin/templates/{template_id}", replies.template_save)
    routes.add_static("/static/", STATIC, name="static")
    return app
