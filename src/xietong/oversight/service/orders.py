"""督办 and 整改 orders: issued (督办 by a supervisor; 整改 by a bad rating), answered, closed or sent back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from xietong.cases.enums import OPEN_STATUSES
from xietong.cases.events import SYSTEM
from xietong.cases.models import CaseGrant
from xietong.cases.service.common import Operation, lock_case, require
from xietong.clock.due import due_at
from xietong.db.base import utcnow
from xietong.errors import Conflict, InvalidInput, NotFound
from xietong.oversight.models import OversightOrder
from xietong.oversight.service.common import actor, case_label, clean_text, notice, unit_members
from xietong.security.principal import Principal
from xietong.system.calendar import work_calendar

ORDER = OversightOrder.__table__
GRANT = CaseGrant.__table__
MAX_DAYS = 60
KIND_LABELS = {"supervision": "督办", "rectification": "整改"}
DUE_TIMERS = {"supervision": "supervision_due", "rectification": "rectification_due"}


def new_order(
    op: Operation, *, kind: str, content: str, deadline_at: datetime, issued_by_id: int | None
) -> tuple[dict[str, Any], list[tuple[str, list[dict[str, Any]]]]]:
    """Insert an order addressed to the case's handling unit; returns its event section and the timer and notice."""
    row, now = op.row, op.now
    order_id = op.conn.execute(
        insert(ORDER)
        .values(kind=kind, case_id=row["id"], unit_id=row["handling_unit_id"], issued_by_id=issued_by_id,
                content=content, deadline_at=deadline_at, state="open", overdue=False, sent_back=0, created_at=now)
        .returning(ORDER.c.id)
    ).scalar_one()
    timer = {"kind": DUE_TIMERS[kind], "case_id": row["id"], "task_id": None, "state": "pending", "attempts": 0,
             "payload": {"order_id": order_id}, "fire_at": deadline_at}
    members = unit_members(op.conn, row["handling_unit_id"])
    message = notice(f"case.{kind}_ordered", case_id=row["id"], person_ids=members,
                     title=f"{KIND_LABELS[kind]}：{case_label(row)}", now=now, kind=kind, order_id=order_id)
    section = {"id": order_id, "kind": kind, "unit_id": row["handling_unit_id"], "content": content,
               "deadline_at": deadline_at}
    return section, [("timer", [timer]), ("outbox", [message])]


def deadline_of(op: Operation, *, deadline: date | None, days: int | None) -> datetime:
    """The end of the given local date, or of the N-th working day after today (today not counted)."""
    if (deadline is None) == (days is None):
        raise InvalidInput(code="deadline_required", detail="请给出督办期限：一个日期，或若干个工作日")
    calendar = work_calendar(op.conn, op.tz)
    if days is not None:
        if not 1 <= days <= MAX_DAYS:
            raise InvalidInput(code="bad_deadline", detail=f"督办期限须在 1 到 {MAX_DAYS} 个工作日之间")
        return due_at(op.now, days, calendar)
    assert deadline is not None
    if deadline < calendar.local_date(op.now):
        raise InvalidInput(code="bad_deadline", detail="督办期限不能早于今天")
    return calendar.end_of_day(deadline)


