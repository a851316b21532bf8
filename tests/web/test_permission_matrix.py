"""The generated permission matrix (issue 11 item 3): every route of the app, walked by people of every role
from another unit and another region, and by an application client of the other region.

``MATRIX`` classifies every route (method, path template); a route the app serves that the matrix does not
classify fails ``test_every_route_is_classified`` — a new endpoint must say what its scope is.

City A holds a case (with a marker in its title, an uploaded attachment, tasks, events). The outsiders —
clerk/applicant, handler, section chief, unit leader, county supervisor and the three administrators of city
B, a clerk of an uninvolved unit of city A's own region, and an API client of city B — then:

- read every GET route: no answer (JSON, HTML, xlsx cells, PDF text) contains the case's marker or number;
- call every route naming one of A's objects (case, task, attachment, document, order): the answer is exactly
  the answer for an id that does not exist (status and problem code), 404 for reads;
- and after all of it, A's case has not changed (no event appended, same status and tasks).

The fixture is built once per module (per xdist worker) on the shared worker database.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import Engine, func, select

from tests.factories import City, joint_approval_process, publish_matter
from tests.web.conftest import PASSWORD, Api
from tests.web.test_api_cases import _task
from xietong.cases.models import Case, Event
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.directory.models import Person
from xietong.engine.models import Task
from xietong.materials.models import SharedMaterialVersion
from xietong.security.models import Credential, RoleGrant
from xietong.security.passwords import hash_password
from xietong.worker.loop import run_once

MISSING = 9_000_000_000_000  # an id no row has

# kind of every route: how its scope is checked
PUBLIC = "public"  # no log-in needed
OWN = "own"  # the caller's own account, tasks, notifications, opinions
CASE, TASK, ATTACHMENT, DOCUMENT, ORDER = "case", "task", "attachment", "document", "order"
SHARED = "shared_material"  # a unit's standing document (共享材料库): its unit's keepers only
OBJECT_KINDS = {CASE: "case_id", TASK: "task_id", ATTACHMENT: "attachment_id", DOCUMENT: "document_id",
                ORDER: "order_id", SHARED: "shared_material_id"}
LIST = "list"  # a list, search, export or statistic: rows filtered by scope
DIRECTORY = "directory"  # units, posts, people, matters, calendar: readable by every logged-in person
ADMIN = "admin"  # an administrator's action, checked by area and scope (security/permissions.py: ADMIN_ROLES)
CLIENT = "client"  # the data service, for application clients

MATRIX: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): PUBLIC, ("GET", "/docs"): PUBLIC, ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC, ("GET", "/healthz"): PUBLIC, ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC, ("GET", "/static"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC, ("POST", "/api/v1/auth/logout"): OWN, ("GET", "/api/v1/auth/me"): OWN,
    ("POST", "/api/v1/auth/password"): OWN, ("POST", "/api/v1/auth/totp"): OWN,
    ("POST", "/api/v1/auth/totp/confirm"): OWN, ("DELETE", "/api/v1/auth/totp"): OWN,
    ("GET", "/api/v1/auth/tokens"): OWN, ("POST", "/api/v1/auth/tokens"): OWN,
    ("DELETE", "/api/v1/auth/tokens/{token_id}"): OWN,
    ("GET", "/api/v1/directory/regions"): DIRECTORY, ("POST", "/api/v1/directory/regions"): ADMIN,
    ("GET", "/api/v1/directory/units"): DIRECTORY, ("GET", "/api/v1/directory/units/{unit_id}"): DIRECTORY,
    ("POST", "/api/v1/directory/units"): ADMIN, ("PATCH", "/api/v1/directory/units/{unit_id}"): ADMIN,
    ("DELETE", "/api/v1/directory/units/{unit_id}"): ADMIN,
    ("GET", "/api/v1/directory/units/{unit_id}/posts"): DIRECTORY,
    ("POST", "/api/v1/directory/units/{unit_id}/posts"): ADMIN,
    ("GET", "/api/v1/directory/units/{unit_id}/people"): DIRECTORY,
    ("GET", "/api/v1/directory/people/{person_id}"): DIRECTORY, ("POST", "/api/v1/directory/people"): ADMIN,
    ("PATCH", "/api/v1/directory/people/{person_id}"): ADMIN,
    ("PUT", "/api/v1/directory/people/{person_id}/memberships"): ADMIN,
    ("POST", "/api/v1/directory/import/units"): ADMIN, ("POST", "/api/v1/directory/import/people"): ADMIN,
    ("GET", "/api/v1/directory/export/units"): DIRECTORY, ("GET", "/api/v1/directory/export/people"): ADMIN,
    ("GET", "/api/v1/matters"): DIRECTORY, ("GET", "/api/v1/matters/{local_matter_id}"): DIRECTORY,
    ("POST", "/api/v1/matters/process/import-bpmn"): ADMIN,
    ("GET", "/api/v1/matters/versions/{version_id}/process.bpmn"): DIRECTORY,
    ("POST", "/api/v1/matters/base"): ADMIN, ("POST", "/api/v1/matters"): ADMIN,
    ("POST", "/api/v1/matters/{local_matter_id}/versions"): ADMIN,
    ("POST", "/api/v1/matters/versions/{version_id}/publish"): ADMIN,
    ("POST", "/api/v1/matters/{local_matter_id}/retire"): ADMIN,
    ("GET", "/api/v1/matters/{local_matter_id}/migration"): ADMIN,
    ("POST", "/api/v1/matters/{local_matter_id}/migration"): ADMIN,
    ("POST", "/api/v1/matters/{local_matter_id}/migration/revert"): ADMIN,
    ("POST", "/api/v1/cases"): OWN, ("GET", "/api/v1/cases"): LIST,
    ("GET", "/api/v1/cases/{case_id}"): CASE, ("GET", "/api/v1/cases/{case_id}/events"): CASE,
    ("POST", "/api/v1/cases/{case_id}/accept"): CASE, ("POST", "/api/v1/cases/{case_id}/reject"): CASE,
    ("POST", "/api/v1/cases/{case_id}/withdraw"): CASE, ("POST", "/api/v1/cases/{case_id}/conclude"): CASE,
    ("POST", "/api/v1/cases/{case_id}/archive"): CASE,
    ("POST", "/api/v1/cases/{case_id}/supplement"): CASE, ("POST", "/api/v1/cases/{case_id}/resubmit"): CASE,
    ("POST", "/api/v1/cases/{case_id}/suspend"): CASE, ("POST", "/api/v1/cases/{case_id}/resume"): CASE,
    ("POST", "/api/v1/cases/{case_id}/special-procedures"): CASE,
    ("POST", "/api/v1/cases/{case_id}/special-procedures/end"): CASE,
    ("POST", "/api/v1/cases/{case_id}/extension"): CASE,
    ("POST", "/api/v1/cases/{case_id}/urge"): CASE, ("GET", "/api/v1/cases/{case_id}/urges"): CASE,
    ("POST", "/api/v1/cases/{case_id}/copies"): CASE, ("GET", "/api/v1/cases/{case_id}/copies"): CASE,
    ("POST", "/api/v1/cases/{case_id}/supervision"): CASE, ("GET", "/api/v1/cases/{case_id}/orders"): CASE,
    ("POST", "/api/v1/cases/{case_id}/rating"): CASE, ("GET", "/api/v1/cases/{case_id}/rating"): CASE,
    ("GET", "/api/v1/cases/{case_id}/documents"): CASE,
    ("GET", "/api/v1/cases/{case_id}/approval-sheet.pdf"): CASE,
    ("GET", "/api/v1/tasks/todo"): OWN, ("GET", "/api/v1/tasks/done"): OWN,
    ("POST", "/api/v1/tasks/batch-complete"): OWN,
    ("POST", "/api/v1/tasks/{task_id}/claim"): TASK, ("POST", "/api/v1/tasks/{task_id}/complete"): TASK,
    ("POST", "/api/v1/tasks/{task_id}/release"): TASK, ("POST", "/api/v1/tasks/{task_id}/delegate"): TASK,
    ("POST", "/api/v1/tasks/{task_id}/hand-back"): TASK, ("GET", "/api/v1/tasks/{task_id}/return-targets"): TASK,
    ("POST", "/api/v1/tasks/{task_id}/return"): TASK, ("POST", "/api/v1/tasks/{task_id}/transfer"): TASK,
    ("POST", "/api/v1/tasks/{task_id}/signers"): TASK, ("POST", "/api/v1/tasks/{task_id}/signers/remove"): TASK,
    ("POST", "/api/v1/tasks/{task_id}/withdraw"): TASK,
    ("POST", "/api/v1/attachments"): OWN, ("GET", "/api/v1/attachments/{attachment_id}"): ATTACHMENT,
    ("GET", "/api/v1/audit"): ADMIN, ("GET", "/api/v1/audit/verify"): ADMIN,
    ("GET", "/api/v1/copies/mine"): OWN, ("GET", "/api/v1/orders"): LIST,
    ("POST", "/api/v1/orders/{order_id}/answer"): ORDER, ("POST", "/api/v1/orders/{order_id}/close"): ORDER,
    ("POST", "/api/v1/orders/{order_id}/send-back"): ORDER,
    ("GET", "/api/v1/opinions"): OWN, ("POST", "/api/v1/opinions"): OWN, ("PUT", "/api/v1/opinions/order"): OWN,
    ("PUT", "/api/v1/opinions/{opinion_id}"): OWN, ("DELETE", "/api/v1/opinions/{opinion_id}"): OWN,
    ("GET", "/api/v1/calendar/years/{year}"): DIRECTORY, ("GET", "/api/v1/calendar/days/{day}"): DIRECTORY,
    ("PUT", "/api/v1/calendar/days/{day}"): ADMIN, ("DELETE", "/api/v1/calendar/days/{day}"): ADMIN,
    ("POST", "/api/v1/calendar/import"): ADMIN, ("GET", "/api/v1/calendar/export"): DIRECTORY,
    ("GET", "/api/v1/notifications"): OWN, ("GET", "/api/v1/notifications/unread-count"): OWN,
    ("POST", "/api/v1/notifications/read-all"): OWN, ("POST", "/api/v1/notifications/{notification_id}/read"): OWN,
    ("GET", "/api/v1/people/{person_id}/handover"): ADMIN, ("POST", "/api/v1/people/{person_id}/handover"): ADMIN,
    ("POST", "/api/v1/directory/reorganisations/plan"): ADMIN, ("POST", "/api/v1/directory/reorganisations"): ADMIN,
    ("GET", "/api/v1/accounts"): ADMIN, ("POST", "/api/v1/accounts/{person_id}/roles"): ADMIN,
    ("DELETE", "/api/v1/accounts/{person_id}/roles/{role}"): ADMIN,
    ("POST", "/api/v1/accounts/{person_id}/unlock"): ADMIN,
    ("POST", "/api/v1/clients"): ADMIN, ("GET", "/api/v1/clients"): ADMIN,
    ("GET", "/api/v1/clients/{client_pk}"): ADMIN, ("POST", "/api/v1/clients/{client_pk}/disable"): ADMIN,
    ("POST", "/api/v1/clients/{client_pk}/subscriptions"): ADMIN,
    ("GET", "/api/v1/clients/{client_pk}/subscriptions"): ADMIN,
    ("POST", "/api/v1/subscriptions/{subscription_id}/{action}"): ADMIN,
    ("GET", "/api/v1/subscriptions/{subscription_id}/deliveries"): ADMIN,
    ("GET", "/api/v1/webhooks/dead-letters"): ADMIN,
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/replay"): ADMIN,
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/skip"): ADMIN,
    ("POST", "/api/v1/oauth/token"): PUBLIC, ("GET", "/api/v1/events"): CLIENT,
    ("GET", "/api/v1/export/{library}.{fmt}"): CLIENT,
    ("GET", "/api/v1/documents/{document_id}.pdf"): DOCUMENT,
    ("GET", "/api/v1/document-templates"): DIRECTORY,  # template texts, no case data: any logged-in person
    ("PUT", "/api/v1/document-templates/{kind}"): ADMIN,
    ("POST", "/api/v1/document-templates/{kind}/preview"): ADMIN,
    ("GET", "/api/v1/monitor/figures"): LIST, ("GET", "/api/v1/monitor/ranking"): LIST,
    ("GET", "/api/v1/monitor/cards"): LIST, ("GET", "/api/v1/monitor/bottlenecks"): LIST,
    ("GET", "/api/v1/monitor/cases"): LIST, ("GET", "/api/v1/monitor/reductions"): LIST,
    ("GET", "/api/v1/monitor/export/{table}.xlsx"): LIST, ("GET", "/api/v1/monitor/bulletin"): LIST,
    # pages
    ("GET", "/"): PUBLIC, ("GET", "/login"): PUBLIC, ("POST", "/login"): PUBLIC, ("POST", "/logout"): OWN,
    ("GET", "/workbench"): OWN, ("GET", "/cases/{case_id}"): CASE,
    ("GET", "/cases/{case_id}/actions/{key}"): CASE, ("POST", "/cases/{case_id}/actions/{key}"): CASE,
    ("GET", "/matters"): DIRECTORY, ("GET", "/matters/{matter_id}"): DIRECTORY,
    ("GET", "/matters/{matter_id}/apply"): DIRECTORY, ("POST", "/matters/{matter_id}/apply"): OWN,
    ("POST", "/matters/{matter_id}/uploads/{code}"): OWN,
    ("GET", "/notifications"): OWN, ("POST", "/notifications/{notification_id}/read"): OWN,
    ("POST", "/notifications/read-all"): OWN,
    # routes of this session's merges (integrations, OA, seals, designer, admin, monitor, account, drafts)
    ("GET", "/account"): OWN,
    ("POST", "/account/password"): OWN,
    ("POST", "/account/totp"): OWN,
    ("POST", "/account/totp/confirm"): OWN,
    ("POST", "/account/totp/remove"): OWN,
    ("POST", "/matters/{matter_id}/draft"): OWN,
    ("POST", "/matters/{matter_id}/draft/delete"): OWN,
    ("GET", "/api/v1/notifications/channels"): OWN,
    ("PUT", "/api/v1/notifications/channels"): OWN,
    ("POST", "/api/v1/archive/check"): OWN,
    ("POST", "/api/v1/seals/verify"): OWN,
    ("POST", "/api/v1/oa/documents/{document_id}/decline"): OWN,
    ("POST", "/api/v1/oa/documents/{document_id}/start"): OWN,
    ("POST", "/oa/{document_id}/decline"): OWN,
    ("POST", "/oa/{document_id}/start"): OWN,
    ("GET", "/standins/archive"): PUBLIC,
    ("GET", "/standins/eseal"): PUBLIC,
    ("GET", "/standins/messaging"): PUBLIC,
    ("GET", "/standins/oa"): PUBLIC,
    ("GET", "/standins/province"): PUBLIC,
    ("GET", "/standins/oidc"): PUBLIC,
    ("POST", "/api/v1/oa/documents"): PUBLIC,
    ("GET", "/api/v1/cases/{case_id}/archive-package"): CASE,
    ("GET", "/api/v1/cases/{case_id}/archive-package.zip"): CASE,
    ("GET", "/api/v1/cases/{case_id}/seal"): CASE,
    ("GET", "/api/v1/cases/{case_id}/sealed-result.pdf"): CASE,
    ("GET", "/cases/{case_id}/actions/{key}/people"): CASE,
    ("GET", "/api/v1/units/{unit_id}/seal"): DIRECTORY,
    ("GET", "/api/v1/units/{unit_id}/seal.png"): DIRECTORY,
    ("GET", "/api/v1/oa/documents"): LIST,
    ("GET", "/api/v1/oa/documents/{document_id}"): LIST,
    ("GET", "/oa"): LIST,
    ("GET", "/oa/{document_id}"): LIST,
    ("GET", "/oa/{document_id}/start"): LIST,
    ("GET", "/monitor"): LIST,
    ("GET", "/monitor/cases"): LIST,
    ("GET", "/monitor/matters/{local_matter_id}"): LIST,
    ("GET", "/monitor/matters/{local_matter_id}/panel"): LIST,
    ("GET", "/monitor/panel"): LIST,
    ("GET", "/monitor/units/{unit_id}"): LIST,
    ("GET", "/monitor/units/{unit_id}/panel"): LIST,
    ("GET", "/admin"): ADMIN,
    ("GET", "/admin/calendar"): ADMIN,
    ("GET", "/admin/directory"): ADMIN,
    ("GET", "/admin/directory/people/new"): ADMIN,
    ("GET", "/admin/directory/people/{person_id}"): ADMIN,
    ("GET", "/admin/settings"): ADMIN,
    ("GET", "/admin/documents/templates"): ADMIN,
    ("GET", "/admin/documents/templates/{kind}"): ADMIN,
    ("POST", "/admin/documents/templates/{kind}"): ADMIN,
    ("POST", "/admin/documents/templates/{kind}/preview"): ADMIN,
    ("GET", "/admin/integrations"): ADMIN,
    ("POST", "/admin/integrations/messages/{message_id}/{action}"): ADMIN,
    ("GET", "/admin/matters"): ADMIN,
    ("GET", "/admin/matters/{matter_id}"): ADMIN,
    ("GET", "/admin/matters/{matter_id}/versions/{version_id}/form"): ADMIN,
    ("GET", "/admin/matters/{matter_id}/versions/{version_id}/process"): ADMIN,
    ("GET", "/admin/matters/{matter_id}/versions/{version_id}/process.bpmn"): ADMIN,
    ("POST", "/admin/calendar/days"): ADMIN,
    ("POST", "/admin/calendar/days/{day}/clear"): ADMIN,
    ("POST", "/admin/calendar/import"): ADMIN,
    ("POST", "/admin/directory/import"): ADMIN,
    ("POST", "/admin/directory/people"): ADMIN,
    ("POST", "/admin/directory/people/{person_id}"): ADMIN,
    ("GET", "/admin/directory/reorganisation"): ADMIN, ("POST", "/admin/directory/reorganisation"): ADMIN,
    ("POST", "/admin/directory/reorganisation/plan"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/drafts"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/retire"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/versions/{version_id}/form/fields"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/versions/{version_id}/form/fields/{key}"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/versions/{version_id}/form/fields/{key}/move"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/versions/{version_id}/form/fields/{key}/remove"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/versions/{version_id}/form/preview/{key}"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/versions/{version_id}/materials"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/versions/{version_id}/process"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/versions/{version_id}/publish"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/versions/{version_id}/settings"): ADMIN,
    ("GET", "/api/v1/integrations"): ADMIN,
    ("GET", "/api/v1/integrations/dead"): ADMIN,
    ("GET", "/api/v1/integrations/province/reconciliation"): ADMIN,
    ("POST", "/api/v1/integrations/messages/{message_id}/{action}"): ADMIN,
    ("GET", "/api/v1/matters/versions/{version_id}/publish-check"): ADMIN,
    ("POST", "/api/v1/matters/{local_matter_id}/drafts"): ADMIN,
    ("PUT", "/api/v1/matters/versions/{version_id}/form"): ADMIN,
    ("PUT", "/api/v1/matters/versions/{version_id}/materials"): ADMIN,
    ("PUT", "/api/v1/matters/versions/{version_id}/process.bpmn"): ADMIN,
    ("PUT", "/api/v1/matters/versions/{version_id}/settings"): ADMIN,
    # administration pages: units, posts, the unit picker, accounts (security administrator)
    ("GET", "/admin/directory/units/new"): ADMIN, ("POST", "/admin/directory/units"): ADMIN,
    ("GET", "/admin/directory/units/{unit_id}"): ADMIN, ("POST", "/admin/directory/units/{unit_id}"): ADMIN,
    ("GET", "/admin/directory/units/{unit_id}/deactivate"): ADMIN,
    ("POST", "/admin/directory/units/{unit_id}/deactivate"): ADMIN,
    ("POST", "/admin/directory/units/{unit_id}/posts"): ADMIN,
    ("POST", "/admin/directory/units/{unit_id}/posts/{post_id}"): ADMIN,
    ("POST", "/admin/directory/units/{unit_id}/posts/{post_id}/remove"): ADMIN,
    ("POST", "/admin/directory/units/{unit_id}/leaders"): ADMIN,
    ("GET", "/admin/units/picker"): ADMIN, ("GET", "/admin/units/{unit_id}/post-options"): ADMIN,
    ("GET", "/admin/accounts"): ADMIN, ("GET", "/admin/accounts/{person_id}"): ADMIN,
    ("POST", "/admin/accounts/{person_id}/roles"): ADMIN,
    ("POST", "/admin/accounts/{person_id}/grants/{grant_id}/revoke"): ADMIN,
    ("POST", "/admin/accounts/{person_id}/unlock"): ADMIN, ("POST", "/admin/accounts/{person_id}/password"): ADMIN,
    ("POST", "/api/v1/accounts/{person_id}/password"): ADMIN,
    # single sign-on (web/pages/sso.py): the way in, before anyone is logged in
    ("GET", "/sso/login"): PUBLIC, ("GET", "/sso/callback"): PUBLIC, ("GET", "/sso/totp"): PUBLIC,
    ("POST", "/sso/totp"): PUBLIC, ("GET", "/sso/dingtalk"): PUBLIC, ("POST", "/sso/dingtalk"): PUBLIC,
    ("POST", "/api/v1/auth/sso/dingtalk"): PUBLIC,
    ("POST", "/api/v1/matters/base/{base_matter_id}/split"): ADMIN,
    ("POST", "/api/v1/matters/merge"): ADMIN,
    ("GET", "/api/v1/matters/{local_matter_id}/lineage"): ADMIN,
    ("GET", "/admin/matters/{matter_id}/granularity"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/granularity/split"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/granularity/merge"): ADMIN,
    ("POST", "/admin/matters/{matter_id}/versions/{version_id}/situations"): ADMIN,
    ("GET", "/api/v1/shared-materials"): LIST,
    ("POST", "/api/v1/shared-materials"): OWN,
    ("GET", "/api/v1/shared-materials/{shared_material_id}"): SHARED,
    ("POST", "/api/v1/shared-materials/{shared_material_id}/versions"): SHARED,
    ("GET", "/api/v1/shared-materials/{shared_material_id}/versions/{number}"): SHARED,
    ("GET", "/account/materials"): OWN,
    ("POST", "/account/materials"): OWN,
    ("GET", "/account/materials/{shared_material_id}"): SHARED,
    ("POST", "/account/materials/{shared_material_id}/versions"): SHARED,
}

# sample values for the path parameters that do not name one of A's objects
SAMPLE_PARAMS: dict[str, str] = {
    "year": "2026", "day": "2026-12-01", "kind": "acceptance_notice", "library": "cases", "fmt": "json",
    "table": "ranking", "key": "accept", "code": "M1", "role": "handler", "action": "pause", "token_id": "1",
    "opinion_id": "1", "notification_id": "1", "subscription_id": "1", "delivery_id": "1", "client_pk": "1",
    "version_id": "1", "unit_id": "1", "person_id": "1", "local_matter_id": "1", "matter_id": "1",
}
# a plausible body for the actions on A's objects, so the request reaches the permission check
BODIES: dict[str, Any] = {
    "/api/v1/tasks/{task_id}/complete": {"decision": "approve", "opinion": "同意"},
    "/api/v1/tasks/{task_id}/return": {"target": "applicant", "reason": "越权退回"},
    "/api/v1/tasks/{task_id}/transfer": {"to_person_id": 1},
    "/api/v1/tasks/{task_id}/delegate": {"to_person_id": 1},
    "/api/v1/tasks/{task_id}/signers": {"person_ids": [1]},
    "/api/v1/tasks/{task_id}/signers/remove": {"person_id": 1},
    "/api/v1/cases/{case_id}/reject": {"reason": "越权不予受理"},
    "/api/v1/cases/{case_id}/withdraw": {"reason": "越权撤回"},
    "/api/v1/cases/{case_id}/supplement": {"items": [{"note": "越权补正"}]},
    "/api/v1/cases/{case_id}/resubmit": {"form": {"title": "越权重交"}},
    "/api/v1/cases/{case_id}/suspend": {"reason": "越权中止"},
    "/api/v1/cases/{case_id}/resume": {},
    "/api/v1/cases/{case_id}/special-procedures": {"kind": "hearing", "reason": "越权", "basis": "无"},
    "/api/v1/cases/{case_id}/special-procedures/end": {"outcome": "越权"},
    "/api/v1/cases/{case_id}/extension": {"days": 5, "reason": "越权延期"},
    "/api/v1/cases/{case_id}/urge": {"note": "越权催办"},
    "/api/v1/cases/{case_id}/copies": {"person_ids": [1], "note": "越权抄送"},
    "/api/v1/cases/{case_id}/supervision": {"content": "越权督办", "days": 3},
    "/api/v1/cases/{case_id}/rating": {"level": "satisfied", "comment": "越权评价"},
    "/api/v1/orders/{order_id}/answer": {"answer": "越权答复"},
    "/api/v1/orders/{order_id}/send-back": {"reason": "越权退回"},
}


def app_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path template) the app serves, the included routers' routes flattened; HEAD left out."""
    found: set[tuple[str, str]] = set()

    def walk(routes: Any) -> Iterator[tuple[set[str], str]]:
        for route in routes:
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:  # FastAPI ≥ 0.16x keeps included routers as one entry
                for context in contexts():
                    yield set(context.methods or ()), context.path_format
            elif hasattr(route, "routes") and not hasattr(route, "methods") and route.__class__.__name__ != "Mount":
                yield from walk(route.routes)
            else:
                yield set(getattr(route, "methods", None) or {"GET"}), route.path

    for methods, path in walk(app.routes):
        found.update((method, path) for method in methods if method != "HEAD")
    return found


