"""Full export of the four libraries — units, people, matters, cases — as JSON, CSV or .xlsx.

Rows are plain dicts with the same columns in every format. Cases are those the reader may read; units,
people (no credentials, no phone numbers) and matters are the whole library.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.cases.models import Case
from xietong.catalog.models import LocalMatter
from xietong.directory.models import Membership, Person, Region, Unit
from xietong.errors import Forbidden, InvalidInput
from xietong.security.permissions import SUPERVISORY_ROLES, visible_cases
from xietong.security.principal import Principal

LIBRARIES = ("units", "people", "matters", "cases")
FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
SHEET_TITLES = {"units": "单位库", "people": "人员库", "matters": "事项库", "cases": "办件信息库"}


def _units(session: Session, _principal: Principal) -> Iterator[dict[str, Any]]:
    query = select(
        Unit.id, Unit.code, Unit.name, Unit.short_name, Unit.uscc, Unit.parent_id, Region.code.label("region_code"),
        Unit.function, Unit.path,
    ).join(Region, Region.id == Unit.region_id).order_by(Unit.id)
    for row in session.execute(query).mappings():
        yield dict(row)


def _people(session: Session, _principal: Principal) -> Iterator[dict[str, Any]]:
    units = func.min(Membership.unit_id).label("primary_unit_id")
    query = (
        select(Person.id, Person.employee_code, Person.username, Person.name, Person.active, units)
        .outerjoin(Membership, (Membership.person_id == Person.id) & Membership.is_primary)
        .group_by(Person.id, Person.employee_code, Person.username, Person.name, Person.active)
        .order_by(Person.id)
    )
    for row in session.execute(query).mappings():
        yield dict(row)


def _matters(session: Session, _principal: Principal) -> Iterator[dict[str, Any]]:
    query = select(
        LocalMatter.id, LocalMatter.code, LocalMatter.name, LocalMatter.base_matter_id, LocalMatter.region_id,
        LocalMatter.handling_unit_id, LocalMatter.status,
    ).order_by(LocalMatter.id)
    for row in session.execute(query).mappings():
        yield dict(row)


def _cases(session: Session, principal: Principal) -> Iterator[dict[str, Any]]:
    query = (
        select(
            Case.id, Case.number, Case.title, Case.local_matter_id, Case.region_id, Case.handling_unit_id,
            Case.applicant_unit_id, Case.channel, Case.status, Case.process_state, Case.result, Case.submitted_at,
            Case.accepted_at, Case.due_at, Case.concluded_at, Case.working_days_used, Case.card,
        )
        .where(visible_cases(principal))
        .order_by(Case.id)
    )
    for row in session.execute(query.execution_options(yield_per=2000)).mappings():
        yield dict(row)


READERS = {"units": _units, "people": _people, "matters": _matters, "cases": _cases}


def may_export(principal: Principal) -> bool:
    """Clients with ``cases:read`` (checked at the edge), supervisors and system administrators."""
    return principal.kind in ("client", "system") or principal.has_role(*SUPERVISORY_ROLES, "system_admin")


def export_rows(session: Session, *, principal: Principal, library: str) -> Iterator[dict[str, Any]]:
    if library not in READERS:
        raise InvalidInput(code="unknown_library", detail="可导出的库为：" + "、".join(LIBRARIES))
    if not may_export(principal):
        raise Forbidden(code="export_forbidden", detail="只有监管人员、系统管理员或授权的应用可以导出")
    return READERS[library](session, principal)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def render(rows: Iterable[dict[str, Any]], *, library: str, fmt: str) -> bytes:
    """The rows in one format; the first row's keys are the columns."""
    if fmt not in FORMATS:
        raise InvalidInput(code="unknown_format", detail="导出格式须为 json、csv 或 xlsx")
    data = [{k: _plain(v) for k, v in row.items()} for row in rows]
    if fmt == "json":
        return json.dumps({"library": library, "items": data}, ensure_ascii=False).encode()
    columns = list(data[0]) if data else []
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(data)
        return ("\ufeff" + out.getvalue()).encode()  # the BOM lets Excel read UTF-8
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_TITLES[library])
    sheet.append(columns)
    for item in data:
        sheet.append([item[c] for c in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
