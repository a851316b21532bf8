"""The read side of oversight: urge counts, a case's copies, 抄送我的, order lists, a case's rating.

Everything about one case is shown only to those who may read it (``can(…, "read", …)``, reported as
missing otherwise, like the case itself); personal lists filter by the person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from xietong.cases.models import Case, CaseGrant
from xietong.cases.service.common import facts
from xietong.directory.models import Person, Unit
from xietong.engine.models import Task
from xietong.errors import Forbidden, NotFound
from xietong.oversight.enums import LEVEL_LABELS
from xietong.oversight.models import OversightOrder, Rating, Urge, UrgeTask
from xietong.oversight.schemas import CopiedItem, CopyOut, OrderOut, RatingOut, UrgeCounts
from xietong.oversight.service.common import task_facts
from xietong.pagination import Page, after, check_limit, decode_cursor, encode_cursor, ordered
from xietong.security.permissions import CaseFacts, can
from xietong.security.principal import Principal

CASE = Case.__table__
GRANT = CaseGrant.__table__
ORDER = OversightOrder.__table__
GRANTER = aliased(Person)


def readable_case(session: Session, principal: Principal, case_id: int) -> CaseFacts:
    """The case's permission facts if this person may read it; otherwise the same 404 as a missing case."""
    row = session.execute(
        select(CASE, Unit.path.label("handling_unit_path"))
        .join(Unit, Unit.id == CASE.c.handling_unit_id)
        .where(CASE.c.id == case_id)
    ).mappings().first()
    if row is not None:
        case = facts(row)
        granted = principal.id is not None and session.scalar(
            select(GRANT.c.id).where(GRANT.c.case_id == case_id, GRANT.c.person_id == principal.id).limit(1)
        ) is not None
        if can(principal, "read", case, granted=granted):
            return case
    raise NotFound(code="case_not_found", detail="办件不存在或无权查看")


def urge_counts(session: Session, *, principal: Principal, case_id: int) -> UrgeCounts:
    """How often the case, and each of its tasks, was urged."""
    readable_case(session, principal, case_id)
    total, last_at = session.execute(
        select(func.count(), func.max(Urge.at)).where(Urge.case_id == case_id)
    ).one()
    per_task = session.execute(
        select(UrgeTask.task_id, func.count())
        .join(Urge, Urge.id == UrgeTask.urge_id)
        .where(Urge.case_id == case_id)
        .group_by(UrgeTask.task_id)
    ).all()
    return UrgeCounts(total=total, by_task={t: n for t, n in per_task}, last_at=last_at)


def case_copies(session: Session, *, principal: Principal, case_id: int) -> list[CopyOut]:
    """Who the case was copied to and who has read it: for those who may copy it, and for each copier."""
    case = readable_case(session, principal, case_id)
    rows = session.execute(  # columns, not entities: a grant read earlier in the session may be stale
        select(GRANT, Person.name.label("person_name"))
        .join(Person, Person.id == GRANT.c.person_id)
        .where(GRANT.c.case_id == case_id, GRANT.c.kind == "copy")
        .order_by(GRANT.c.granted_at, GRANT.c.id)
    ).all()
    tasks = session.execute(
        select(Task.unit_id, Task.post_id, Task.assignee_id).where(Task.case_id == case_id, Task.state == "open")
    ).mappings()
    may_copy = can(principal, "copy", case) or any(can(principal, "copy", case, task_facts(t)) for t in tasks)
    if not may_copy and all(g.granted_by_id != principal.id for g in rows):
        raise Forbidden(code="not_allowed", detail="只有抄送人和办件的承办人员可以查看抄送阅读情况")
    return [
        CopyOut(person_id=g.person_id, person_name=g.person_name, granted_by_id=g.granted_by_id,
                granted_at=g.granted_at, read_at=g.read_at)
        for g in rows
    ]


