"""工作台: my to-do (cards and working days left), done, copied to me, my applications and the supervision
orders addressed to my units — each a keyset-paged list from the same queries the API uses, with counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xietong.cases import drafts
from xietong.cases import queries as cases
from xietong.cases.enums import STATUS_LABELS, CaseStatus
from xietong.documents.service import supplement_windows
from xietong.errors import NotFound
from xietong.oversight import queries as oversight
from xietong.pagination import Page
from xietong.security.principal import Principal
from xietong.web.deps import reading, settings_of
from xietong.web.pages.access import PagePrincipal, person_id
from xietong.web.pages.rendering import is_htmx, render

router = APIRouter()
PAGE_SIZE = 20
Cursor = Annotated[str | None, Query(max_length=500)]


@dataclass(frozen=True)
class Ask:
    """What one list is asked for: a page after ``cursor`` (or one row, just to count), filtered."""

    cursor: str | None = None
    total: bool = False
    tz: str = "Asia/Shanghai"
    filters: dict[str, str] = field(default_factory=dict)
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    rows: str  # the partial that renders one page of items
    fetch: Callable[[Session, Principal, Ask], Page[Any]]


def _todo(session: Session, p: Principal, a: Ask) -> Page[Any]:
    return cases.todo(session, principal=p, limit=a.limit, cursor=a.cursor, with_total=a.total, tz=a.tz,
                      by_due=a.filters.get("sort") == "due")


def _done(session: Session, p: Principal, a: Ask) -> Page[Any]:
    return cases.done(session, principal=p, limit=a.limit, cursor=a.cursor, with_total=a.total, tz=a.tz)


def _copied(session: Session, p: Principal, a: Ask) -> Page[Any]:
    unread = True if a.filters.get("unread") == "1" else None
    return oversight.copied_to_me(session, principal=p, unread=unread, limit=a.limit, cursor=a.cursor,
                                  with_total=a.total)


def _mine(session: Session, p: Principal, a: Ask) -> Page[Any]:
    status = a.filters.get("status", "")
    filters = cases.CaseFilter(
        keyword=a.filters.get("keyword", ""), applicant_person_id=person_id(p), statuses=(status,) if status else (),
    )
    return cases.search_cases(session, principal=p, filters=filters, limit=a.limit, cursor=a.cursor,
                              with_total=a.total, tz=a.tz)


def _incoming(session: Session, p: Principal, a: Ask) -> Page[Any]:
    """待受理: applications submitted to my units, waiting for someone to accept (or refuse) them."""
    if not p.unit_ids:
        return Page(items=[], total=0 if a.total else None)
    filters = cases.CaseFilter(handling_unit_ids=tuple(sorted(p.unit_ids)), statuses=("submitted",))
    return cases.search_cases(session, principal=p, filters=filters, limit=a.limit, cursor=a.cursor,
                              with_total=a.total, tz=a.tz)


def _orders(session: Session, p: Principal, a: Ask) -> Page[Any]:
    state = a.filters.get("state") or None
    mine = "issued" if a.filters.get("who") == "issued" else "addressed"  # 我下达的 (supervisors) or 发给我单位的
    return oversight.orders(session, principal=p, mine=mine, state=state if state in ORDER_STATES else None,
                            limit=a.limit, cursor=a.cursor, with_total=a.total)


ORDER_STATES = {"open": "待答复", "answered": "已答复", "closed": "已办结", "overdue": "已逾期"}
TABS = {
    tab.key: tab
    for tab in (
        Tab("todo", "我的待办", "workbench/_todo_rows.html", _todo),
        Tab("incoming", "待受理", "workbench/_case_rows.html", _incoming),
        Tab("done", "我的已办", "workbench/_done_rows.html", _done),
        Tab("copied", "抄送我的", "workbench/_copied_rows.html", _copied),
        Tab("mine", "我的申请", "workbench/_case_rows.html", _mine),
        Tab("orders", "督办单", "workbench/_order_rows.html", _orders),
    )
}
FILTER_KEYS = ("keyword", "status", "unread", "state", "sort", "who")


def _filters(request: Request) -> dict[str, str]:
    return {k: request.query_params[k][:100] for k in FILTER_KEYS if request.query_params.get(k)}


@router.get("/workbench", include_in_schema=False)
def workbench(request: Request, principal: PagePrincipal, tab: str = "todo", cursor: Cursor = None) -> Response:
    if tab not in TABS:
        raise NotFound(code="tab_not_found", detail="没有这个栏目")
    current, filters, tz = TABS[tab], _filters(request), settings_of(request).timezone
    with reading(request) as session:
        page = current.fetch(session, principal, Ask(cursor=cursor, tz=tz, filters=filters))
        windows = _windows(session, tab, page, tz)
        if is_htmx(request):  # "加载更多": just the next page of rows
            return render(request, current.rows, {**_list_context(tab, page, filters), "windows": windows},
                          partial=True)
        counts = {key: t.fetch(session, principal, Ask(total=True, tz=tz, limit=1)).total for key, t in TABS.items()}
        saved = drafts.drafts_of(session, person_id=principal.id) if tab == "mine" and principal.id else []
    context = {
        "tabs": TABS, "tab": tab, "counts": counts, **_list_context(tab, page, filters),
        "statuses": [(s.value, STATUS_LABELS[s]) for s in CaseStatus if s is not CaseStatus.DRAFT],
        "order_states": ORDER_STATES, "drafts": saved, "windows": windows,
    }
    return render(request, "workbench/index.html", context)


def _windows(session: Session, tab: str, page: Page[Any], tz: str) -> dict[int, Any]:
    """待受理 rows carry the §32 window (the 一次性补正告知 deadline) as the case page does."""
    if tab != "incoming":
        return {}
    cases_in = [(c.id, c.submitted_at) for c in page.items if c.submitted_at is not None]
    return supplement_windows(session, cases=cases_in, tz=tz)


def _list_context(tab: str, page: Page[Any], filters: dict[str, str]) -> dict[str, Any]:
    more = None
    if page.next_cursor:
        more = {"tab": tab, "cursor": page.next_cursor, **filters}
    return {"items": page.items, "more": more, "filters": filters, "rows": TABS[tab].rows, "tab": tab}
