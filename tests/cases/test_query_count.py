"""Deciding a task sends the same statements whatever the case's history (ARCHITECTURE.md's invariant).

A case of the reference process whose reviews always deny loops back to 受理审查, so one case
builds a long history of real rows (tasks, scopes, events) through the service. The statements
each decision sends are counted at 10 and at 1,000 tasks of history: they must be the same
statements, and their number is pinned so that a regression (or an improvement) shows here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, event, func, select
from sqlalchemy.orm import Session

from tests.factories import joint_approval_process, make_city, publish_matter
from xietong.cases import service
from xietong.cases.models import Event
from xietong.engine.models import Task
from xietong.security.principal import Principal, load_principal

REVIEWERS = ("finance", "hr_social", "big_data")
REVIEWS = tuple(f"review_{f}" for f in REVIEWERS)
ROUND = ("accept", *REVIEWS)  # one loop of the case: 受理审查 approves, every review denies

# Statements sent by complete_task (the principal is loaded before): the locking read, the guarded
# UPDATE of the task and the active scopes of a parallel branch (one statement on PostgreSQL), the
# directory read and the inserts of a step that opens tasks, and the closing writes — separate
# statements on SQLite, one statement with data-modifying CTEs on PostgreSQL. The working calendar's
# fingerprint (so an override committed elsewhere applies at once, ``system/calendar.py``) comes with the
# locking read.
EXPECTED = {
    "sqlite": {"accept": 9, "review_finance": 6, "review_hr_social": 6, "review_big_data": 9},
    "postgresql": {"accept": 7, "review_finance": 3, "review_hr_social": 3, "review_big_data": 5},
}


class Statements:
    """Collects the statements sent on one connection while ``counting``."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sent: list[str] | None = None
        event.listen(conn, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.sent is not None:
            self.sent.append(statement)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.sent = []
        try:
            yield self.sent
        finally:
            self.sent = None

    def close(self) -> None:
        event.remove(self.conn, "before_cursor_execute", self._record)


class LoopingCase:
    """One case of the reference process that goes round and round, decided through the service."""

    def __init__(self, session: Session) -> None:
        self.session = session
        city = make_city(session, holders=1)
        local = publish_matter(session, city, joint_approval_process(REVIEWERS))
        applicant = load_principal(session, city.person("office", "clerk").id)
        self.case_id, _ = service.submit_case(
            session,
            principal=applicant,
            local_matter_id=local.id,
            applicant_unit_id=city.units["office"].id,
            form={"title": "循环审查的申请"},
        )
        acceptor = load_principal(session, city.person("staffing", "clerk").id)
        [first] = service.accept_case(session, principal=acceptor, case_id=self.case_id)
        self.open: list[tuple[int, str]] = [(first, "accept")]
        self.deciders: dict[str, Principal] = {
            "accept": acceptor,
            **{f"review_{f}": load_principal(session, city.person(f, "section_chief").id) for f in REVIEWERS},
        }
        self.history = 0

    def decide_next(self) -> str:
        """Decide the oldest open task: 受理审查 approves, reviews deny. Returns its node."""
        task_id, node = self.open.pop(0)
        approved = node == "accept"
        opened = service.complete_task(
            self.session, principal=self.deciders[node], task_id=task_id, approved=approved, opinion="意见"
        )
        following = list(REVIEWS) if node == "accept" else ["accept"] * len(opened)
        self.open += zip(opened, following, strict=True)
        self.history += 1
        return node


def _round_at(case: LoopingCase, statements: Statements, history: int) -> dict[str, list[str]]:
    """Run the case up to ``history`` decided tasks, then the statements of each decision of one round."""
    while case.history < history:
        case.decide_next()
    sent: dict[str, list[str]] = {}
    while len(sent) < len(ROUND):
        with statements.counting() as recorded:
            node = case.decide_next()
        sent[node] = list(recorded)
    return sent


@pytest.mark.slow
def test_deciding_a_task_sends_the_same_statements_at_10_and_at_1000_tasks_of_history(session: Session) -> None:
    case = LoopingCase(session)
    statements = Statements(session.connection())
    try:
        early = _round_at(case, statements, 10)
        late = _round_at(case, statements, 1000)
    finally:
        statements.close()
    assert late == early
    assert {node: len(sent) for node, sent in late.items()} == EXPECTED[session.connection().dialect.name]
    # the history is real: every decision left its task and its event behind
    tasks = session.scalar(select(func.count()).select_from(Task).where(Task.case_id == case.case_id))
    events = session.scalar(select(func.count()).select_from(Event).where(Event.case_id == case.case_id))
    assert case.history >= 1000 + len(ROUND)
    assert tasks == case.history + len(case.open)
    assert events == case.history + 2  # submitted and accepted, then one per decision