# --- the world --------------------------------------------------------------------------------------------------


@dataclass
class World:
    api: Api
    marker: str
    number: str
    ids: dict[str, int]  # object kind -> one of A's objects
    outsiders: dict[str, TestClient]
    client_token: str
    engine: Engine


def _grant(session: Any, city: City, username: str, role: str, scope: str, unit: str | None = None) -> Person:
    person = Person(employee_code=f"E-{username}", username=username, name=username)
    session.add(person)
    session.flush()
    session.add(RoleGrant(
        person_id=person.id, role=role, scope_kind=scope,
        scope_region_id=city.region.id if scope == "region" else None,
        scope_unit_id=city.units[unit].id if unit else None,
    ))
    session.add(Credential(person_id=person.id, password_hash=hash_password(PASSWORD), must_change=False))
    return person


@pytest.fixture(scope="module")
def world(api: Api, db_engine: Engine) -> World:
    other, tag = api.other, uuid.uuid4().hex[:8]
    with unit_of_work(db_engine) as session:
        extra = {
            "B unit leader": _grant(session, other, f"lead_{tag}", "unit_leader", "unit_subtree", "staffing"),
            "B county supervisor": _grant(session, other, f"sup_{tag}", "supervisor", "region"),
            "B system admin": _grant(session, other, f"sys_{tag}", "system_admin", "region"),
            "B security admin": _grant(session, other, f"sec_{tag}", "security_admin", "region"),
            "audit admin": _grant(session, other, f"aud_{tag}", "audit_admin", "all"),
        }
        b_matter = publish_matter(session, other, joint_approval_process())
        a_matter = publish_matter(session, api.city, joint_approval_process(), materials=[
            {"code": "M1", "name": "申请书", "required": True, "formats": ["pdf"]}])
    marker = f"LEAKMARK{tag}"

    # A's case: submitted with an attachment, accepted, its first review open
    applicant = api.login("finance.clerk.0")
    upload = applicant.post("/api/v1/attachments", data={"material_code": "M1"},
                            files={"file": ("材料.pdf", _pdf(marker), "application/pdf")})
    assert upload.status_code == 201, upload.text
    created = applicant.post("/api/v1/cases", json={
        "local_matter_id": a_matter.id, "applicant_unit_id": api.city.units["finance"].id,
        "form": {"title": f"申请{marker}"}, "materials": {"M1": [upload.json()["id"]]},
    })
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    handler = api.login("staffing.clerk.0")
    assert handler.post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    while run_once(db_engine)["issue_documents"]:  # the worker issues the acceptance notice
        pass
    accept = _task(handler, case_id)
    assert handler.post(f"/api/v1/tasks/{accept['id']}/complete", json={"decision": "approve"}).status_code == 200
    detail = applicant.get(f"/api/v1/cases/{case_id}").json()
    documents = handler.get(f"/api/v1/cases/{case_id}/documents").json()
    reform = api.login(api.reform)
    order = reform.post(f"/api/v1/cases/{case_id}/supervision", json=BODIES["/api/v1/cases/{case_id}/supervision"])
    orders = reform.get(f"/api/v1/cases/{case_id}/orders").json() if order.status_code < 300 else {}
    with unit_of_work(db_engine) as session:
        task_id = session.scalar(select(Task.id).where(Task.case_id == case_id, Task.state == "open"))
        number = session.scalar(select(Case.number).where(Case.id == case_id))
    kept = applicant.post("/api/v1/shared-materials", data={"unit_id": str(api.city.units["finance"].id),
                                                             "kind": f"证照{marker}"},
                          files={"file": (f"证照{marker}.pdf", _pdf(marker), "application/pdf")})
    assert kept.status_code == 201, kept.text
    with unit_of_work(db_engine) as session:
        shared_id = session.scalar(select(SharedMaterialVersion.shared_material_id)
                                   .where(SharedMaterialVersion.id == kept.json()["id"]))
    ids = {CASE: case_id, TASK: int(task_id), ATTACHMENT: upload.json()["id"], SHARED: int(shared_id)}
    if items := _items(documents):
        ids[DOCUMENT] = items[0]["id"]
    if items := _items(orders):
        ids[ORDER] = items[0]["id"]

    # B's own case, so B's lists are not trivially empty
    b_applicant = api.login(other.people["finance.clerk.0"])
    b_case = b_applicant.post("/api/v1/cases", json={
        "local_matter_id": b_matter.id, "applicant_unit_id": other.units["finance"].id, "form": {"title": "乙县申请"},
    })
    assert b_case.status_code == 201, b_case.text

    outsiders = {
        "B clerk (applicant)": api.login(other.people["finance.clerk.0"]),
        "B handler": api.login(other.people["staffing.clerk.0"]),
        "B section chief": api.login(other.people["staffing.section_chief.0"]),
        "A uninvolved unit clerk": api.login("office.clerk.0"),
        **{name: api.login(person) for name, person in extra.items()},
    }
    b_admin = outsiders["B system admin"]
    registered = b_admin.post("/api/v1/clients", json={
        "name": f"乙县业务系统{tag}", "scopes": ["cases:read", "cases:submit"],
        "unit_ids": [other.units["finance"].id], "rate_limit_per_minute": 100_000,
    })
    assert registered.status_code == 201, registered.text
    token = TestClient(api.app).post(
        "/api/v1/oauth/token", data={"grant_type": "client_credentials"},
        auth=(registered.json()["client_id"], registered.json()["client_secret"]),
    )
    assert token.status_code == 200, token.text
    assert detail["case"]["id"] == case_id
    return World(api, marker, str(number), ids, outsiders, token.json()["access_token"], db_engine)


