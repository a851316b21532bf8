"""Counts of what the demo holds, for the summary the CLI prints: rows per table, cases per status, cards."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from xietong.cases.enums import CaseStatus
from xietong.cases.models import Attachment, Case, Event
from xietong.catalog.models import BaseMatter, LocalMatter, ProcessDefinition
from xietong.clock.cards import Card, card_for
from xietong.directory.models import Person, Region, Unit
from xietong.engine.models import Task
from xietong.system.calendar import work_calendar

#: Statuses whose due time is running (a paused case shows no card).
RUNNING = (CaseStatus.ACCEPTED.value, CaseStatus.IN_PROGRESS.value)


def table_counts(conn: Connection) -> dict[str, int]:
    """Rows that matter to a visitor, by a short English label."""

    def count(table, *where) -> int:  # type: ignore[no-untyped-def]
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

    return {
        "regions": count(Region),
        "units": count(Unit),
        "departments": count(Unit, Unit.parent_id.is_(None)),
        "people": count(Person),
        "base_matters": count(BaseMatter),
        "local_matters": count(LocalMatter),
        "process_definitions": count(ProcessDefinition),
        "cases": count(Case),
        "events": count(Event),
        "tasks": count(Task),
        "open_tasks": count(Task, Task.state == "open"),
        "attachments": count(Attachment),
    }


def status_counts(conn: Connection) -> dict[str, int]:
    """Cases per status, concluded ones split by result (``concluded:granted`` / ``concluded:denied``)."""
    rows = conn.execute(select(Case.status, Case.result, func.count()).group_by(Case.status, Case.result)).all()
    result: dict[str, int] = {}
    for status, outcome, n in rows:
        key = f"{status}:{outcome}" if status == CaseStatus.CONCLUDED.value else status
        result[key] = result.get(key, 0) + int(n)
    return dict(sorted(result.items()))


def card_counts(conn: Connection, now: datetime, tz: str = "Asia/Shanghai") -> dict[str, int]:
    """Open cases whose clock runs, by card at ``now``: red (past due) and yellow (due soon)."""
    calendar = work_calendar(conn, tz)
    rows = conn.execute(
        select(Case.due_at, Case.promised_limit_days).where(Case.status.in_(RUNNING), Case.due_at.is_not(None))
    ).all()
    cards = {Card.RED.value: 0, Card.YELLOW.value: 0}
    for due, limit in rows:
        card = card_for(now, due, limit, calendar) if due is not None else Card.NONE
        if card != Card.NONE:
            cards[card.value] += 1
    return cards
