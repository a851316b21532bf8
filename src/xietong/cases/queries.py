"""The read side of the case library: search, a case's detail, to-do and done lists, the event log.

Every query goes through ``visible_cases`` / ``can`` so a person sees exactly the cases their units
take part in (or that their supervisory scope covers), and every list uses the keyset pagination of
``xietong.pagination``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from xietong.cases.enums import OPEN_STATUSES, PAUSED_STATUSES, STATUS_LABELS, TRANSITIONS, CaseStatus
from xietong.cases.models import Attachment, Case, CaseGrant, Event
from xietong.cases.schemas import AttachmentItem, CaseDetail, CaseSummary, EventOut, TaskItem
from xietong.cases.service.special import leader_facts
from xietong.catalog.models import LocalMatter
from xietong.clock import WorkCalendar
from xietong.clock.cards import card_for
from xietong.clock.due import remaining_working_days
from xietong.db.base import utcnow
from xietong.directory.models import Person, Unit
from xietong.engine.models import Task
from xietong.errors import InvalidInput, NotFound
from xietong.materials.sources import attachment_sources
from xietong.pagination import Page, after, check_limit, decode_cursor, encode_cursor, ordered
from xietong.security.permissions import CaseFacts, TaskFacts, can, holds_task, visible_cases
from xietong.security.principal import Principal
from xietong.system.calendar import work_calendar

HANDLER_UNIT = aliased(Unit)
APPLICANT_UNIT = aliased(Unit)
APPLICANT = aliased(Person)
MAX_KEYWORD = 100


@dataclass(frozen=True)
class CaseFilter:
    """Filters of case search; all optional, combined with AND."""

    keyword: str = ""
    local_matter_id: int | None = None
    base_matter_id: int | None = None
    handling_unit_id: int | None = None
    applicant_unit_id: int | None = None
    applicant_person_id: int | None = None  # 我的申请: the cases this person filed
    handling_unit_ids: tuple[int, ...] = ()  # 待受理: cases handled by any of these units
    region_id: int | None = None
    statuses: tuple[str, ...] = ()
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        unknown = [s for s in self.statuses if s not in CaseStatus.__members__.values()]
        if unknown:
            raise InvalidInput(code="bad_status", detail=f"未知的办件状态：{', '.join(unknown)}")
        keyword = self.keyword.strip()
        if len(keyword) > MAX_KEYWORD:
            raise InvalidInput(code="keyword_too_long", detail=f"关键字不超过 {MAX_KEYWORD} 个字")
        equal = {
            Case.local_matter_id: self.local_matter_id, Case.base_matter_id: self.base_matter_id,
            Case.handling_unit_id: self.handling_unit_id, Case.applicant_unit_id: self.applicant_unit_id,
            Case.region_id: self.region_id, Case.applicant_person_id: self.applicant_person_id,
        }
        clauses = [column == value for column, value in equal.items() if value is not None]
        if keyword:
            clauses.append(Case.search_text.contains(keyword, autoescape=True))
        if self.handling_unit_ids:
            clauses.append(Case.handling_unit_id.in_(self.handling_unit_ids))
        if self.statuses:
            clauses.append(Case.status.in_(self.statuses))
        if self.submitted_from is not None:
            clauses.append(Case.submitted_at >= self.submitted_from)
        if self.submitted_to is not None:
            clauses.append(Case.submitted_at < self.submitted_to)
        return clauses


def _summary_query() -> Select[Any]:
    return (
        select(
            Case,
            LocalMatter.name.label("matter_name"),
            HANDLER_UNIT.name.label("handling_unit_name"),
            APPLICANT_UNIT.name.label("applicant_unit_name"),
            APPLICANT.name.label("applicant_person_name"),
        )
        .join(LocalMatter, LocalMatter.id == Case.local_matter_id)
        .join(HANDLER_UNIT, HANDLER_UNIT.id == Case.handling_unit_id)
        .join(APPLICANT_UNIT, APPLICANT_UNIT.id == Case.applicant_unit_id)
        .outerjoin(APPLICANT, APPLICANT.id == Case.applicant_person_id)  # no person when a client filed it
    )


def _card(case: Case, now: datetime, cal: WorkCalendar) -> tuple[str, int | None]:
    """The card while the clock runs; a paused or closed case shows none (its due time is not running)."""
    status = CaseStatus(case.status)
    if case.due_at is None or status not in OPEN_STATUSES or status in PAUSED_STATUSES:
        return "none", None
    card = card_for(now, case.due_at, case.promised_limit_days, cal)
    return card.value, remaining_working_days(now, case.due_at, cal)


def _summary(row: Any, now: datetime, cal: WorkCalendar) -> CaseSummary:
    case: Case = row[0]
    card, remaining = _card(case, now, cal)
    return CaseSummary(
        id=case.id, number=case.number, title=case.title, matter_name=row.matter_name,
        local_matter_id=case.local_matter_id, status=case.status,
        status_label=STATUS_LABELS[CaseStatus(case.status)], channel=case.channel, region_id=case.region_id,
        handling_unit_id=case.handling_unit_id, handling_unit_name=row.handling_unit_name,
        applicant_unit_id=case.applicant_unit_id, applicant_unit_name=row.applicant_unit_name,
        applicant_person_id=case.applicant_person_id, applicant_person_name=row.applicant_person_name,
        kind=case.kind, promised_limit_days=case.promised_limit_days, submitted_at=case.submitted_at,
        accepted_at=case.accepted_at, due_at=case.due_at, concluded_at=case.concluded_at, result=case.result,
        card=card, remaining_working_days=remaining,
    )


def search_cases(
    session: Session,
    *,
    principal: Principal,
    filters: CaseFilter,
    limit: int = 50,
    cursor: str | None = None,
    with_total: bool = False,
    tz: str = "Asia/Shanghai",
    now: datetime | None = None,
) -> Page[CaseSummary]:
    """Cases this person may read that match the filters, newest submission first."""
    limit, now = check_limit(limit), now or utcnow()
    where = [visible_cases(principal), *filters.clauses()]
    query = _summary_query().where(*where)
    if cursor:
        query = query.where(after(Case.submitted_at, Case.id, decode_cursor(cursor, (datetime, int)), descending=True))
    rows = session.execute(ordered(query, Case.submitted_at, Case.id, descending=True).limit(limit + 1)).all()
    cal = work_calendar(session.connection(), tz)
    items = [_summary(row, now, cal) for row in rows[:limit]]
    next_cursor = encode_cursor((items[-1].submitted_at, items[-1].id)) if len(rows) > limit else None
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) if with_total else None
    return Page(items=items, next_cursor=next_cursor, total=total)


def _facts(case: Case, handling_unit_path: str) -> CaseFacts:
    return CaseFacts(
        id=case.id, region_id=case.region_id, handling_unit_id=case.handling_unit_id,
        applicant_unit_id=case.applicant_unit_id, applicant_person_id=case.applicant_person_id,
        party_units=case.party_units, handling_unit_path=handling_unit_path,
    )


def _readable(session: Session, principal: Principal, case_id: int) -> tuple[Any, CaseFacts]:
    """The case's summary row if this person may read it; an unreadable case is reported as missing."""
    row = session.execute(_summary_query().add_columns(HANDLER_UNIT.path).where(Case.id == case_id)).first()
    if row is not None:
        facts = _facts(row[0], row.path)
        granted = principal.kind == "person" and session.scalar(
            select(CaseGrant.id).where(CaseGrant.case_id == case_id, CaseGrant.person_id == principal.id).limit(1)
        ) is not None
        if can(principal, "read", facts, granted=granted):
            return row, facts
    # Same answer for "absent" and "not yours": a case number is not a way to probe other units' work.
    raise NotFound(code="case_not_found", detail="办件不存在或无权查看")