def _pdf(marker: str) -> bytes:
    from xietong.demo.samples import pdf_bytes

    return pdf_bytes(marker)


def _items(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        return list(body.get("items") or body.get("documents") or [])
    return list(body) if isinstance(body, list) else []


def _callers(world: World) -> Iterator[tuple[str, TestClient]]:
    yield from world.outsiders.items()
    api_client = TestClient(world.api.app)
    api_client.headers["Authorization"] = f"Bearer {world.client_token}"
    yield "B application client", api_client


OTHER_PARAMS = {"action": "skip", "day": "2026-12-02", "key": "title", "kind": "acceptance_notice"}


def _path(template: str, ids: dict[str, int], missing: bool = False) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        for kind, param in OBJECT_KINDS.items():
            if param == name:
                return str(MISSING if missing else ids.get(kind, MISSING))
        return SAMPLE_PARAMS.get(name, OTHER_PARAMS.get(name, "1"))

    return re.sub(r"\{(\w+)\}", fill, template)


def _text(response: httpx.Response) -> str:
    """What a person would read in the answer: JSON/HTML as text, the cells of a workbook, a PDF's text."""
    content = response.content
    if content[:4] == b"PK\x03\x04":
        try:
            book = load_workbook(io.BytesIO(content), read_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError):
            return content.decode("latin-1")
        return "\n".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row)
    if content[:5] == b"%PDF-":
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)
    return content.decode("utf-8", "replace")


