"""Reading documents and the approval sheet (for those who may read the case), and administering templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from xietong.cases.enums import STATUS_LABELS, CaseStatus
from xietong.cases.models import Case
from xietong.cases.queries import readable_case
from xietong.catalog.models import LocalMatter
from xietong.clock.due import remaining_working_days
from xietong.db.base import utcnow
from xietong.directory.models import Person, Region, Unit
from xietong.documents.issue import supplement_notice_due, template_for
from xietong.documents.kinds import KINDS, REMEDIES
from xietong.documents.models import Document, DocumentTemplate
from xietong.documents.render import check_template, render
from xietong.documents.warning import notice_given
from xietong.engine.models import Task
from xietong.errors import Forbidden, InvalidInput, NotFound
from xietong.security.permissions import may_administer
from xietong.security.principal import Principal
from xietong.system.calendar import work_calendar

OUTCOMES = {"approve": "同意", "deny": "不同意"}
ENDINGS = {"returned": "退回", "transferred": "转办"}


@dataclass(frozen=True)
class SupplementWindow:
    """行政许可法 §32 for a case awaiting acceptance: by when the 一次性补正告知 must be issued."""

    due_at: datetime
    passed: bool
    days_left: int = 0  # working days after today through the deadline's day: 0 on the last day


def case_documents(session: Session, *, principal: Principal, case_id: int) -> list[Document]:
    readable_case(session, principal, case_id)
    return list(session.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.id)))


def document(session: Session, *, principal: Principal, document_id: int) -> Document:
    missing = NotFound(code="document_not_found", detail="文书不存在或无权查看")
    found = session.get(Document, document_id)
    if found is None:
        raise missing
    try:
        readable_case(session, principal, found.case_id)
    except NotFound:  # a document of a case one may not read answers exactly as a missing document
        raise missing from None
    return found


def supplement_window(
    session: Session, *, principal: Principal, case_id: int, tz: str = "Asia/Shanghai", now: datetime | None = None
) -> SupplementWindow | None:
    """For a submitted case not yet accepted: the §32 deadline and whether it has passed (None otherwise)."""
    case = readable_case(session, principal, case_id)
    if case.status != CaseStatus.SUBMITTED.value or case.submitted_at is None:
        return None
    return supplement_windows(session, cases=[(case.id, case.submitted_at)], tz=tz, now=now).get(case.id)


def supplement_windows(
    session: Session, *, cases: list[tuple[int, datetime]], tz: str = "Asia/Shanghai", now: datetime | None = None
) -> dict[int, SupplementWindow]:
    """The §32 windows of submitted cases (id, submitted_at) the caller may read; none once the notice was given."""
    given = notice_given(session, [case_id for case_id, _ in cases])
    calendar = work_calendar(session.connection(), tz)
    now = now or utcnow()
    windows = {}
    for case_id, submitted_at in cases:
        if case_id not in given:
            due = supplement_notice_due(submitted_at, session, tz)
            windows[case_id] = SupplementWindow(due, now > due, max(remaining_working_days(now, due, calendar), 0))
    return windows


def approval_sheet(
    session: Session, *, principal: Principal, case_id: int, tz: str = "Asia/Shanghai"
) -> tuple[list[tuple[str, str]], list[tuple[str, str, str, str, str]]]:
    """审批单: the case's particulars and every step a person closed, in the order they were closed."""
    case = readable_case(session, principal, case_id)
    zone = ZoneInfo(tz)
    handling = aliased(Unit)
    matter, applicant_unit, handling_unit, region = session.execute(
        select(LocalMatter.name, Unit.name, handling.name, Region.name)
        .select_from(Case).join(LocalMatter, LocalMatter.id == Case.local_matter_id)
        .join(Unit, Unit.id == Case.applicant_unit_id).join(handling, handling.id == Case.handling_unit_id)
        .join(Region, Region.id == Case.region_id)
        .where(Case.id == case_id)
    ).one()
    applicant = session.scalar(select(Person.name).where(Person.id == case.applicant_person_id)) or ""
    header = [
        ("办件编号", case.number), ("事项", matter), ("申请单位", applicant_unit), ("申请人", applicant),
        ("承办单位", f"{handling_unit}（{region}）"), ("申请时间", _time(case.submitted_at, zone)),
        ("受理时间", _time(case.accepted_at, zone)), ("状态", STATUS_LABELS[CaseStatus(case.status)]),
        ("办结时间", _time(case.concluded_at, zone)),
        ("办理结果", {"granted": "准予", "denied": "不予"}.get(case.result or "", "")),
    ]
    rows = session.execute(
        select(Task.name, Unit.name, Person.name, Task.completed_at, Task.state, Task.outcome, Task.opinion)
        .join(Unit, Unit.id == Task.unit_id).join(Person, Person.id == Task.completed_by_id)
        .where(Task.case_id == case_id, Task.completed_by_id.is_not(None)).order_by(Task.completed_at, Task.id)
    ).all()
    steps = [
        (name, unit, person, _time(at, zone),
         "；".join(x for x in (OUTCOMES.get(outcome or "") or ENDINGS.get(state, ""), opinion or "") if x))
        for name, unit, person, at, state, outcome, opinion in rows
    ]
    return header, steps


