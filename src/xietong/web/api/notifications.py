"""/api/v1/notifications: the logged-in person's own in-app notifications (never anyone else's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from xietong.cases import notifications
from xietong.cases.notifications import NotificationOut
from xietong.errors import Forbidden
from xietong.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from xietong.security.principal import Principal
from xietong.web.deps import CurrentPrincipal, reading, writing

router = APIRouter(prefix="/notifications", tags=["通知"])


def _person_id(principal: Principal) -> int:
    if principal.kind != "person" or principal.id is None:
        raise Forbidden(code="not_a_person", detail="只有人员有通知")
    return principal.id


@router.get("", summary="我的通知（新的在前，游标分页）")
def list_notifications(
    request: Request,
    principal: CurrentPrincipal,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[NotificationOut]:
    with reading(request) as session:
        return notifications.notifications_of(
            session, person_id=_person_id(principal), unread_only=unread, limit=limit, cursor=cursor
        )


@router.get("/unread-count", summary="我的未读通知数")
def get_unread_count(request: Request, principal: CurrentPrincipal) -> dict[str, int]:
    with reading(request) as session:
        return {"unread": notifications.unread_count(session, person_id=_person_id(principal))}


@router.post("/read-all", summary="全部标为已读")
def read_all(request: Request, principal: CurrentPrincipal) -> dict[str, int]:
    with writing(request) as session:
        return {"marked": notifications.mark_all_read(session, person_id=_person_id(principal))}


@router.post("/{notification_id}/read", summary="标为已读")
def read_one(notification_id: int, request: Request, principal: CurrentPrincipal) -> NotificationOut:
    with writing(request) as session:
        return notifications.mark_read(session, person_id=_person_id(principal), notification_id=notification_id)
