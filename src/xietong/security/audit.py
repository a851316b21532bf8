"""The audit trail of administrative actions and security events, written in the action's own transaction.

A record that is written in the same transaction as the change it describes can neither be lost when
the change commits nor survive when it rolls back. Failed log-ins are recorded too (their transaction
commits the failure count). Each record is a link of the SM3 ``audit`` chain (``security/audit_chain.py``).
Reading the trail, and verifying it, is the audit administrator's alone (三员分立).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.events import jsonable
from xietong.db.base import utcnow
from xietong.errors import Forbidden
from xietong.pagination import Page, check_limit, decode_cursor, encode_cursor
from xietong.security.audit_chain import append_record
from xietong.security.models import AuditRecord
from xietong.security.principal import Principal

AUDITORS = frozenset({"audit_admin"})


def record(
    session: Session,
    principal: Principal | None,
    action: str,
    *,
    target_kind: str | None = None,
    target_id: object = None,
    detail: dict[str, Any] | None = None,
    client_ip: str | None = None,
    at: datetime | None = None,
) -> None:
    """Append one audit record (``principal`` None: an anonymous attempt, e.g. a failed log-in)."""
    append_record(
        session,
        {
            "at": at or utcnow(),
            "actor_kind": principal.kind if principal else "anonymous",
            "actor_id": principal.id if principal else None,
            "action": action,
            "target_kind": target_kind,
            "target_id": None if target_id is None else str(target_id),
            "detail": jsonable(detail or {}),
            "client_ip": client_ip,
        },
    )


def require_auditor(principal: Principal) -> None:
    """The audit trail is read (and verified) by the audit administrator alone."""
    if principal.kind != "system" and not principal.has_role(*AUDITORS):
        raise Forbidden(code="not_auditor", detail="只有审计管理员可以查看审计日志")


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_kind: str
    actor_id: int | None
    action: str
    target_kind: str | None
    target_id: str | None
    detail: dict[str, Any]
    client_ip: str | None


def audit_trail(
    session: Session, *, principal: Principal, action: str = "", limit: int = 100, cursor: str | None = None
) -> Page[AuditOut]:
    """The trail in order (optionally of one action or action prefix), for the audit administrator only."""
    require_auditor(principal)
    query = select(AuditRecord)
    if action:
        query = query.where(AuditRecord.action.startswith(action, autoescape=True))
    if cursor:
        (after_id,) = decode_cursor(cursor, (int,))
        query = query.where(AuditRecord.id > after_id)
    rows = session.scalars(query.order_by(AuditRecord.id).limit(check_limit(limit) + 1)).all()
    items = [AuditOut.model_validate(row) for row in rows[:limit]]
    return Page(items=items, next_cursor=encode_cursor((items[-1].id,)) if len(rows) > limit else None)