def copied_to_me(
    session: Session, *, principal: Principal, unread: bool | None = None, limit: int = 50, cursor: str | None = None,
    with_total: bool = False,
) -> Page[CopiedItem]:
    """抄送我的: cases copied to this person, latest first; ``unread`` keeps only the unread (or read) ones."""
    limit = check_limit(limit)
    where = [CaseGrant.person_id == principal.id, CaseGrant.kind == "copy"]
    if unread is not None:
        where.append(CaseGrant.read_at.is_(None) if unread else CaseGrant.read_at.is_not(None))
    query = (
        select(GRANT, Case.number, Case.title, Case.status, GRANTER.name.label("granter"))
        .join(Case, Case.id == GRANT.c.case_id)
        .outerjoin(GRANTER, GRANTER.id == GRANT.c.granted_by_id)
        .where(*where)
    )
    if cursor:
        query = query.where(after(CaseGrant.granted_at, CaseGrant.id, decode_cursor(cursor, (datetime, int)),
                                  descending=True))
    rows = session.execute(ordered(query, CaseGrant.granted_at, CaseGrant.id, descending=True).limit(limit + 1)).all()
    items = [
        CopiedItem(grant_id=g.id, case_id=g.case_id, case_number=g.number, case_title=g.title, case_status=g.status,
                   granted_by_id=g.granted_by_id, granted_by_name=g.granter, granted_at=g.granted_at,
                   read_at=g.read_at)
        for g in rows[:limit]
    ]
    next_cursor = encode_cursor((items[-1].granted_at, items[-1].grant_id)) if len(rows) > limit else None
    total = session.scalar(select(func.count()).select_from(CaseGrant).where(*where)) if with_total else None
    return Page(items=items, next_cursor=next_cursor, total=total)


def _order_query() -> Select[Any]:
    return (  # columns, not entities (the services write orders with Core statements)
        select(ORDER, Case.number.label("case_number"), Case.title.label("case_title"), Unit.name.label("unit_name"))
        .join(Case, Case.id == ORDER.c.case_id)
        .join(Unit, Unit.id == ORDER.c.unit_id)
    )


def _order_out(row: Any) -> OrderOut:
    return OrderOut.model_validate(dict(row._mapping))


def orders(
    session: Session, *, principal: Principal, mine: Literal["issued", "addressed"], kind: str | None = None,
    state: str | None = None, limit: int = 50, cursor: str | None = None, with_total: bool = False,
) -> Page[OrderOut]:
    """Orders this person issued, or orders addressed to one of their units; newest first."""
    limit = check_limit(limit)
    if mine == "issued":
        where = [ORDER.c.issued_by_id == principal.id]
    elif principal.unit_ids:
        where = [ORDER.c.unit_id.in_(sorted(principal.unit_ids))]
    else:
        return Page(items=[], total=0 if with_total else None)
    if kind is not None:
        where.append(ORDER.c.kind == kind)
    if state == "overdue":
        where += [ORDER.c.overdue.is_(True), ORDER.c.state != "closed"]
    elif state is not None:
        where.append(ORDER.c.state == state)
    query = _order_query().where(*where)
    if cursor:
        query = query.where(after(ORDER.c.created_at, ORDER.c.id,
                                  decode_cursor(cursor, (datetime, int)), descending=True))
    rows = session.execute(
        ordered(query, ORDER.c.created_at, ORDER.c.id, descending=True).limit(limit + 1)
    ).all()
    items = [_order_out(r) for r in rows[:limit]]
    next_cursor = encode_cursor((items[-1].created_at, items[-1].id)) if len(rows) > limit else None
    total = session.scalar(select(func.count()).select_from(OversightOrder).where(*where)) if with_total else None
    return Page(items=items, next_cursor=next_cursor, total=total)


def case_orders(session: Session, *, principal: Principal, case_id: int) -> list[OrderOut]:
    """Every 督办 and 整改 order of one case, oldest first (a case has a handful at most)."""
    readable_case(session, principal, case_id)
    rows = session.execute(_order_query().where(ORDER.c.case_id == case_id).order_by(ORDER.c.id)).all()
    return [_order_out(r) for r in rows]


def case_rating(session: Session, *, principal: Principal, case_id: int) -> RatingOut:
    """The case's rating, for those who may read the case."""
    readable_case(session, principal, case_id)
    rating = session.scalar(select(Rating).where(Rating.case_id == case_id))
    if rating is None:
        raise NotFound(code="rating_not_found", detail="该办件尚未评价")
    return RatingOut(id=rating.id, case_id=rating.case_id, level=rating.level, level_label=LEVEL_LABELS[rating.level],
                     comment=rating.comment, at=rating.at, rectification_id=rating.rectification_id)