def _call(client: TestClient, method: str, template: str, path: str) -> httpx.Response:
    if method in ("GET", "DELETE"):
        return client.request(method, path)
    return client.request(method, path, json=BODIES.get(template, {}))


def _code(response: httpx.Response) -> str | None:
    if response.headers.get("content-type", "").startswith(("application/problem+json", "application/json")):
        try:
            body = response.json()
        except ValueError:
            return None
        return body.get("code") if isinstance(body, dict) else None
    return None


def _case_state(engine: Engine, case_id: int) -> tuple[Any, ...]:
    with unit_of_work(engine) as session:
        events = session.scalar(select(func.count()).select_from(Event).where(Event.case_id == case_id))
        status = session.scalar(select(Case.status).where(Case.id == case_id))
        tasks = session.execute(
            select(Task.id, Task.state, Task.assignee_id).where(Task.case_id == case_id).order_by(Task.id)
        ).all()
    return events, status, tuple(tasks)


# --- the tests --------------------------------------------------------------------------------------------------


def test_every_route_is_classified(api: Api) -> None:
    served = app_routes(api.app)
    unclassified = sorted(served - MATRIX.keys())
    stale = sorted(MATRIX.keys() - served)
    assert not unclassified, f"routes the permission matrix does not classify: {unclassified}"
    assert not stale, f"the matrix classifies routes the app no longer serves: {stale}"


