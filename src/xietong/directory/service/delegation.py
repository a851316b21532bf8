"""Delegation (委托): while someone is away, the tasks assigned to them go to a stand-in for a period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from xietong.db.base import utcnow
from xietong.directory.errors import not_found, refused
from xietong.directory.models import Delegation, Person
from xietong.directory.service.people import require_person
from xietong.errors import Conflict

REASON_MAX = 200


def set_delegation(
    session: Session,
    *,
    from_person_id: int,
    to_person_id: int,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
) -> Delegation:
    """Delegate a person's tasks to another active person from ``starts_at`` until ``ends_at``."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise refused("delegation_naive_time", "委托起止时间须带时区", "starts_at")
    if ends_at <= starts_at:
        raise refused("delegation_period_invalid", "委托结束时间须晚于开始时间", "ends_at")
    if from_person_id == to_person_id:
        raise refused("delegation_to_self", "不能委托给本人", "to_person_id")
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise refused("delegation_reason_too_long", f"委托事由不能超过 {REASON_MAX} 个字符", "reason")
    giver = require_person(session, person_id=from_person_id)
    stand_in = require_person(session, person_id=to_person_id)
    if not stand_in.active:
        raise refused("delegation_to_inactive", f"{stand_in.name}已停用，不能接受委托", "to_person_id")
    _check_no_overlap(session, giver, stand_in, starts_at, ends_at)
    delegation = Delegation(
        from_person_id=giver.id, to_person_id=stand_in.id, starts_at=starts_at, ends_at=ends_at, reason=reason
    )
    session.add(delegation)
    session.flush()
    return delegation


def cancel_delegation(session: Session, *, delegation_id: int) -> None:
    """End a delegation now; one that has not started yet is removed."""
    delegation = session.get(Delegation, delegation_id)
    if delegation is None:
        raise not_found("delegation", "委托", delegation_id)
    now = utcnow()
    if delegation.starts_at >= now:
        session.delete(delegation)
    elif delegation.ends_at > now:
        delegation.ends_at = now
    session.flush()


def delegate_of(session: Session, *, person_id: int, at: datetime) -> Person | None:
    """Who stands in for the person at that instant, if still active (one hop; chains are not followed)."""
    query = (
        select(Person)
        .join(Delegation, Delegation.to_person_id == Person.id)
        .where(Delegation.from_person_id == person_id, Delegation.starts_at <= at, Delegation.ends_at > at)
        .where(Person.active.is_(True))
    )
    return session.scalar(query)


def delegations_of(session: Session, *, person_id: int) -> list[Delegation]:
    """The delegations a person gave or received, latest start first."""
    involved = or_(Delegation.from_person_id == person_id, Delegation.to_person_id == person_id)
    return list(session.scalars(select(Delegation).where(involved).order_by(Delegation.starts_at.desc())))


def _check_no_overlap(
    session: Session, giver: Person, stand_in: Person, starts_at: datetime, ends_at: datetime
) -> None:
    # One stand-in at a time, and no A→B while B→A: either would make the assignee ambiguous.
    overlapping = and_(Delegation.starts_at < ends_at, Delegation.ends_at > starts_at)
    if session.scalar(select(Delegation.id).where(Delegation.from_person_id == giver.id, overlapping)) is not None:
        raise Conflict(code="delegation_overlaps", detail=f"{giver.name}在该时段已有委托")
    back = and_(Delegation.from_person_id == stand_in.id, Delegation.to_person_id == giver.id, overlapping)
    if session.scalar(select(Delegation.id).where(back)) is not None:
        raise Conflict(code="delegation_cycle", detail=f"{stand_in.name}在该时段已委托给{giver.name}，不能互相委托")
