"""Resolve relative assignment rules against the directory, and apply delegation (委托) on the way.

Rules are relative (handling unit, applicant unit, a unit by function in the case's region, a post
there), so one base-matter template works in every region. Delegation is resolved here, when the
task is created: a person on leave never receives it; their deputy does, "acting for" them.

Given the compiled process, the assigner reads every unit and post the process's rules can name
for this case in one query, the first time a rule needs one; an operation that opens several
tasks (a parallel split) then costs one directory round trip, not two per task. Nothing is kept
beyond the operation, so a change to the directory counts from the next operation on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, and_, bindparam, false, or_, select
from sqlalchemy.orm import Session

from xietong.db import fastpath
from xietong.directory.models import Delegation, Membership, Person, Post, Unit, UnitLineage
from xietong.engine.definition import CompiledProcess
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

UNIT = Unit.__table__
POST = Post.__table__
MEMBERSHIP = Membership.__table__
PERSON = Person.__table__
DELEGATION = Delegation.__table__

_FUNCTION_UNIT = select(UNIT.c.id).where(
    UNIT.c.region_id == bindparam("b_region"),
    UNIT.c.function == bindparam("b_function"),
    UNIT.c.parent_id.is_(None),
    UNIT.c.active.is_(True),
).limit(1)
_FIXED_UNIT = select(UNIT.c.id, UNIT.c.active).where(UNIT.c.code == bindparam("b_code")).limit(1)
LINEAGE = UnitLineage.__table__
# A process names a unit by code; once that unit is merged away (机构改革) its work goes to the successor.
_MERGED_INTO = select(LINEAGE.c.successor_id).where(
    LINEAGE.c.predecessor_id == bindparam("b_unit"), LINEAGE.c.kind == "merge").order_by(LINEAGE.c.id.desc()).limit(1)
_POST = select(POST.c.id).where(POST.c.unit_id == bindparam("b_unit"), POST.c.code == bindparam("b_code"))


@lru_cache(maxsize=64)
def _directory(n_codes: int, n_functions: int, n_unit_codes: int) -> Any:
    """Every unit a process's rules can name for one case, with the posts of the codes they use.

    Built once per count of names with plain parameters (``b_code0``…), not expanding ones, so the
    compiled statement is reused as it is.
    """

    def params(prefix: str, n: int) -> list[Any]:
        return [bindparam(f"{prefix}{i}") for i in range(n)]

    posts = and_(POST.c.unit_id == UNIT.c.id, POST.c.code.in_(params("b_code", n_codes)) if n_codes else false())
    units = [UNIT.c.id.in_([bindparam("b_handling_unit"), bindparam("b_applicant_unit")])]
    if n_functions:
        units.append(
            and_(
                UNIT.c.region_id == bindparam("b_region"),
                UNIT.c.function.in_(params("b_function", n_functions)),
                UNIT.c.parent_id.is_(None),
                UNIT.c.active.is_(True),
            )
        )
    if n_unit_codes:
        units.append(UNIT.c.code.in_(params("b_unit_code", n_unit_codes)))
    return (
        select(
            UNIT.c.id,
            UNIT.c.code,
            UNIT.c.region_id,
            UNIT.c.function,
            UNIT.c.parent_id,
            UNIT.c.active,
            POST.c.id.label("post_id"),
            POST.c.code.label("post_code"),
        )
        .select_from(UNIT.outerjoin(POST, posts))
        .where(or_(*units))
        .order_by(UNIT.c.id, POST.c.id)
    )


_HOLDERS = (
    select(MEMBERSHIP.c.person_id)
    .join(PERSON, PERSON.c.id == MEMBERSHIP.c.person_id)
    .where(
        MEMBERSHIP.c.unit_id == bindparam("b_unit"),
        MEMBERSHIP.c.post_id == bindparam("b_post"),
        PERSON.c.active.is_(True),
    )
    .order_by(MEMBERSHIP.c.person_id)
)
_PEOPLE = (
    select(PERSON.c.employee_code, PERSON.c.id, MEMBERSHIP.c.unit_id)
    .join(MEMBERSHIP, and_(MEMBERSHIP.c.person_id == PERSON.c.id, MEMBERSHIP.c.is_primary.is_(True)))
    .where(PERSON.c.employee_code.in_(bindparam("b_codes", expanding=True)), PERSON.c.active.is_(True))
)
_DEPUTIES = (
    select(DELEGATION.c.from_person_id, DELEGATION.c.to_person_id)
    .where(
        DELEGATION.c.from_person_id.in_(bindparam("b_people", expanding=True)),
        DELEGATION.c.starts_at <= bindparam("b_now"),
        DELEGATION.c.ends_at > bindparam("b_now"),
    )
    .order_by(DELEGATION.c.id.desc())
)


class DirectoryAssigner:
    """Assigner backed by the directory tables; memoises lookups for the length of one operation.

    With ``process``, the first lookup reads every unit and post that process's rules can name for
    the case at once. Given a connection rather than a session, it lives inside that transaction.
    """

    def __init__(self, session: Session | Connection, process: CompiledProcess | None = None) -> None:
        self.session = session
        self.process = process
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._prefetched = False

    def slots(self, node_id: str, rule: Any, case: CaseView, *, multi: bool, now: datetime) -> list[Slot]:
        if isinstance(rule, PostRule | PostsRule | ApplicantLeaderRule):
            self._prefetch(case)
        if isinstance(rule, PostRule):
            unit_id = self._unit(rule.unit, case)
            if multi:
                return self._person_slots([(pid, unit_id) for pid in self._holders(unit_id, rule.post)], now)
            return [Slot(unit_id=unit_id, post_id=self._post(unit_id, rule.post))]
        if isinstance(rule, PostsRule):
            units = [self._unit(ref, case) for ref in rule.units]
            return [Slot(unit_id=u, post_id=self._post(u, rule.post)) for u in dict.fromkeys(units)]
        if isinstance(rule, ApplicantLeaderRule):
            unit_id = case.applicant_unit_id
            return [Slot(unit_id=unit_id, post_id=self._post(unit_id, LEADER_POST))]
        if isinstance(rule, PeopleRule):
            return self._person_slots(self._people(rule.people), now)
        if isinstance(rule, ExpressionRule):
            try:
                codes = evaluate_list(rule.expr, {"form": case.form})
            except ExpressionError as exc:
                raise RoutingError(code="assignment_failed", detail=f"环节 {node_id} 的办理人表达式：{exc}") from exc
            return self._person_slots(self._people(codes), now)
        raise RoutingError(code="assignment_failed", detail=f"环节 {node_id} 的办理人规则不受支持")

    def _execute(self, statement: Any, params: dict[str, Any]) -> Any:
        session = self.session
        conn = session if isinstance(session, Connection) else session.connection()
        return conn.execute(statement, params)

    def _fast(self, statement: Any, params: dict[str, Any]) -> fastpath.Result:
        session = self.session
        return fastpath.execute(session if isinstance(session, Connection) else session.connection(), statement, params)

    def _prefetch(self, case: CaseView) -> None:
        """Fill the memo with every unit and post the process can name for ``case`` (one query)."""
        if self.process is None or self._prefetched:
            return
        self._prefetched = True
        functions, unit_codes, codes = _names(self.process)
        params: dict[str, Any] = {
            "b_handling_unit": case.handling_unit_id,
            "b_applicant_unit": case.applicant_unit_id,
        }
        if functions:
            params["b_region"] = case.region_id
        for prefix, names in (("b_code", codes), ("b_function", functions), ("b_unit_code", unit_codes)):
            params.update({f"{prefix}{i}": name for i, name in enumerate(sorted(names))})
        rows = self._fast(_directory(len(codes), len(functions), len(unit_codes)), params).tuples()
        memo = self._memo
        for function in functions:
            memo[("function", case.region_id, function)] = None
        for code in unit_codes:
            memo[("unit", code)] = None
        for row in rows:
            unit_id, unit_code, region_id, function, parent_id, active, post_id, post_code = row
            if (
                function in functions
                and region_id == case.region_id
                and parent_id is None
                and active
                and memo[("function", region_id, function)] is None
            ):
                memo[("function", region_id, function)] = unit_id
            if unit_code in unit_codes:
                memo[("unit", unit_code)] = unit_id if active else self._merged_into(unit_id)
            for code in codes:
                memo.setdefault(("post", unit_id, code), None)
            if post_id is not None and memo[("post", unit_id, post_code)] is None:
                memo[("post", unit_id, post_code)] = post_id

    def _unit(self, ref: Any, case: CaseView) -> int:
        if isinstance(ref, HandlingUnitRef):
            return case.handling_unit_id
        if isinstance(ref, ApplicantUnitRef):
            return case.applicant_unit_id
        if isinstance(ref, FunctionUnitRef):
            key: tuple[Any, ...] = ("function", case.region_id, ref.function)
            query, params = _FUNCTION_UNIT, {"b_region": case.region_id, "b_function": ref.function}
            what = f"本区域内职能为“{ref.function}”的单位"
        elif isinstance(ref, FixedUnitRef):
            key = ("unit", ref.code)
            query, params = _FIXED_UNIT, {"b_code": ref.code}
            what = f"单位 {ref.code}"
        else:
            raise RoutingError(code="assignment_failed", detail="不支持的单位引用")
        if key not in self._memo:
            found = self._execute(query, params).first()
            if found is not None and len(found) > 1 and not found[1]:
                self._memo[key] = self._merged_into(found[0])
            else:
                self._memo[key] = found[0] if found is not None else None
        if self._memo[key] is None:
            raise RoutingError(code="no_assignee", detail=f"找不到{what}")
        return int(self._memo[key])

    def _merged_into(self, unit_id: int) -> int | None:
        """The active unit a retired one was merged into, following merges (None: retired without successor)."""
        seen = {unit_id}
        while (successor := self._execute(_MERGED_INTO, {"b_unit": unit_id}).scalar()) is not None:
            if successor in seen:
                return None
            unit_id = successor
            seen.add(unit_id)
            if self._execute(select(UNIT.c.active).where(UNIT.c.id == unit_id), {}).scalar():
                return unit_id
        return None

    def _post(self, unit_id: int, code: str) -> int:
        key = ("post", unit_id, code)
        if key not in self._memo:
            self._memo[key] = self._fast(_POST, {"b_unit": unit_id, "b_code": code}).scalar()
        if self._memo[key] is None:
            raise RoutingError(code="no_assignee", detail=f"单位（编号 {unit_id}）没有设置岗位“{code}”")
        return int(self._memo[key])

    def _holders(self, unit_id: int, code: str) -> list[int]:
        post_id = self._post(unit_id, code)
        return self._fast(_HOLDERS, {"b_unit": unit_id, "b_post": post_id}).scalars()

    def _people(self, codes: list[str]) -> list[tuple[int, int]]:
        rows = self._execute(_PEOPLE, {"b_codes": list(codes)}).all()
        found = {code: (pid, uid) for code, pid, uid in rows}
        missing = [c for c in codes if c not in found]
        if missing:
            raise RoutingError(code="no_assignee", detail=f"找不到办理人：{'、'.join(missing)}")
        return [found[c] for c in dict.fromkeys(codes)]

    def _person_slots(self, people: list[tuple[int, int]], now: datetime) -> list[Slot]:
        """Slots for (person, unit) pairs, each given to the person's deputy while a delegation runs."""
        if not people:
            return []
        deputies: dict[int, int] = {}
        rows = self._execute(_DEPUTIES, {"b_people": sorted({p for p, _ in people}), "b_now": now})
        for from_id, to_id in rows:
            deputies.setdefault(from_id, int(to_id))  # the latest delegation wins
        slots = []
        for person_id, unit_id in people:
            deputy = deputies.get(person_id)
            if deputy is None:
                slots.append(Slot(unit_id=unit_id, person_id=person_id))
            else:
                slots.append(Slot(unit_id=unit_id, person_id=deputy, acting_for_id=person_id))
        return slots


_Names = tuple[frozenset[str], frozenset[str], frozenset[str]]
_names_by_digest: dict[str, _Names] = {}


def _names(process: CompiledProcess) -> _Names:
    """The unit functions, fixed unit codes and post codes the process's rules use (cached: immutable)."""
    names = _names_by_digest.get(process.digest)
    if names is None:
        names = _names_by_digest[process.digest] = _collect_names(process)
    return names


def _collect_names(process: CompiledProcess) -> _Names:
    functions: set[str] = set()
    unit_codes: set[str] = set()
    codes: set[str] = set()

    def add(refs: Iterable[Any]) -> None:
        for ref in refs:
            if isinstance(ref, FunctionUnitRef):
                functions.add(ref.function)
            elif isinstance(ref, FixedUnitRef):
                unit_codes.add(ref.code)

    for node in process.nodes.values():
        rule = node.assign
        if isinstance(rule, PostRule):
            add([rule.unit])
            codes.add(rule.post)
        elif isinstance(rule, PostsRule):
            add(rule.units)
            codes.add(rule.post)
        elif isinstance(rule, ApplicantLeaderRule):
            codes.add(LEADER_POST)
    return frozenset(functions), frozenset(unit_codes), frozenset(codes)
