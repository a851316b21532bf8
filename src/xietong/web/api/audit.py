"""/api/v1/audit: the audit trail and the verification of the chains, for the audit administrator alone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from xietong.pagination import MAX_LIMIT, Page
from xietong.security.audit import AuditOut, audit_trail, require_auditor
from xietong.security.audit_chain import verify_audit, verify_events
from xietong.web.deps import CurrentPrincipal, reading, secret_of

router = APIRouter(prefix="/audit", tags=["审计"])


@router.get("", summary="审计日志（仅审计管理员）")
def trail(
    request: Request,
    principal: CurrentPrincipal,
    action: Annotated[str, Query(max_length=60, description="操作名或其前缀，如 directory.")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Page[AuditOut]:
    with reading(request) as session:
        return audit_trail(session, principal=principal, action=action, limit=limit, cursor=cursor)


class BreakOut(BaseModel):
    seq: int = Field(description="断裂处的序号（审计记录的 seq，或事件的变更日志位置）")
    record_id: int | None
    code: str = Field(description="modified | missing | link_broken | unchained | tail_missing | checkpoint_*")
    detail: str


class ChainOut(BaseModel):
    chain: str = Field(description="audit（审计记录链）或 event（全局事件链）")
    ok: bool
    checked: int
    head_seq: int
    checkpoints: int
    unchained: int = Field(description="已排序但尚待串链的事件数（工作进程会补上）")
    first_break: BreakOut | None


@router.get("/verify", summary="校验审计记录链与全局事件链，报告第一处断裂（仅审计管理员）")
def verify(request: Request, principal: CurrentPrincipal) -> list[ChainOut]:
    require_auditor(principal)
    secret = secret_of(request)
    with reading(request) as session:
        results = [verify_audit(session, secret=secret), verify_events(session, secret=secret)]
    return [
        ChainOut(
            chain=r.chain, ok=r.ok, checked=r.checked, head_seq=r.head_seq, checkpoints=r.checkpoints,
            unchained=r.unchained, first_break=BreakOut(**vars(r.first_break)) if r.first_break else None,
        )
        for r in results
    ]