def issue_supervision(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    content: str,
    deadline: date | None = None,
    days: int | None = None,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> int:
    """督办: order the handling unit to act by a deadline; the supervisor gets a 督办 grant on the case."""
    content = clean_text(content, field="content", label="督办内容", required=True)
    now = now or utcnow()
    row = lock_case(session, case_id)
    require(session, principal, "supervise", row)
    if row["status"] not in OPEN_STATUSES:
        raise Conflict(code="wrong_case_status", detail="只能督办尚未办结的办件", extra={"status": row["status"]})
    op = Operation(session, row, actor(principal), now, tz)
    section, inserts = new_order(op, kind="supervision", content=content,
                                 deadline_at=deadline_of(op, deadline=deadline, days=days), issued_by_id=principal.id)
    has_grant = op.conn.execute(select(GRANT.c.id).where(
        GRANT.c.case_id == case_id, GRANT.c.person_id == principal.id, GRANT.c.kind == "supervise").limit(1)).first()
    if has_grant is None:
        op.conn.execute(insert(GRANT).values(case_id=case_id, person_id=principal.id, kind="supervise",
                                             granted_by_id=principal.id, granted_at=now))
    op.finish("case.supervision_ordered", delta={"oversight": {"order": section}}, inserts=inserts)
    return int(section["id"])


def _locked_order(session: Session, order_id: int) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The order's case row (locked first, as the lock order wants), then the order itself."""
    conn = session.connection()
    case_id = conn.execute(select(ORDER.c.case_id).where(ORDER.c.id == order_id)).scalar()
    if case_id is None:
        raise NotFound(code="order_not_found", detail=f"督办或整改单不存在（编号 {order_id}）")
    row = lock_case(session, case_id)
    order = conn.execute(select(ORDER).where(ORDER.c.id == order_id)).mappings().one()
    return row, order


def _require_state(order: Mapping[str, Any], state: str, detail: str) -> None:
    if order["state"] != state:
        raise Conflict(code="wrong_order_state", detail=detail, extra={"state": order["state"]})


_WHAT = {"answered": "已答复", "closed": "已办结", "sent_back": "被退回", "overdue": "已逾期"}


def _finish(
    op: Operation, order: Mapping[str, Any], what: str, values: dict[str, Any], *, notify: list[int],
    note: dict[str, Any] | None = None,
) -> None:
    """Write ``values`` to the order and append ``case.<kind>_<what>`` (``note`` goes to the event only)."""
    op.conn.execute(update(ORDER).where(ORDER.c.id == order["id"]).values(values))
    kind = order["kind"]
    inserts = []
    if notify:
        title = f"{KIND_LABELS[kind]}{_WHAT[what]}：{case_label(op.row)}"
        message = notice(f"case.{kind}_{what}", case_id=order["case_id"], person_ids=notify, title=title,
                         now=op.now, kind=kind, order_id=order["id"])
        inserts = [("outbox", [message])]
    section = {"id": order["id"], "kind": kind, **values, **(note or {})}
    op.finish(f"case.{kind}_{what}", delta={"oversight": {"order": section}}, inserts=inserts)


def _require_on_order(session: Session, principal: Principal, action: str, row: Any, order_id: int) -> None:
    """``require``, but someone who may not read the case hears of a missing order, as for any absent id."""
    try:
        require(session, principal, action, row)
    except NotFound:
        raise NotFound(code="order_not_found", detail=f"督办或整改单不存在（编号 {order_id}）") from None


def answer_order(
    session: Session, *, principal: Principal, order_id: int, answer: str, now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> None:
    """The handling unit answers an open order (督办 or 整改)."""
    answer = clean_text(answer, field="answer", label="答复内容", required=True)
    now = now or utcnow()
    row, order = _locked_order(session, order_id)
    _require_on_order(session, principal, "answer_order", row, order_id)
    _require_state(order, "open", "该单已答复或已办结，不能再答复")
    op = Operation(session, row, actor(principal), now, tz)
    values = {"state": "answered", "answer": answer, "answered_by_id": principal.id, "answered_at": now}
    notify = [order["issued_by_id"]] if order["issued_by_id"] is not None else []
    _finish(op, order, "answered", values, notify=notify)


def close_order(
    session: Session, *, principal: Principal, order_id: int, now: datetime | None = None, tz: str = "Asia/Shanghai"
) -> None:
    """A supervisor (or the reform office) accepts an answered order: it is closed."""
    now = now or utcnow()
    row, order = _locked_order(session, order_id)
    _require_on_order(session, principal, "close_order", row, order_id)
    _require_state(order, "answered", "该单尚未答复或已办结，不能办结")
    op = Operation(session, row, actor(principal), now, tz)
    _finish(op, order, "closed", {"state": "closed", "closed_by_id": principal.id, "closed_at": now}, notify=[])


def send_back_order(
    session: Session, *, principal: Principal, order_id: int, reason: str, now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> None:
    """A supervisor sends an answer back for a better one; past its deadline the order is overdue at once."""
    reason = clean_text(reason, field="reason", label="退回理由", required=True)
    now = now or utcnow()
    row, order = _locked_order(session, order_id)
    _require_on_order(session, principal, "close_order", row, order_id)
    _require_state(order, "answered", "该单尚未答复或已办结，不能退回")
    op = Operation(session, row, actor(principal), now, tz)
    values = {"state": "open", "sent_back": order["sent_back"] + 1,
              "overdue": order["overdue"] or now > order["deadline_at"]}
    _finish(op, order, "sent_back", values, notify=unit_members(op.conn, order["unit_id"]), note={"reason": reason})


def mark_overdue(session: Session, *, order_id: int, now: datetime | None = None) -> bool:
    """An open order past its deadline becomes overdue (by the system); True when it changed.

    Re-checked under the case lock: an order answered or closed meanwhile, or already overdue, is left alone.
    """
    if session.connection().execute(select(ORDER.c.id).where(ORDER.c.id == order_id)).first() is None:
        return False
    row, order = _locked_order(session, order_id)
    if order["state"] != "open" or order["overdue"]:
        return False
    op = Operation(session, row, SYSTEM, now or utcnow(), "Asia/Shanghai")
    _finish(op, order, "overdue", {"overdue": True}, notify=[])
    return True
