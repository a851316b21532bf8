"""The case page: header with number, status, due time and card; the process diagram; the timeline; the
actions this person may take now, each opening its dialog (``case_actions.py`` says what each one calls)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from xietong.cases import queries
from xietong.cases import service as cases
from xietong.cases.schemas import CaseDetail
from xietong.cases.service.special import SPECIAL_KINDS
from xietong.catalog.queries import process_of_version, require_version
from xietong.directory.service import search_people
from xietong.documents.service import case_documents, supplement_window
from xietong.errors import DomainError, NotFound
from xietong.oversight import queries as oversight_queries
from xietong.oversight import service as oversight
from xietong.oversight.enums import LEVEL_LABELS
from xietong.oversight.schemas import OrderOut
from xietong.security.principal import Principal
from xietong.web.api.oversight import note_copy_read
from xietong.web.deps import reading, settings_of, writing
from xietong.web.pages import diagram, situations, timeline
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.case_actions import ACTIONS, ORDER_BUTTONS, RESULTS, TASK_BUTTONS, Action, Call
from xietong.web.pages.forms import field_errors, posted_form, posted_materials, schema_of
from xietong.web.pages.rendering import is_htmx, plain, render
from xietong.web.problems import STATUS_BY_KIND

router = APIRouter()
TIMELINE_LIMIT = 200


def _step_names(process: dict[str, Any]) -> dict[str, str]:
    return {str(n["id"]): str(n.get("name") or n["id"]) for n in process.get("nodes", [])}


@router.get("/cases/{case_id}", include_in_schema=False)
def case_page(case_id: int, request: Request, principal: PagePrincipal) -> Response:
    tz = settings_of(request).timezone
    with reading(request) as session:
        detail = queries.case_detail(session, principal=principal, case_id=case_id, tz=tz)
        events = queries.case_events(session, principal=principal, case_id=case_id, limit=TIMELINE_LIMIT)
        files = queries.case_attachments(session, principal=principal, case_id=case_id)
        documents = [plain(d) for d in case_documents(session, principal=principal, case_id=case_id)]
        window = supplement_window(session, principal=principal, case_id=case_id, tz=tz)  # §32, until accepted
        orders = oversight_queries.case_orders(session, principal=principal, case_id=case_id)
        process = process_of_version(session, version_id=detail.matter_version_id)
        version = require_version(session, version_id=detail.matter_version_id)
        labels = {f.key: f.label for f in schema_of(version.form_schema).fields}
        answers = situations.case_answers(detail.form, version.situations)  # 办理情形 chosen at submission
    note_copy_read(request, principal, case_id)  # 抄送 read receipt, as the API's detail does
    names = _step_names(process)
    done = set(detail.step_results)
    if detail.case.status not in ("submitted", "withdrawn", "rejected"):
        done.add("start")
    if detail.case.status in ("concluded", "archived"):
        done |= set(names)
    current = {t.node_id for t in detail.open_tasks}
    context = {
        "detail": detail, "c": detail.case, "entries": timeline.entries(events.items, names),
        "more_events": events.next_cursor is not None, "files": files, "documents": documents,
        "supplement_window": window,
        "diagram": diagram.diagram(process, done=done, current=current), "state_labels": diagram.STATE_LABELS,
        "case_buttons": [ACTIONS[a] for a in (*detail.actions, *detail.oversight_actions)
                         if a in ACTIONS and not ACTIONS[a].on_order],
        "orders": [(o, _order_buttons(detail, o)) for o in orders],
        "task_buttons": _task_buttons(detail, _multi_nodes(process)), "step_names": names, "labels": labels,
        "situation_answers": answers,
    }
    return render(request, "cases/page.html", context)


def _multi_nodes(process: dict[str, Any]) -> set[str]:
    """Steps signed by several people (会签/或签): where 加签 makes sense."""
    return {str(n["id"]) for n in process.get("nodes", []) if n.get("multi")}


def _task_buttons(detail: CaseDetail, multi: set[str]) -> list[tuple[Any, list[Action]]]:
    rows = []
    for task in detail.open_tasks:
        allowed = detail.task_actions.get(task.id, [])
        buttons = [ACTIONS[k] for a in allowed for k in TASK_BUTTONS.get(a, ())]
        if task.node_id in multi and "complete" in allowed:
            buttons.append(ACTIONS["add_signers"])
        if buttons:
            rows.append((task, buttons))
    return rows


def _order_buttons(detail: CaseDetail, order: OrderOut) -> list[Action]:
    rules = ORDER_BUTTONS.get(order.state, {})
    return [ACTIONS[k] for gate, keys in rules.items() if gate in detail.oversight_actions for k in keys]


def _allowed(detail: CaseDetail, action: Action, task_id: int | None, multi: set[str],
             orders: list[OrderOut]) -> bool:
    """The dialog is only offered for what the page would show as a button (the service checks again)."""
    if action.on_order:
        return any(o.id == task_id and action in _order_buttons(detail, o) for o in orders)
    if action.on_task:
        return any(action in buttons for task, buttons in _task_buttons(detail, multi) if task.id == task_id)
    return action.key in detail.actions or action.key in detail.oversight_actions


PICKER_PAGE = 30


def _picker_units(detail: CaseDetail, action: Action, task_id: int | None) -> list[int]:
    """Whom a dialog may pick from: 转办 and 委派 stay in the step's unit; 抄送 and 加签 the units taking part now."""
    if action.fields == "transfer":
        units = [t.unit_id for t in detail.open_tasks if t.id == task_id]
    else:
        c = detail.case
        units = [c.handling_unit_id, c.applicant_unit_id, *(t.unit_id for t in detail.open_tasks)]
    return list(dict.fromkeys(units))


