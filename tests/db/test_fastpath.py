"""The fast path sends hot statements itself — and sends them exactly as SQLAlchemy would have."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from tests.factories import joint_approval_process, make_city, publish_matter
from xietong.cases import service
from xietong.cases.models import Case, Event
from xietong.db import fastpath
from xietong.db.base import utcnow
from xietong.engine import store
from xietong.engine.models import Scope, Task
from xietong.security.principal import load_principal

CASE = Case.__table__
EVENT = Event.__table__
SCOPE = Scope.__table__
TASK = Task.__table__


def _submitted_case(session: Session) -> int:
    city = make_city(session, holders=1)
    local = publish_matter(session, city, joint_approval_process(("finance", "hr_social")))
    applicant = load_principal(session, city.person("office", "clerk").id)
    case_id, _ = service.submit_case(
        session, principal=applicant, local_matter_id=local.id,
        applicant_unit_id=city.units["office"].id, form={"title": "快速路径"},
    )
    return case_id


def _prepared(statement: Any, session: Session, keys: tuple[str, ...]) -> fastpath.Prepared | None:
    return fastpath._prepared[(statement, session.connection().dialect.name, keys, False)]


def _scope(case_id: int, generation: int) -> dict[str, Any]:
    return {
        "case_id": case_id, "parent_id": None, "kind": "parallel", "node_id": f"split_{generation}",
        "generation": generation, "state": "active", "expected": 1, "arrived": 0, "approved_count": 0,
        "denied_count": 0, "outcome": None, "data": {"g": generation}, "created_at": utcnow(), "closed_at": None,
    }


def test_a_constant_python_default_is_bound_by_the_fast_path(session: Session) -> None:
    case_id = _submitted_case(session)
    scope_id = fastpath.execute(session.connection(), store._INSERT_SCOPES, _scope(case_id, 1)).rows[0]["id"]
    row = {
        "case_id": case_id, "scope_id": scope_id, "node_id": "accept", "name": "受理", "seq": 0,
        "unit_id": session.scalar(select(CASE.c.handling_unit_id).where(CASE.c.id == case_id)),
        "state": "open", "created_at": utcnow(),
    }  # no "card": its default is a Python-side constant
    statement = insert(TASK).returning(TASK.c.id, TASK.c.card)
    result = fastpath.execute(session.connection(), statement, row)

    assert _prepared(statement, session, tuple(row)) is not None, "the insert fell back to SQLAlchemy"
    assert [r["card"] for r in result.rows] == ["none"]


def test_an_insert_without_returning_goes_by_the_fast_path(session: Session) -> None:
    case_id = _submitted_case(session)
    head = session.execute(select(EVENT).where(EVENT.c.case_id == case_id)).mappings().one()
    row = {k: head[k] for k in ("type", "actor_kind", "actor_id", "acting_for_id", "at", "delta", "prev_hash",
                                "hash", "position")}
    row.update(case_id=case_id, seq=2)
    statement = insert(EVENT)
    fastpath.execute(session.connection(), statement, row)

    assert _prepared(statement, session, tuple(row)) is not None
    assert session.scalar(select(EVENT.c.delta).where(EVENT.c.case_id == case_id, EVENT.c.seq == 2)) == head["delta"]


def test_a_multi_row_insert_gives_each_row_its_own_id(session: Session) -> None:
    case_id = _submitted_case(session)
    rows = [_scope(case_id, g) for g in (7, 3, 5)]
    sent: list[str] = []
    conn = session.connection()
    listener = lambda _c, _cur, sql, *_a: sent.append(sql)  # noqa: E731
    event.listen(conn, "before_cursor_execute", listener)
    try:
        ids = store._insert_returning_ids(conn, store._INSERT_SCOPES, store._INSERT_SCOPES_IN_ORDER,
                                          store._SCOPE_KEY, rows)
    finally:
        event.remove(conn, "before_cursor_execute", listener)

    assert len(sent) == 1, "one statement for the three rows, heard by the listener"
    stored = dict(session.execute(select(SCOPE.c.id, SCOPE.c.node_id).where(SCOPE.c.id.in_(ids))).all())
    assert [stored[i] for i in ids] == ["split_7", "split_3", "split_5"]
