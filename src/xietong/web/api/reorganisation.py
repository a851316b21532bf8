"""/api/v1/directory/reorganisations: 机构改革 — the plan (a dry run) and its execution, for system administrators
of every unit it touches (``may_administer(…, "directory")``, checked by the service unit by unit)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from xietong.directory.service import reorganisation as reorg
from xietong.errors import Forbidden
from xietong.security.permissions import administers_some
from xietong.security.principal import Principal
from xietong.web.deps import CurrentPrincipal, auditor, reading, settings_of, writing

router = APIRouter(prefix="/directory/reorganisations", tags=["机构改革"])


class PlanItemOut(BaseModel):
    kind: str = Field(description="unit 单位 | post 岗位 | membership 任职 | matter 事项 | child 下级单位 | "
                                  "grant 角色授权 | draft 草稿 | case 办件")
    id: int | None
    label: str
    action: str = Field(description="将如何办理")
    state: str = Field(description="moves 将办理 | refused 不能办理")
    reason: str | None = Field(None, description="不能办理的原因")
    target: str | None = Field(None, description="接续单位编码")
    case_id: int | None = None


class PlanOut(BaseModel):
    kind: reorg.Kind
    done: bool = Field(description="单位调整已经完成，只剩在办办件")
    refused: int = Field(description="不能办理的项数；大于 0 时不能执行")
    items: list[PlanItemOut]


class OutcomeOut(BaseModel):
    kind: str
    id: int | None
    label: str
    action: str
    ok: bool
    detail: str | None = None
    code: str | None = None


class LogOut(BaseModel):
    key: str = Field(description="本次改革的编号（单位沿革中的 reorganisation）")
    failed: int = Field(description="未完成的办件数；再次提交同一方案即可继续")
    items: list[OutcomeOut]


def _require_admin(principal: Principal) -> None:
    if not administers_some(principal, "directory"):
        raise Forbidden(code="not_directory_admin", detail="只有系统管理员可以办理机构改革")


@router.post("/plan", summary="机构改革预览：将办理的每一项与不能办理的原因（不作修改）")
def plan(body: reorg.ReorganisationIn, request: Request, principal: CurrentPrincipal) -> PlanOut:
    _require_admin(principal)
    with reading(request) as session:
        found = reorg.plan(session, principal=principal, spec=body)
    return PlanOut(kind=found.kind, done=found.done_at is not None, refused=len(found.refused),
                   items=[PlanItemOut(**asdict(i)) for i in found.items])


@router.post("", summary="执行机构改革：先调整单位库（一个事务），再逐件迁移在办办件（各自一个事务）")
def execute(body: reorg.ReorganisationIn, request: Request, principal: CurrentPrincipal) -> LogOut:
    _require_admin(principal)
    log = reorg.execute(lambda: writing(request), principal=principal, spec=body, tz=settings_of(request).timezone,
                        record=auditor(request, principal, "reorganisation"))
    return LogOut(key=log.key, failed=len(log.failed), items=[OutcomeOut(**asdict(o)) for o in log.items])