def _dialog_context(session: Session, principal: Principal, detail: CaseDetail, action: Action,
                    task_id: int | None) -> dict[str, Any]:
    """What a dialog offers to choose from: return targets, colleagues, saved phrases, the form to correct."""
    extra: dict[str, Any] = {"results": RESULTS, "levels": LEVEL_LABELS, "special_kinds": SPECIAL_KINDS}
    if action.fields == "opinion":
        extra["phrases"] = [o.text for o in oversight.saved_opinions(session, principal=principal)]
    elif action.fields == "return":
        extra["targets"] = cases.return_targets(session, principal=principal, task_id=task_id or 0)
    elif action.fields in ("transfer", "people"):
        extra["picker_units"] = _picker_units(detail, action, task_id)
        page = search_people(session, unit_ids=extra["picker_units"], exclude_id=principal.id, limit=PICKER_PAGE)
        extra["people"], extra["more_people"] = page.items, page.next_cursor
    elif action.fields == "resubmit":
        version = require_version(session, version_id=detail.matter_version_id)
        extra["schema"] = schema_of(version.form_schema)
        extra["values"] = {f"f.{k}": v for k, v in detail.form.items()}
    return extra


def _load(request: Request, principal: Principal, case_id: int, key: str, task_id: int | None
          ) -> tuple[Action, CaseDetail, dict[str, Any]]:
    action = ACTIONS.get(key)
    if action is None:
        raise NotFound(code="action_not_found", detail="没有这个操作")
    with reading(request) as session:
        detail = queries.case_detail(session, principal=principal, case_id=case_id, tz=settings_of(request).timezone)
        multi = _multi_nodes(process_of_version(session, version_id=detail.matter_version_id))
        orders = oversight_queries.case_orders(session, principal=principal, case_id=case_id) if action.on_order else []
        if not _allowed(detail, action, task_id, multi, orders):
            raise NotFound(code="action_not_available", detail="该操作当前不可用（可能已被他人办理），请刷新页面")
        extra = _dialog_context(session, principal, detail, action, task_id)
    return action, detail, extra