def test_no_get_route_shows_an_outsider_anything_of_the_other_case(world: World) -> None:
    gets = sorted(path for method, path in MATRIX if method == "GET" and path != "/static")
    leaks = []
    for name, client in _callers(world):
        for template in gets:
            response = client.get(_path(template, world.ids))
            assert response.status_code < 500, (name, template, response.text[:300])
            text = _text(response)
            if world.marker in text or world.number in text:
                leaks.append((name, template, response.status_code))
    assert not leaks, f"cross-scope reads: {leaks}"


@pytest.mark.parametrize("kind", sorted(OBJECT_KINDS))
def test_an_unreadable_object_answers_exactly_like_a_missing_one(world: World, kind: str) -> None:
    before = _case_state(world.engine, world.ids[CASE])
    routes = sorted((m, p) for (m, p), k in MATRIX.items() if k == kind)
    assert routes
    if kind not in world.ids:
        pytest.fail(f"the fixture made no {kind} of city A")
    differ = []
    for name, client in _callers(world):
        for method, template in routes:
            real = _call(client, method, template, _path(template, world.ids))
            missing = _call(client, method, template, _path(template, world.ids, missing=True))
            assert real.status_code < 500, (name, method, template, real.text[:300])
            if (real.status_code, _code(real)) != (missing.status_code, _code(missing)):
                differ.append((name, method, template, real.status_code, _code(real), missing.status_code))
            elif method == "GET" and real.status_code not in (401, 403, 404):
                differ.append((name, method, template, real.status_code, "read allowed", None))
    assert not differ, f"A's {kind} answered differently from a missing one: {differ}"
    assert _case_state(world.engine, world.ids[CASE]) == before, "an outsider changed A's case"


