"""通知: the person's own notifications, newest first, with the unread count in the layout; mark one or all read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from xietong.cases import notifications
from xietong.web.deps import reading, writing
from xietong.web.pages.access import PagePrincipal, person_id
from xietong.web.pages.rendering import is_htmx, render

router = APIRouter()
PAGE_SIZE = 30
KIND_LABELS = {"task_opened": "待办", "copy": "抄送", "urge": "催办", "supervision": "督办", "supervise": "督办",
               "rectification": "整改",
               "supplement_warning": "补正期限"}


@router.get("/notifications", include_in_schema=False)
def notification_list(request: Request, principal: PagePrincipal, unread: bool = False,
                      cursor: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    with reading(request) as session:
        page = notifications.notifications_of(session, person_id=person_id(principal), unread_only=unread,
                                              limit=PAGE_SIZE, cursor=cursor)
    more = {"cursor": page.next_cursor, **({"unread": "true"} if unread else {})} if page.next_cursor else None
    context = {"items": page.items, "more": more, "unread_only": unread, "kinds": KIND_LABELS}
    if is_htmx(request) and cursor:
        return render(request, "notifications/_rows.html", context, partial=True)
    return render(request, "notifications/list.html", context)


@router.post("/notifications/{notification_id}/read", include_in_schema=False)
def read_one(notification_id: int, request: Request, principal: PagePrincipal) -> Response:
    with writing(request) as session:
        item = notifications.mark_read(session, person_id=person_id(principal), notification_id=notification_id)
    if is_htmx(request):
        return render(request, "notifications/_rows.html", {"items": [item], "more": None, "kinds": KIND_LABELS},
                      partial=True)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/read-all", include_in_schema=False)
def read_all(request: Request, principal: PagePrincipal) -> Response:
    with writing(request) as session:
        notifications.mark_all_read(session, person_id=person_id(principal))
    return RedirectResponse("/notifications", status_code=303)
