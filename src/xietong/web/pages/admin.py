"""管理: the administration index (only the areas this person administers) and 系统设置 — the instance's
settings as a system administrator may see them (all come from ``XIETONG_*`` environment variables, so the page
reads them; changing one means changing the environment and restarting), with the checks ``xietong check`` runs.

Every admin page guards itself with ``require_area`` (``security.permissions.may_administer`` decides the
target itself); a person without the role gets the Chinese 403 page."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from xietong import __version__
from xietong.errors import Forbidden
from xietong.security import auth, totp
from xietong.security.permissions import administers_some
from xietong.security.principal import Principal
from xietong.system.health import run_checks
from xietong.web.deps import settings_of
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.rendering import admin_areas, render

router = APIRouter()
BACKENDS = {"sqlite": "SQLite（内嵌）", "postgresql": "PostgreSQL"}
SETTINGS_ROLES = ("system_admin", "security_admin")
AREA_LINKS = {
    "directory": ("/admin/directory", "单位与人员", "单位树、人员与任职，Excel 导入导出"),
    "calendar": ("/admin/calendar", "工作日历", "法定节假日、调休与人工调整，Excel 导入导出"),
    "catalog": ("/admin/matters", "事项管理", "事项版本的表单、材料、流程与时限"),
}


def require_area(principal: Principal, area: str) -> None:
    """Somewhere in ``area`` this person administers: otherwise the 403 page (targets are checked again)."""
    if principal.kind != "person" or not administers_some(principal, area):
        raise Forbidden(code="not_admin", detail="只有相应的管理员可以打开此管理页面")


def may_see_settings(principal: Principal) -> bool:
    return principal.kind == "person" and principal.has_role(*SETTINGS_ROLES)


@router.get("/admin", include_in_schema=False)
def admin_index(request: Request, principal: PagePrincipal) -> Response:
    areas = [AREA_LINKS[area] for area in admin_areas(principal)]
    if principal.kind == "person" and principal.has_role("security_admin"):
        areas.append(("/admin/accounts", "账号与授权", "账号状态、角色授权（三员分立）、解锁与重置密码"))
    if may_see_settings(principal):
        areas.append(("/admin/settings", "系统设置", "口令规则、会话时限、实例信息与运行检查"))
    if not areas:
        raise Forbidden(code="not_admin", detail="您没有任何管理权限")
    return render(request, "admin/index.html", {"areas": areas})


@router.get("/admin/settings", include_in_schema=False)
async def system_settings(request: Request, principal: PagePrincipal) -> Response:
    if not may_see_settings(principal):
        raise Forbidden(code="not_admin", detail="只有系统管理员或安全管理员可以查看系统设置")
    settings = settings_of(request)
    checks = await run_in_threadpool(run_checks, settings, request.app.state.engine, today=date.today())
    backend = settings.resolved_database_url.split(":", 1)[0].split("+", 1)[0]
    groups = [
        ("实例", [
            ("版本", __version__, ""),
            ("运行模式", "演示模式" if settings.demo else "生产模式", "XIETONG_DEMO"),
            ("数据库", BACKENDS.get(backend, backend), "XIETONG_DATABASE_URL"),
            ("时区", settings.timezone, "XIETONG_TIMEZONE"),
            ("实例密钥", "已设置" if settings.secret_key else "未设置", "XIETONG_SECRET_KEY"),
        ]),
        ("登录与口令", [
            ("口令最短长度", f"{settings.password_min_length} 位", "XIETONG_PASSWORD_MIN_LENGTH"),
            ("口令字符类别", f"大写、小写、数字、符号中至少 {settings.password_min_classes} 类",
             "XIETONG_PASSWORD_MIN_CLASSES"),
            ("会话空闲超时", f"{settings.session_idle_minutes} 分钟", "XIETONG_SESSION_IDLE_MINUTES"),
            ("会话最长时间", f"{auth.SESSION_MAX_HOURS} 小时", ""),
            ("连续失败锁定", f"{auth.LOCK_AFTER_FAILURES} 次失败后锁定 {auth.LOCK_MINUTES} 分钟", ""),
            ("动态验证码", "三员（系统、安全、审计管理员）必须绑定" if not settings.demo else "演示模式下不强制",
             ""),
            ("恢复码", f"每次绑定 {totp.RECOVERY_CODES} 个", ""),
        ]),
        ("办件与数据", [
            ("催办间隔", f"同一人同一办件 {settings.urge_interval_minutes} 分钟内只催办一次",
             "XIETONG_URGE_INTERVAL_MINUTES"),
            ("上传大小上限", f"{settings.max_upload_mb} MB", "XIETONG_MAX_UPLOAD_MB"),
            ("审计记录保留", f"{settings.audit_retention_days} 天", "XIETONG_AUDIT_RETENTION_DAYS"),
            ("数据推送超时", f"{settings.webhook_timeout_seconds:g} 秒", "XIETONG_WEBHOOK_TIMEOUT_SECONDS"),
        ]),
    ]
    return render(request, "admin/settings.html", {"groups": groups, "checks": checks})