def test_administrative_actions_are_refused_to_people_without_the_role(world: World) -> None:
    """Non-administrators (and the client) never get a 2xx from an administrator's route."""
    admin_routes = sorted((m, p) for (m, p), k in MATRIX.items() if k == ADMIN)
    allowed = []
    plain = {"B clerk (applicant)", "B handler", "B section chief", "A uninvolved unit clerk", "B unit leader",
             "B county supervisor", "B application client"}
    for name, client in _callers(world):
        if name not in plain:
            continue
        for method, template in admin_routes:
            response = _call(client, method, template, _path(template, world.ids))
            assert response.status_code < 500, (name, method, template, response.text[:300])
            if response.status_code < 300:
                allowed.append((name, method, template, response.status_code))
    assert not allowed, f"administrative routes open to non-administrators: {allowed}"


def test_the_people_in_scope_do_see_the_case(world: World) -> None:
    """The positive side: the same routes that show outsiders nothing show A's case to those whose scope covers it
    — its applicant, its handler, A's county supervisor, the reform office and an application client of A's
    applicant unit — so the matrix's zero leaks are not the zero of routes that show nobody anything."""
    api, case_id = world.api, world.ids[CASE]
    period = f"{utcnow():%Y}"
    with unit_of_work(world.engine) as session:
        supervisor = _grant(session, api.city, f"supa_{world.marker[-8:]}", "supervisor", "region")
    reader = api.login(api.root).post("/api/v1/clients", json={
        "name": f"甲县业务系统{world.marker[-8:]}", "scopes": ["cases:read"],
        "unit_ids": [api.city.units["finance"].id], "rate_limit_per_minute": 100_000,
    })
    assert reader.status_code == 201, reader.text
    token = TestClient(api.app).post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                                     auth=(reader.json()["client_id"], reader.json()["client_secret"]))
    assert token.status_code == 200, token.text
    client = TestClient(api.app)
    client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    case_reads = [f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/events",
                  f"/api/v1/cases?keyword={world.number}", f"/api/v1/attachments/{world.ids[ATTACHMENT]}"]
    monitor_reads = [f"/api/v1/monitor/cases?period={period}&figure=submitted&limit=100",
                     f"/monitor/cases?period={period}&figure=submitted"]
    insiders: dict[str, tuple[TestClient, list[str]]] = {
        "A clerk (applicant)": (api.login("finance.clerk.0"), [*case_reads, f"/cases/{case_id}"]),
        "A handler": (api.login("staffing.clerk.0"), [*case_reads, f"/cases/{case_id}"]),
        "A county supervisor": (api.login(supervisor), [*case_reads, *monitor_reads]),
        "reform office": (api.login(api.reform), [*case_reads, *monitor_reads]),
        "A application client": (client, case_reads),
    }
    unseen = []
    for name, (caller, paths) in insiders.items():
        for path in paths:
            response = caller.get(path)
            text = _text(response)
            if response.status_code != 200 or (world.marker not in text and world.number not in text):
                unseen.append((name, path, response.status_code))
    assert not unseen, f"people in scope who do not see A's case: {unseen}"
