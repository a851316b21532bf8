"""The JSON API under /api/v1: one router per domain, all errors as problem+json (web/problems.py)."""

from __future__ import annotations

from fastapi import APIRouter

from xietong.web.api import (
    accounts,
    attachments,
    audit,
    auth,
    calendar,
    cases,
    clients,
    designer,
    directory,
    documents,
    feed,
    granularity,
    integrations,
    matters,
    messaging,
    migration,
    monitor,
    notifications,
    oa,
    oversight,
    reorganisation,
    seals,
    shared_materials,
    staff,
    webhooks,
)

api_router = APIRouter(prefix="/api/v1")
for module in (auth, directory, matters, cases, attachments, audit, oversight):
    api_router.include_router(module.router)
api_router.include_router(calendar.router)
api_router.include_router(notifications.router)
api_router.include_router(staff.router)
api_router.include_router(accounts.router)
api_router.include_router(clients.router)
api_router.include_router(feed.router)
api_router.include_router(webhooks.router)
api_router.include_router(documents.router)
api_router.include_router(migration.router)
api_router.include_router(monitor.router)
api_router.include_router(integrations.router)
api_router.include_router(oa.router)
api_router.include_router(designer.router)
api_router.include_router(seals.router)
api_router.include_router(messaging.router)
api_router.include_router(reorganisation.router)
api_router.include_router(granularity.router)
api_router.include_router(shared_materials.router)
