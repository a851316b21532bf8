"""Resolve relative assignment rules against the directory, and apply delegation (委托) on the way.

Rules are relative (handling unit, applicant unit, a unit by function in the case's region, a post
there), so one base-matter template works in every region. Delegation is resolved here, when the
task is created: a person on leave never receives it; their deputy does, "acting for" them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from xietong.directory.models import Delegation, Membership, Person, Post, Unit
from xietong.engine.errors import RoutingError
from xietong.engine.expressions import ExpressionError, evaluate_list
from xietong.engine.schema import (
    ApplicantLeaderRule,
    ApplicantUnitRef,
    ExpressionRule,
    FixedUnitRef,
    FunctionUnitRef,
    HandlingUnitRef,
    PeopleRule,
    PostRule,
    PostsRule,
)
from xietong.engine.state import CaseView, Slot

LEADER_POST = "leader_in_charge"


class DirectoryAssigner:
    """Assigner backed by the directory tables; memoises lookups for the length of one operation."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._memo: dict[tuple[Any, ...], Any] = {}

    def slots(self, node_id: str, rule: Any, case: CaseView, *, multi: bool, now: datetime) -> list[Slot]:
        if isinstance(rule, PostRule):
            unit_id = self._unit(rule.unit, case)
            if multi:
                return [self._person_slot(pid, unit_id, now) for pid in self._holders(unit_id, rule.post)]
            return [Slot(unit_id=unit_id, post_id=self._post(unit_id, rule.post))]
        if isinstance(rule, PostsRule):
            units = [self._unit(ref, case) for ref in rule.units]
            return [Slot(unit_id=u, post_id=self._post(u, rule.post)) for u in dict.fromkeys(units)]
        if isinstance(rule, ApplicantLeaderRule):
            unit_id = case.applicant_unit_id
            return [Slot(unit_id=unit_id, post_id=self._post(unit_id, LEADER_POST))]
        if isinstance(rule, PeopleRule):
            return [self._person_slot(pid, uid, now) for pid, uid in self._people(rule.people)]
        if isinstance(rule, ExpressionRule):
            try:
                codes = evaluate_list(rule.expr, {"form": case.form})
            except ExpressionError as exc:
                raise RoutingError(code="assignment_failed", detail=f"环节 {node_id} 的办理人表达式：{exc}") from exc
            return [self._person_slot(pid, uid, now) for pid, uid in self._people(codes)]
        raise RoutingError(code="assignment_failed", detail=f"环节 {node_id} 的办理人规则不受支持")

    def _unit(self, ref: Any, case: CaseView) -> int:
        if isinstance(ref, HandlingUnitRef):
            return case.handling_unit_id
        if isinstance(ref, ApplicantUnitRef):
            return case.applicant_unit_id
        if isinstance(ref, FunctionUnitRef):
            key = ("function", case.region_id, ref.function)
            query = select(Unit.id).where(
                Unit.region_id == case.region_id,
                Unit.function == ref.function,
                Unit.parent_id.is_(None),
                Unit.active.is_(True),
            )
            what = f"本区域内职能为“{ref.function}”的单位"
        elif isinstance(ref, FixedUnitRef):
            key = ("unit", ref.code)
            query = select(Unit.id).where(Unit.code == ref.code)
            what = f"单位 {ref.code}"
        else:
            raise RoutingError(code="assignment_failed", detail="不支持的单位引用")
        if key not in self._memo:
            self._memo[key] = self.session.execute(query.limit(1)).scalar()
        if self._memo[key] is None:
            raise RoutingError(code="no_assignee", detail=f"找不到{what}")
        return int(self._memo[key])

    def _post(self, unit_id: int, code: str) -> int:
        key = ("post", unit_id, code)
        if key not in self._memo:
            self._memo[key] = self.session.execute(
                select(Post.id).where(Post.unit_id == unit_id, Post.code == code)
            ).scalar()
        if self._memo[key] is None:
            raise RoutingError(code="no_assignee", detail=f"单位（编号 {unit_id}）没有设置岗位“{code}”")
        return int(self._memo[key])

    def _holders(self, unit_id: int, code: str) -> list[int]:
        post_id = self._post(unit_id, code)
        rows = self.session.execute(
            select(Membership.person_id)
            .join(Person, Person.id == Membership.person_id)
            .where(Membership.unit_id == unit_id, Membership.post_id == post_id, Person.active.is_(True))
            .order_by(Membership.person_id)
        ).scalars()
        return list(rows)

    def _people(self, codes: list[str]) -> list[tuple[int, int]]:
        rows = self.session.execute(
            select(Person.employee_code, Person.id, Membership.unit_id)
            .join(Membership, and_(Membership.person_id == Person.id, Membership.is_primary.is_(True)))
            .where(Person.employee_code.in_(codes), Person.active.is_(True))
        ).all()
        found = {code: (pid, uid) for code, pid, uid in rows}
        missing = [c for c in codes if c not in found]
        if missing:
            raise RoutingError(code="no_assignee", detail=f"找不到办理人：{'、'.join(missing)}")
        return [found[c] for c in dict.fromkeys(codes)]

    def _person_slot(self, person_id: int, unit_id: int, now: datetime) -> Slot:
        deputy = self.session.execute(
            select(Delegation.to_person_id)
            .where(Delegation.from_person_id == person_id, Delegation.starts_at <= now, Delegation.ends_at > now)
            .order_by(Delegation.id.desc())
            .limit(1)
        ).scalar()
        if deputy is None:
            return Slot(unit_id=unit_id, person_id=person_id)
        return Slot(unit_id=unit_id, person_id=int(deputy), acting_for_id=person_id)
