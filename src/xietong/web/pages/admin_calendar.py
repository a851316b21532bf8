"""工作日历 administration: a year as twelve month grids with each day's source (the holiday package, an
administrator's override, or the weekends-only fallback), one day's override set or cleared, the overrides
listed, and the all-or-nothing ``.xlsx`` import with its row report; the export is the API's.

The services are ``system/calendar_admin.py`` and ``system/calendar_xlsx.py``; ``may_administer(…, "calendar")``
over everything is required, as in ``web/api/calendar.py``; every change is audited."""

from __future__ import annotations

import calendar as monthly
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from xietong.directory.schemas import field_problems
from xietong.errors import DomainError, Forbidden, InvalidInput, TooLarge
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal
from xietong.system import calendar_admin, calendar_xlsx
from xietong.system.calendar_admin import DayOut, OverrideIn
from xietong.web.deps import audit, reading, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.rendering import render

router = APIRouter()
MAX_XLSX_BYTES = 10 * 1024 * 1024
SOURCE_LABELS = {"package": "法定安排", "override": "人工设置", "fallback": "仅按周末"}


def _require(principal: Principal) -> None:
    """The calendar is instance-wide: an administrator over everything (as the API demands)."""
    if principal.kind != "person" or not may_administer(principal, "calendar"):
        raise Forbidden(code="not_calendar_admin", detail="只有系统管理员可以维护工作日历")


def _months(days: list[DayOut]) -> list[dict[str, Any]]:
    """Twelve months of weeks (Monday first), ``None`` where a week runs into another month."""
    by_day = {d.day: d for d in days}
    year = days[0].day.year
    months = []
    for month in range(1, 13):
        weeks = [[by_day[d] if d.month == month else None for d in week]
                 for week in monthly.Calendar(firstweekday=0).monthdatescalendar(year, month)]
        months.append({"month": month, "weeks": weeks})
    return months


def _page(request: Request, *, year: int, day: date | None = None, status: int = 200, **extra: Any) -> Response:
    with reading(request) as session:
        view = calendar_admin.calendar_year(session, year=year)
    chosen = next((d for d in view.days if d.day == day), None) if day else None
    context = {"view": view, "months": _months(view.days), "year": year, "chosen": chosen,
               "overrides": [d for d in view.days if d.source == "override"], "sources": SOURCE_LABELS,
               "today": date.today(), "errors": [], "import_report": None, **extra}
    return render(request, "admin/calendar.html", context, status_code=status)


@router.get("/admin/calendar", include_in_schema=False)
def calendar_page(request: Request, principal: PagePrincipal, year: int | None = None,
                  day: date | None = None) -> Response:
    _require(principal)
    year = year or (day.year if day else date.today().year)
    return _page(request, year=year, day=day)


@router.post("/admin/calendar/days", include_in_schema=False)
def set_day(request: Request, principal: PagePrincipal, day: Annotated[str, Form(max_length=10)] = "",
            is_working: Annotated[str, Form(max_length=5)] = "",
            note: Annotated[str, Form(max_length=200)] = "") -> Response:
    _require(principal)
    try:
        data = OverrideIn(day=day, is_working=is_working == "1", note=note)  # type: ignore[arg-type]
        with writing(request) as session:
            calendar_admin.set_override(session, data=data)
            audit(session, request, principal, "calendar.override_set", target_kind="workday",
                  target_id=data.day.isoformat(), is_working=data.is_working, note=data.note)
    except ValidationError as exc:
        messages = [f"{p.message}" for p in field_problems(exc, {"day": "日期"})]
        return _page(request, year=date.today().year, status=422, errors=messages)
    except DomainError as exc:
        if exc.kind == "forbidden":
            raise
        return _page(request, year=date.today().year, status=422, errors=[exc.detail])
    return RedirectResponse(f"/admin/calendar?day={data.day.isoformat()}", status_code=303)


@router.post("/admin/calendar/days/{day}/clear", include_in_schema=False)
def clear_day(day: date, request: Request, principal: PagePrincipal) -> Response:
    _require(principal)
    try:
        with writing(request) as session:
            calendar_admin.clear_override(session, day=day)
            audit(session, request, principal, "calendar.override_cleared", target_kind="workday",
                  target_id=day.isoformat())
    except DomainError as exc:
        if exc.kind == "forbidden":
            raise
        return _page(request, year=day.year, day=day, status=404 if exc.kind == "not_found" else 422,
                     errors=[exc.detail])
    return RedirectResponse(f"/admin/calendar?day={day.isoformat()}", status_code=303)


@router.post("/admin/calendar/import", include_in_schema=False)
def import_days(request: Request, principal: PagePrincipal, file: Annotated[UploadFile, File()],
                year: Annotated[int | None, Form()] = None) -> Response:
    _require(principal)
    shown = year or date.today().year
    try:
        data = file.file.read(MAX_XLSX_BYTES + 1)
        if len(data) > MAX_XLSX_BYTES:
            raise TooLarge(code="file_too_large", detail=f"文件不能超过 {MAX_XLSX_BYTES // 1024 // 1024} MB")
        if not data.startswith(b"PK"):
            raise InvalidInput(code="not_xlsx", detail="请上传 .xlsx 格式的 Excel 文件")
        with writing(request) as session:
            summary = calendar_xlsx.import_overrides(session, data=data)
            audit(session, request, principal, "calendar.overrides_imported", file=file.filename,
                  created=summary.created, updated=summary.updated)
    except DomainError as exc:
        if exc.kind == "forbidden":
            raise
        report = {"ok": False, "detail": exc.detail, "errors": exc.errors, "file": file.filename}
        return _page(request, year=shown, status=422, import_report=report)
    report = {"ok": True, "created": summary.created, "updated": summary.updated, "file": file.filename}
    return _page(request, year=shown, import_report=report)
