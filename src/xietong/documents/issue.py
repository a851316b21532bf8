"""Issuing documents: the worker turns the change log into the notices and decisions its events call for.

Like the webhook fan-out it reads sequenced events after its own cursor (``feed_cursor`` row ``documents``,
locked for the transaction) and writes the documents and the new cursor in one transaction, so each event
issues each of its documents exactly once and the hot path writes nothing more. A document is numbered
``{unit}{kind}〔{year}〕{n}号`` — the handling unit's short name, the kind's abbreviation (受, 不受, 补正, 不许,
办结, 特程, 延), the local year of issue and a sequence per (unit name, kind, year) — filled from the matter's
own template or the city default, and frozen as text: a later template change never rewrites it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, aliased

from xietong.cases.models import Case, Event
from xietong.cases.numbering import next_counter
from xietong.catalog.models import LocalMatter
from xietong.clock.due import due_at
from xietong.dataservice.cursors import lock_cursor
from xietong.directory.models import Person, Unit
from xietong.documents.kinds import BY_EVENT, KINDS, REMEDIES, Kind
from xietong.documents.models import Document, DocumentTemplate
from xietong.documents.render import render
from xietong.documents.warning import SUPPLEMENT_WINDOW_DAYS, arm_warning
from xietong.system.calendar import work_calendar

CURSOR = "documents"
BATCH = 500
#: 行政许可法 §32: the applicant is told everything to correct at once, within five (working, §82) days.
APPLICANT_UNIT = aliased(Unit)
HANDLING_UNIT = aliased(Unit)


def issue_documents(session: Session, *, batch: int = BATCH, tz: str = "Asia/Shanghai") -> int:
    """Issue the documents of up to ``batch`` sequenced events after the cursor; returns how many it issued."""
    cursor = lock_cursor(session, CURSOR)
    events = session.execute(
        select(Event.case_id, Event.seq, Event.type, Event.at, Event.delta, Event.position)
        .where(Event.position > cursor.position).order_by(Event.position).limit(batch)
    ).all()
    if not events:
        return 0
    issued = 0
    for event in events:
        if event.type == "case.submitted":
            arm_warning(session, case_id=event.case_id, submitted_at=event.at, tz=tz)
        for kind in BY_EVENT.get(event.type, ()):
            if _applies(kind, event.delta):
                issued += _issue(session, kind, event, tz)
    cursor.position = events[-1].position
    return issued


def supplement_notice_due(submitted_at: datetime, session: Session, tz: str) -> datetime:
    """The end of the window in which a 一次性补正告知 must reach the applicant (else the case counts as accepted):
    the end of the fifth working day after the day the application arrived."""
    return due_at(submitted_at, SUPPLEMENT_WINDOW_DAYS, work_calendar(session.connection(), tz))


def _applies(kind: Kind, delta: dict[str, Any]) -> bool:
    if kind.event != "case.concluded":
        return True
    granted = delta.get("case", {}).get("result") == "granted"
    return granted == (kind.key == "conclusion_notice")


def template_for(session: Session, kind: str, local_matter_id: int | None) -> str:
    """The matter's own template of ``kind``, else the city's, else the built-in default."""
    rows = dict(session.execute(
        select(DocumentTemplate.local_matter_id, DocumentTemplate.body).where(
            DocumentTemplate.kind == kind,
            (DocumentTemplate.local_matter_id == local_matter_id) | DocumentTemplate.local_matter_id.is_(None),
        )
    ).all())
    return rows.get(local_matter_id) or rows.get(None) or KINDS[kind].default


def _issue(session: Session, kind: Kind, event: Any, tz: str) -> int:
    case = session.execute(
        select(Case, LocalMatter.name, APPLICANT_UNIT.name, HANDLING_UNIT.name, HANDLING_UNIT.short_name, Person.name)
        .join(LocalMatter, LocalMatter.id == Case.local_matter_id)
        .join(APPLICANT_UNIT, APPLICANT_UNIT.id == Case.applicant_unit_id)
        .join(HANDLING_UNIT, HANDLING_UNIT.id == Case.handling_unit_id)
        .outerjoin(Person, Person.id == Case.applicant_person_id)
        .where(Case.id == event.case_id)
    ).one()
    row, matter, applicant_unit, handling_unit, short_name, applicant_person = case
    zone = ZoneInfo(tz)
    local = event.at.astimezone(zone)
    unit_name = short_name or handling_unit
    n = next_counter(session.connection(), f"doc:{unit_name}:{kind.key}:{local.year}")
    number = f"{unit_name}{kind.abbreviation}〔{local.year}〕{n}号"
    values = {
        "number": number, "title": kind.title, "date": _date(event.at, zone), "case_number": row.number,
        "matter": matter, "applicant_unit": applicant_unit, "applicant_person": applicant_person,
        "handling_unit": handling_unit, "submitted_date": _date(row.submitted_at, zone),
        **_fields(session, kind, row, event, zone, tz),
    }
    body = render(template_for(session, kind.key, row.local_matter_id), kind.placeholders, values)
    session.execute(insert(Document).values(
        case_id=row.id, event_seq=event.seq, kind=kind.key, number=number, title=kind.title, body=body,
        issued_at=event.at,
    ))
    return 1


def _fields(session: Session, kind: Kind, row: Case, event: Any, zone: ZoneInfo, tz: str) -> dict[str, Any]:
    delta, changes = event.delta, event.delta.get("case", {})
    if kind.key == "acceptance_notice":
        due = _parse(changes.get("due_at")) or row.due_at
        promise = "本事项为即办件，当场办结。" if row.kind == "immediate" else (
            f"承诺在{row.promised_limit_days}个工作日内办结，即于{_date(due, zone)}前办结"
            "（补正、特别程序等时间不计入）。"
        )
        return {"accepted_date": _date(event.at, zone), "promise": promise, "due_date": _date(due, zone)}
    if kind.key == "rejection_decision":
        return {"reason": changes.get("reason") or row.reason or "", "remedies": REMEDIES}
    if kind.key == "supplement_notice":
        items = delta.get("supplement", {}).get("items", [])
        lines = "\n".join(f"    {i}. {_item_name(item)}：{item.get('note', '')}" for i, item in enumerate(items, 1))
        late = row.submitted_at is not None and event.at > supplement_notice_due(row.submitted_at, session, tz)
        note = ("本告知已超过法定的一次性告知期限（收到申请材料之日起五个工作日），依法自收到申请材料之日起即为受理。"
                if late and row.accepted_at is None else "")
        return {"items": lines, "window_note": note}
    if kind.key == "denial_decision":
        return {"reason": changes.get("result_note") or row.result_note or "", "remedies": REMEDIES}
    if kind.key == "conclusion_notice":
        note = changes.get("result_note") or row.result_note
        return {"concluded_date": _date(event.at, zone), "result_note": f"办理意见：{note}" if note else ""}
    if kind.key == "special_procedure_notice":
        procedure = delta.get("special_procedure", {})
        planned = f"预计需要{procedure['planned_days']}个工作日，" if procedure.get("planned_days") else ""
        return {"procedure": procedure.get("label", ""), "reason": procedure.get("reason", ""),
                "basis": procedure.get("basis", ""), "planned": planned}
    if kind.key == "extension_notice":
        extension = delta.get("extension", {})
        return {"days": extension.get("days", ""), "due_date": _date(_parse(extension.get("to")), zone),
                "reason": extension.get("reason", "")}
    return {}


def _item_name(item: dict[str, Any]) -> str:
    return item.get("material_name") or item.get("material") or item.get("field") or "材料"


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _date(at: datetime | None, zone: ZoneInfo) -> str:
    if at is None:
        return ""
    local = at.astimezone(zone)
    return f"{local.year}年{local.month}月{local.day}日"
