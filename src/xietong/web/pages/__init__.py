"""The server-rendered pages (Jinja2 + htmx): one router per area, the same services and queries as the API.

``install_pages(app)`` mounts the static files, the templates and the routers; templates live in
``web/templates/<area>/`` (htmx partials are ``_*.html``), static files in ``web/static/``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from xietong.web.pages import (
    account,
    admin,
    admin_accounts,
    admin_calendar,
    admin_directory,
    admin_people,
    admin_picker,
    admin_unit_posts,
    admin_units,
    auth,
    cases,
    designer,
    designer_form,
    designer_process,
    document_templates,
    granularity,
    integrations,
    matters,
    monitor,
    notifications,
    oa,
    shared_materials,
    workbench,
)
from xietong.web.pages import sso as sso_pages
from xietong.web.pages.rendering import make_templates

ROUTERS = (
    auth.router,
    workbench.router,
    cases.router,
    matters.router,
    notifications.router,
    oa.router,
    integrations.router,
    document_templates.router,
    monitor.router,
    designer.router,
    designer_process.router,
    designer_form.router,
    account.router,
    admin.router,
    admin_directory.router,
    admin_calendar.router,
    admin_people.router,
    admin_picker.router,
    admin_units.router,
    admin_unit_posts.router,
    admin_accounts.router,
    sso_pages.router,
    granularity.router,
    shared_materials.router,
)


def install_pages(app: FastAPI, *, timezone: str) -> None:
    app.state.templates = make_templates(timezone)
    app.mount("/static", StaticFiles(packages=[("xietong.web", "static")]), name="static")
    for router in ROUTERS:
        app.include_router(router)
