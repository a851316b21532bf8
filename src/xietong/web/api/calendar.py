"""/api/v1/calendar: the working-day calendar by year, single-day overrides, and overrides as .xlsx.

Anyone logged in may read the calendar (every due time depends on it); changing it needs the system
administrator role over everything (``may_administer(…, "calendar")``), and every change is audited.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Request, Response, UploadFile

from xietong.errors import Forbidden, InvalidInput, TooLarge
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal
from xietong.system import calendar_admin, calendar_xlsx
from xietong.system.calendar_admin import DayOut, OverrideIn, YearOut
from xietong.web.deps import CurrentPrincipal, audit, reading, writing

router = APIRouter(prefix="/calendar", tags=["工作日历"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_XLSX_BYTES = 2 * 1024 * 1024


def _require_admin(principal: Principal) -> None:
    if not may_administer(principal, "calendar"):
        raise Forbidden(code="not_calendar_admin", detail="只有全市范围的系统管理员可以调整工作日历")


@router.get("/years/{year}", summary="某年的工作日历（每天是否工作日及其来源）")
def get_year(year: int, request: Request, _principal: CurrentPrincipal) -> YearOut:
    with reading(request) as session:
        return calendar_admin.calendar_year(session, year=year)


@router.get("/days/{day}", summary="某一天是否工作日")
def get_day(day: date, request: Request, _principal: CurrentPrincipal) -> DayOut:
    with reading(request) as session:
        return calendar_admin.calendar_day(session, day=day)


@router.put("/days/{day}", summary="人工设置某一天为工作日或休息日")
def put_day(day: date, body: OverrideIn, request: Request, principal: CurrentPrincipal) -> DayOut:
    _require_admin(principal)
    if body.day != day:
        raise InvalidInput(code="day_mismatch", detail="请求体中的日期与路径中的日期不一致")
    with writing(request) as session:
        result = calendar_admin.set_override(session, data=body)
        audit(session, request, principal, "calendar.override_set", target_kind="workday", target_id=day.isoformat(),
              is_working=body.is_working, note=body.note)
        return result


@router.delete("/days/{day}", summary="清除某一天的人工设置")
def delete_day(day: date, request: Request, principal: CurrentPrincipal) -> DayOut:
    _require_admin(principal)
    with writing(request) as session:
        result = calendar_admin.clear_override(session, day=day)
        audit(session, request, principal, "calendar.override_cleared", target_kind="workday",
              target_id=day.isoformat())
        return result


@router.post("/import", summary="从 .xlsx 导入工作日调整（全部成功或全部不导入）")
def import_overrides(
    request: Request, principal: CurrentPrincipal, file: Annotated[UploadFile, File(description=".xlsx 文件")]
) -> dict[str, int]:
    _require_admin(principal)
    data = file.file.read(MAX_XLSX_BYTES + 1)
    if len(data) > MAX_XLSX_BYTES:
        raise TooLarge(code="file_too_large", detail=f"文件不能超过 {MAX_XLSX_BYTES // 1024 // 1024} MB")
    if not data.startswith(b"PK"):
        raise InvalidInput(code="not_xlsx", detail="请上传 .xlsx 格式的 Excel 文件")
    with writing(request) as session:
        summary = calendar_xlsx.import_overrides(session, data=data)
        audit(session, request, principal, "calendar.overrides_imported", file=file.filename,
              created=summary.created, updated=summary.updated)
    return {"created": summary.created, "updated": summary.updated}


@router.get("/export", summary="导出工作日调整为 .xlsx", response_class=Response)
def export_overrides(request: Request, _principal: CurrentPrincipal, year: int | None = None) -> Response:
    with reading(request) as session:
        data = calendar_xlsx.export_overrides(session, year=year)
    headers = {"Content-Disposition": "attachment; filename*=UTF-8''calendar.xlsx", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=XLSX, headers=headers)