def _dialog(request: Request, action: Action, detail: CaseDetail, task_id: int | None, extra: dict[str, Any], *,
            values: dict[str, Any] | None = None, error: DomainError | None = None) -> Response:
    form_keys = frozenset(f.key for f in extra["schema"].fields) if "schema" in extra else frozenset()
    context = {
        "action": action, "c": detail.case, "task_id": task_id, **extra,
        "values": {**extra.get("values", {}), **(values or {})},
        "error": error, "errors": field_errors(error, form_keys) if error else {},
    }
    status = STATUS_BY_KIND.get(error.kind, 422) if error else 200
    return render(request, "cases/_dialog.html", context, status_code=status, partial=True)


@router.get("/cases/{case_id}/actions/{key}", include_in_schema=False)
def action_dialog(case_id: int, key: str, request: Request, principal: PagePrincipal, task: int | None = None,
                  order: int | None = None) -> Response:
    target = order if order is not None else task
    action, detail, extra = _load(request, principal, case_id, key, target)
    return _dialog(request, action, detail, target, extra)


@router.get("/cases/{case_id}/actions/{key}/people", include_in_schema=False)
def picker_people(case_id: int, key: str, request: Request, principal: PagePrincipal, task: int | None = None,
                  q: Annotated[str, Query(max_length=50)] = "",
                  cursor: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """The colleague picker's rows (htmx): people of the dialog's units matching ``q``, keyset-paged; the ones
    already chosen (sent back by the form) stay on top, checked."""
    action, detail, extra = _load(request, principal, case_id, key, task)
    if "picker_units" not in extra:
        raise NotFound(code="action_not_found", detail="该操作不需要选择人员")
    chosen = [int(v) for v in request.query_params.getlist("person_ids") + request.query_params.getlist("person_id")
              if v.isdigit()]
    with reading(request) as session:
        kept = search_people(session, unit_ids=extra["picker_units"], exclude_id=principal.id, only_ids=chosen,
                             limit=PICKER_PAGE).items if chosen and not cursor else []
        page = search_people(session, unit_ids=extra["picker_units"], keyword=q, cursor=cursor,
                             exclude_id=principal.id, limit=PICKER_PAGE)
    kept_ids = {p.id for p in kept}
    people = kept + [p for p in page.items if p.id not in kept_ids]
    context = {"action": action, "c": detail.case, "task_id": task, "people": people, "more_people": page.next_cursor,
               "chosen": [str(i) for i in kept_ids], "q": q, "appending": bool(cursor)}
    return render(request, "cases/fields/_people_rows.html", context, partial=True)


@router.post("/cases/{case_id}/actions/{key}", include_in_schema=False)
async def do_action(case_id: int, key: str, request: Request, principal: PagePrincipal, task: int | None = None,
                    order: int | None = None) -> Response:
    data = await request.form()
    try:
        return await _run_in_thread(request, principal, case_id, key, order if order is not None else task, data)
    finally:
        await data.close()  # uploaded files' temporary files


async def _run_in_thread(request: Request, principal: Principal, case_id: int, key: str, task_id: int | None,
                         data: Any) -> Response:
    return await run_in_threadpool(_run, request, principal, case_id, key, task_id, data)


def _run(request: Request, principal: Principal, case_id: int, key: str, task_id: int | None, data: Any) -> Response:
    action, detail, extra = _load(request, principal, case_id, key, task_id)
    values: dict[str, Any] = {k: (data.getlist(k) if len(data.getlist(k)) > 1 else data.get(k)) for k in data}
    form: dict[str, Any] = {k: v for k, v in values.items() if not k.startswith(("f.", "m."))}
    if "schema" in extra:
        form["case_form"] = posted_form(extra["schema"], data)
        form["materials"] = posted_materials(data)
        values.update({f"f.{k}": v for k, v in form["case_form"].items()})  # tables come back as rows
    settings = settings_of(request)
    call = Call(principal, case_id, task_id, form, settings.timezone, settings.urge_interval_minutes)
    try:
        with writing(request) as session:
            action.run(session, call)
    except DomainError as exc:
        if exc.kind == "unauthenticated":
            raise
        return _dialog(request, action, detail, task_id, extra, values=values, error=exc)
    target = f"/cases/{case_id}?done={action.key}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