# -- templates ------------------------------------------------------------------------------------------------

def _require_template_admin(session: Session, principal: Principal, local_matter_id: int | None) -> None:
    if local_matter_id is None:
        allowed = may_administer(principal, "catalog")  # the city default: an all-scope administrator
    else:
        matter = session.get(LocalMatter, local_matter_id)
        if matter is None:
            raise NotFound(code="matter_not_found", detail="事项不存在")
        allowed = may_administer(principal, "catalog", region_id=matter.region_id)
    if not allowed:
        raise Forbidden(code="not_allowed", detail="您无权修改该文书模板")


def _kind(kind: str) -> Any:
    if kind not in KINDS:
        raise InvalidInput(code="unknown_document_kind", detail=f"没有这种文书：{kind}",
                           extra={"kinds": sorted(KINDS)})
    return KINDS[kind]


def templates(session: Session, *, local_matter_id: int | None = None) -> list[dict[str, Any]]:
    """Each kind with the template in force for the matter (or the city), and where it comes from."""
    own = dict(session.execute(
        select(DocumentTemplate.kind, DocumentTemplate.local_matter_id).where(
            (DocumentTemplate.local_matter_id == local_matter_id) | DocumentTemplate.local_matter_id.is_(None))
    ).all())
    return [
        {"kind": k.key, "title": k.title, "placeholders": sorted(k.placeholders),
         "source": "matter" if own.get(k.key) is not None and local_matter_id is not None
         else ("city" if k.key in own else "default"),
         "body": template_for(session, k.key, local_matter_id)}
        for k in KINDS.values()
    ]


def save_template(
    session: Session, *, principal: Principal, kind: str, body: str, local_matter_id: int | None = None
) -> None:
    """Set the city's (or one matter's) template of ``kind``; a template with errors is refused whole."""
    spec = _kind(kind)
    _require_template_admin(session, principal, local_matter_id)
    check_template(body, spec.placeholders)
    existing = session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.kind == kind, DocumentTemplate.local_matter_id.is_(None) if local_matter_id is None
        else DocumentTemplate.local_matter_id == local_matter_id))
    if existing is None:
        session.add(DocumentTemplate(kind=kind, local_matter_id=local_matter_id, body=body,
                                     updated_by_id=principal.id, updated_at=utcnow()))
    else:
        existing.body, existing.updated_by_id, existing.updated_at = body, principal.id, utcnow()
    session.flush()


def preview(kind: str, body: str) -> str:
    """The template filled with sample values, or a 422 naming each error and its line."""
    spec = _kind(kind)
    sample = {
        "number": f"丽编办{spec.abbreviation}〔2026〕1号", "title": spec.title, "date": "2026年12月2日",
        "case_number": "XT33110020261202000001", "matter": "事业单位编制调整", "applicant_unit": "丽水市财政局",
        "applicant_person": "张三", "handling_unit": "中共丽水市委机构编制委员会办公室",
        "submitted_date": "2026年12月1日",
        "accepted_date": "2026年12月2日", "promise": "承诺在10个工作日内办结，即于2026年12月16日前办结。",
        "due_date": "2026年12月16日", "reason": "（理由）", "remedies": REMEDIES,
        "items": "    1. 编制测算表：请补充近三年数据", "window_note": "", "concluded_date": "2026年12月10日",
        "result_note": "", "procedure": "专家评审", "basis": "《中华人民共和国行政许可法》第四十五条",
        "planned": "预计需要10个工作日，", "days": "10",
    }
    return render(body, spec.placeholders, sample)


def _time(at: datetime | None, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if at is not None else ""