def case_detail(
    session: Session, *, principal: Principal, case_id: int, tz: str = "Asia/Shanghai", now: datetime | None = None
) -> CaseDetail:
    now = now or utcnow()
    row, facts = _readable(session, principal, case_id)
    case: Case = row[0]
    cal = work_calendar(session.connection(), tz)
    tasks = session.execute(_task_query().where(Task.case_id == case_id, Task.state == "open").order_by(Task.id)).all()
    open_tasks = [_task_item(t, now, cal) for t in tasks]
    actions = [
        operation
        for operation in (
            "accept", "reject", "withdraw", "supplement", "resubmit", "suspend", "resume", "conclude", "archive"
        )
        if CaseStatus(case.status) in TRANSITIONS[operation][0] and can(principal, operation, facts)
    ]
    if case.process_state != "finished" and "conclude" in actions:
        actions.remove("conclude")  # 办结 comes after the process has reached its end
    if case.process_state == "finished" and "supplement" in actions:
        actions.remove("supplement")  # every step has decided: nothing is waiting for a correction
    task_actions = {
        item.id: _task_actions(principal, item)
        for item in open_tasks
        if item.delegate_id == principal.id or holds_task(principal, TaskFacts(item.unit_id, item.post_id,
                                                                                 item.assignee_id))
    }
    actions += _time_actions(session, principal, case, facts, handles=bool(task_actions))
    return CaseDetail(
        case=_summary(row, now, cal), matter_version_id=case.matter_version_id, form=case.form,
        step_results=case.step_results, reason=case.reason,
        result_note=case.result_note, open_tasks=open_tasks, actions=actions, task_actions=task_actions,
        oversight_actions=_oversight_actions(session, principal, case, facts, open_tasks),
    )


def _task_actions(principal: Principal, item: TaskItem) -> list[str]:
    """What the person may do with an open task they hold, or that is lent (委派) to them."""
    if item.delegate_id is not None:
        return ["hand_back"] if item.delegate_id == principal.id else ["recall"]  # lent: nothing else till back
    if item.shared:
        return ["claim", "complete", "return", "transfer"]
    claimed = ["release"] if item.claimed_at is not None and item.post_id is not None else []
    return ["complete", "return", "transfer", "delegate", *claimed]


def _time_actions(session: Session, principal: Principal, case: Case, facts: CaseFacts, *, handles: bool) -> list[str]:
    """特别程序 (start or end) for the handling unit or a step's holder; 延期 for its leader, once."""
    status = CaseStatus(case.status)
    handler = handles or can(principal, "special_procedure", facts)
    found = [
        operation
        for operation in ("start_special_procedure", "end_special_procedure")
        if handler and status in TRANSITIONS[operation][0]
    ]
    if case.process_state == "finished" and "start_special_procedure" in found:
        found.remove("start_special_procedure")  # every step has decided: 办结 is what is left
    running = status in (CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS) and case.due_at is not None
    if running and not case.extended_days and can(
        principal, "extend", facts, leader_facts(session.connection(), case.handling_unit_id)
    ):
        found.append("extend")
    return found


def _oversight_actions(
    session: Session, principal: Principal, case: Case, facts: CaseFacts, open_tasks: list[TaskItem]
) -> list[str]:
    """催办, 督办, 抄送 and 评价 as far as this person may take them now (the services check again)."""
    status, found = CaseStatus(case.status), []
    running = status in (CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS) and bool(open_tasks)
    if running and can(principal, "urge", facts):
        found.append("urge")
    if status in OPEN_STATUSES and can(principal, "supervise", facts):
        found.append("supervise")
    held = [TaskFacts(t.unit_id, t.post_id, t.assignee_id) for t in open_tasks]
    if can(principal, "copy", facts) or any(can(principal, "copy", facts, t) for t in held):
        found.append("copy")
    found += [a for a in ("answer_order", "close_order") if can(principal, a, facts)]  # on the case's orders
    if status in (CaseStatus.CONCLUDED, CaseStatus.ARCHIVED) and can(principal, "rate", facts):
        rated = session.scalar(select(Event.seq).where(Event.case_id == case.id, Event.type == "case.rated").limit(1))
        if rated is None:
            found.append("rate")
    return found


def case_attachments(session: Session, *, principal: Principal, case_id: int) -> list[AttachmentItem]:
    """The files of a case (materials and later uploads), for those who may read the case."""
    _readable(session, principal, case_id)
    rows = list(session.scalars(select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)))
    sources = attachment_sources(session, rows)
    return [
        AttachmentItem(id=a.id, filename=a.filename, content_type=a.content_type, size=a.size,
                       material_code=a.material_code, uploaded_at=a.uploaded_at, source=sources.get(a.id),
                       shared_version_id=a.shared_version_id, source_document_id=a.source_document_id)
        for a in rows
    ]


def case_events(
    session: Session, *, principal: Principal, case_id: int, limit: int = 100, cursor: str | None = None
) -> Page[EventOut]:
    """A case's event log in order (the timeline), for those who may read the case."""
    limit = check_limit(limit)
    _readable(session, principal, case_id)
    query = (
        select(Event, Person.name.label("actor_name"))
        .outerjoin(Person, and_(Event.actor_kind == "person", Person.id == Event.actor_id))
        .where(Event.case_id == case_id)
    )
    if cursor:
        (seq,) = decode_cursor(cursor, (int,))
        query = query.where(Event.seq > seq)
    rows = session.execute(query.order_by(Event.seq).limit(limit + 1)).all()
    items = [
        EventOut(
            seq=e.seq, type=e.type, actor_kind=e.actor_kind, actor_id=e.actor_id, actor_name=actor_name,
            acting_for_id=e.acting_for_id, at=e.at, delta=e.delta, hash=e.hash,
        )
        for e, actor_name in rows[:limit]
    ]
    return Page(items=items, next_cursor=encode_cursor((items[-1].seq,)) if len(rows) > limit else None)


# --- to-do and done -----------------------------------------------------------------------------------------


def _task_query() -> Select[Any]:
    return select(
        Task, Case.number, Case.title, Case.status, Case.due_at.label("case_due_at"), Case.promised_limit_days
    ).join(Case, Case.id == Task.case_id)


def _task_item(row: Any, now: datetime, cal: WorkCalendar) -> TaskItem:
    task: Task = row[0]
    due = task.due_at or row.case_due_at
    status = CaseStatus(row.status)
    running = task.state == "open" and due is not None and status not in PAUSED_STATUSES
    card = card_for(now, due, row.promised_limit_days, cal).value if running else "none"
    remaining = remaining_working_days(now, due, cal) if running else None
    return TaskItem(
        id=task.id, case_id=task.case_id, case_number=row.number, case_title=row.title, case_status=row.status,
        node_id=task.node_id, name=task.name, unit_id=task.unit_id, post_id=task.post_id,
        assignee_id=task.assignee_id, acting_for_id=task.acting_for_id, shared=task.assignee_id is None,
        claimed_at=task.claimed_at, delegate_id=task.delegate_id, state=task.state, created_at=task.created_at,
        due_at=due, card=card, completed_at=task.completed_at, outcome=task.outcome, opinion=task.opinion,
        remaining_working_days=remaining,
    )


def _held_by(principal: Principal) -> ColumnElement[bool]:
    """Open tasks this person holds: assigned or lent (委派) to them, or shared by a post of theirs, unclaimed;
    an application client's: its units' open tasks no person has claimed or been lent (``holds_task``)."""
    if principal.kind == "client":
        if not principal.unit_ids:
            return false()
        return and_(Task.state == "open", Task.assignee_id.is_(None), Task.delegate_id.is_(None),
                    Task.unit_id.in_(sorted(principal.unit_ids)))
    clauses: list[ColumnElement[bool]] = []
    if principal.id is not None:
        clauses.append(Task.assignee_id == principal.id)
        clauses.append(Task.delegate_id == principal.id)  # 委派: lent to them until they hand it back
    if principal.posts:
        shared = tuple_(Task.unit_id, Task.post_id).in_(sorted(principal.posts))
        clauses.append(and_(Task.assignee_id.is_(None), shared))
    return and_(Task.state == "open", or_(*clauses)) if clauses else false()


@dataclass(frozen=True)
class _TaskList:
    where: ColumnElement[bool]
    key: Any  # the task column the list is ordered by (with the id as tie-breaker)
    descending: bool


def _task_page(
    session: Session, spec: _TaskList, *, limit: int, cursor: str | None, with_total: bool, tz: str,
    now: datetime | None,
) -> Page[TaskItem]:
    limit, now = check_limit(limit), now or utcnow()
    query = _task_query().where(spec.where)
    if cursor:
        query = query.where(
            after(spec.key, Task.id, decode_cursor(cursor, (datetime, int)), descending=spec.descending)
        )
    rows = session.execute(ordered(query, spec.key, Task.id, descending=spec.descending).limit(limit + 1)).all()
    cal = work_calendar(session.connection(), tz)
    items = [_task_item(row, now, cal) for row in rows[:limit]]
    last = rows[limit - 1][0] if len(rows) > limit else None
    next_cursor = encode_cursor((getattr(last, spec.key.key), last.id)) if last is not None else None
    total = session.scalar(select(func.count()).select_from(Task).where(spec.where)) if with_total else None
    return Page(items=items, next_cursor=next_cursor, total=total)


def todo(
    session: Session, *, principal: Principal, limit: int = 50, cursor: str | None = None,
    with_total: bool = False, tz: str = "Asia/Shanghai", now: datetime | None = None, by_due: bool = False,
) -> Page[TaskItem]:
    """我的待办: the open tasks this person holds, oldest first (first in, first handled) — or, ``by_due``,
    the step due soonest first (steps without a due time of their own last)."""
    spec = _TaskList(_held_by(principal), Task.due_at if by_due else Task.created_at, descending=False)
    return _task_page(session, spec, limit=limit, cursor=cursor, with_total=with_total, tz=tz, now=now)


def done(
    session: Session, *, principal: Principal, limit: int = 50, cursor: str | None = None,
    with_total: bool = False, tz: str = "Asia/Shanghai", now: datetime | None = None,
) -> Page[TaskItem]:
    """我的已办: tasks this person completed (also on someone's behalf), latest first."""
    mine = and_(Task.completed_by_id == principal.id, Task.state == "completed")
    spec = _TaskList(mine, Task.completed_at, descending=True)
    return _task_page(session, spec, limit=limit, cursor=cursor, with_total=with_total, tz=tz, now=now)


def readable_case(session: Session, principal: Principal, case_id: int) -> Case:
    """The case if this person may read it (404 exactly like a missing one otherwise), for other domains' reads."""
    row, _facts = _readable(session, principal, case_id)
    return row[0]  # type: ignore[no-any-return]


def last_application_form(session: Session, *, principal: Principal, local_matter_id: int) -> dict[str, Any]:
    """The form of this person's latest application of the same matter (to prefill a new one), or ``{}``."""
    if principal.id is None:
        return {}
    form = session.scalar(
        select(Case.form)
        .where(Case.local_matter_id == local_matter_id, Case.applicant_person_id == principal.id,
               Case.submitted_at.is_not(None))
        .order_by(Case.submitted_at.desc(), Case.id.desc())
        .limit(1)
    )
    return dict(form or {})
