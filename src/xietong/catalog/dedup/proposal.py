"""The de-duplication proposal: groups of raw rows, each a proposed base matter with its implementations.

An administrator reviews it, splits and merges groups (``Proposal.split``, ``Proposal.merge``), and ``confirm``
writes every base matter and local matter in one transaction — or nothing, with every problem listed in Chinese.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.catalog.dedup.normalise import NormalName
from xietong.catalog.dedup.rows import RawRow
from xietong.catalog.dedup.units import resolve_units
from xietong.catalog.models import BaseMatter, LocalMatter
from xietong.catalog.service import create_base_matter, create_local_matter
from xietong.directory.models import Unit
from xietong.errors import FieldProblem, InvalidInput, NotFound

MANUAL = "管理员合并"
T = TypeVar("T")


@dataclass(frozen=True)
class Evidence:
    """Why two rows were joined: the similarity of their normalised names (0–100) and the rule that applied."""

    a: int  # row numbers
    b: int
    score: float
    rule: str


@dataclass(frozen=True)
class NearMiss:
    """Two similar rows a guard rail kept apart, shown to the reviewer as a possible merge."""

    a: int
    b: int
    score: float
    reason: str


@dataclass(frozen=True)
class ProposedBase:
    """The base matter a group would become (基本目录)."""

    name: str
    code: str
    kind: str
    legal_limit_days: int
    function: str | None


@dataclass
class Group:
    """One proposed base matter and its implementations (rows), with the evidence that joined them."""

    id: int
    rows: list[RawRow]
    evidence: list[Evidence]
    base: ProposedBase

    def similarity(self, number: int) -> float | None:
        """The best score joining this row to the rest of its group (None for a group of one)."""
        scores = [e.score for e in self.evidence if number in (e.a, e.b)]
        return max(scores) if scores else None

    def rules(self, number: int) -> list[str]:
        return sorted({e.rule for e in self.evidence if number in (e.a, e.b)})


@dataclass(frozen=True)
class Counts:
    """raw rows → base matters + implementations; ``with_city`` counts county rows joined to a city matter."""

    raw: int
    base: int
    local: int
    with_city: int
    county_only_bases: int


@dataclass
class Proposal:
    """Groups proposed by ``grouping.group_matters``; ``names`` holds every row's normalised name."""

    groups: list[Group]
    names: dict[int, NormalName]
    near_misses: list[NearMiss] = field(default_factory=list)

    def group(self, group_id: int) -> Group:
        for group in self.groups:
            if group.id == group_id:
                return group
        raise NotFound(code="dedup_group_not_found", detail=f"分组 {group_id} 不存在")

    def split(self, group_id: int, rows: Iterable[int]) -> Group:
        """Move these rows (by row number) out of a group into a new group of their own."""
        group = self.group(group_id)
        moving = set(rows)
        unknown = moving - {row.number for row in group.rows}
        if unknown:
            listed = "、".join(str(n) for n in sorted(unknown))
            raise InvalidInput(code="dedup_split_rows", detail=f"第 {listed} 行不在分组 {group_id} 中，无法拆分")
        if not moving or len(moving) == len(group.rows):
            raise InvalidInput(code="dedup_split_empty", detail="拆分须留下至少一行并移出至少一行")
        new = Group(self._next_id(), [r for r in group.rows if r.number in moving], [], group.base)
        group.rows = [r for r in group.rows if r.number not in moving]
        new.evidence = [e for e in group.evidence if e.a in moving and e.b in moving]
        group.evidence = [e for e in group.evidence if e.a not in moving and e.b not in moving]
        for target in (group, new):
            target.base = propose_base(target.rows, self.names, taken=self._codes(besides=target))
        self.groups.append(new)
        return new

    def merge(self, group_ids: Sequence[int]) -> Group:
        """Join groups into the first one named; the reviewer's decision is recorded as evidence."""
        if len(set(group_ids)) < 2:
            raise InvalidInput(code="dedup_merge_few", detail="合并至少需要两个不同的分组")
        groups = [self.group(group_id) for group_id in dict.fromkeys(group_ids)]
        target = groups[0]
        for other in groups[1:]:
            target.evidence += other.evidence
            target.evidence.append(Evidence(target.rows[0].number, other.rows[0].number, 100.0, MANUAL))
            target.rows += other.rows
            self.groups.remove(other)
        target.rows.sort(key=lambda row: row.number)
        target.base = propose_base(target.rows, self.names, taken=self._codes(besides=target))
        return target

    def apply_review(self, assignment: dict[int, str]) -> None:
        """Re-cut the groups as a reviewer labelled the rows (row number → label), by splits and merges."""
        numbers = {row.number for group in self.groups for row in group.rows}
        missing, unknown = sorted(numbers - set(assignment)), sorted(set(assignment) - numbers)
        if missing or unknown:
            problems = [_problem(f"第 {n} 行", "审核表中缺少该行") for n in missing]
            problems += [_problem(f"第 {n} 行", "原始清单中没有该行") for n in unknown]
            raise InvalidInput(code="review_rows", detail="审核表与原始清单的行不一致", errors=problems)
        for group in list(self.groups):
            labels = sorted({assignment[row.number] for row in group.rows})
            for label in labels[1:]:
                self.split(group.id, [row.number for row in group.rows if assignment[row.number] == label])
        by_label: dict[str, list[int]] = {}
        for group in self.groups:
            by_label.setdefault(assignment[group.rows[0].number], []).append(group.id)
        for ids in by_label.values():
            if len(ids) > 1:
                self.merge(ids)

    def counts(self) -> Counts:
        rows = [row for group in self.groups for row in group.rows]
        with_city = sum(
            sum(not row.is_city for row in g.rows) for g in self.groups if any(row.is_city for row in g.rows)
        )
        county_only = sum(not any(row.is_city for row in g.rows) for g in self.groups)
        return Counts(len(rows), len(self.groups), len(rows), with_city, county_only)

    def _next_id(self) -> int:
        return max((g.id for g in self.groups), default=0) + 1

    def _codes(self, *, besides: Group) -> set[str]:
        return {g.base.code for g in self.groups if g is not besides}


def propose_base(rows: Sequence[RawRow], names: dict[int, NormalName], *, taken: set[str]) -> ProposedBase:
    """The base matter a group of rows becomes: the city's row when there is one, else what most rows say."""
    city = [row for row in rows if row.is_city]
    lead = city[0] if city else None
    displays = Counter(names[row.number].display for row in rows)
    name = names[lead.number].display if lead else _most_common(displays)
    kind = lead.kind if lead else _most_common(Counter(row.kind for row in rows))
    legal = lead.legal_limit_days if lead else _most_common(Counter(row.legal_limit_days for row in rows))
    function = _most_common(Counter(row.function for row in rows))
    code = _base_code(rows, lead, names)
    if code in taken:
        code = _generated_code(rows, names)
    return ProposedBase(name=name, code=code, kind=kind, legal_limit_days=legal, function=function)


def _most_common(counter: Counter[T]) -> T:
    best = max(counter.values())
    return min((value for value, n in counter.items() if n == best), key=str)


def code_stem(row: RawRow) -> str:
    """The row's code without its region code and separators: what regions reusing one code share."""
    return row.code.replace(row.region_code, "").strip("-_ .").upper()


def _base_code(rows: Sequence[RawRow], lead: RawRow | None, names: dict[int, NormalName]) -> str:
    if lead is not None and lead.code:
        return lead.code
    stems = Counter(code_stem(row) for row in rows if row.code)
    shared = [stem for stem, n in stems.most_common() if n > 1 and len(stem) >= 6]
    return shared[0] if shared else _generated_code(rows, names)


def _generated_code(rows: Sequence[RawRow], names: dict[int, NormalName]) -> str:
    first = min(rows, key=lambda row: row.number)
    name = names[first.number]
    seed = f"{first.function}|{name.key}|{'|'.join(name.qualifiers)}|{first.number}"
    return "JB-" + hashlib.sha1(seed.encode()).hexdigest()[:10].upper()


# --- confirm ---------------------------------------------------------------------------------------------------


def confirm(session: Session, proposal: Proposal) -> Counts:
    """Write every proposed base matter and its local matters in one transaction; refuse if anything is off."""
    units, problems = resolve_units(session, [row for group in proposal.groups for row in group.rows])
    problems += _proposal_problems(proposal)
    problems += _unit_clashes(proposal, units)
    problems += _code_problems(session, proposal)
    if problems:
        raise InvalidInput(
            code="dedup_inconsistent",
            detail=f"去重结果有 {len(problems)} 处问题，未写入任何数据；请改正后重新确认",
            errors=problems,
        )
    with session.begin_nested():  # nothing stays written if any insert fails
        for group in proposal.groups:
            base = create_base_matter(
                session,
                code=group.base.code,
                name=group.base.name,
                kind=group.base.kind,
                legal_limit_days=group.base.legal_limit_days,
                function=group.base.function,
            )
            for row in group.rows:
                unit = units[row.number]
                create_local_matter(
                    session,
                    base=base,
                    region_id=unit.region_id,
                    handling_unit_id=unit.id,
                    code=row.code or f"{base.code}-{row.region_code}",
                    name=proposal.names[row.number].display,
                )
    return proposal.counts()


def _problem(field_name: str, message: str, code: str = "dedup_inconsistent") -> FieldProblem:
    return FieldProblem(field=field_name, message=message, code=code)


def _proposal_problems(proposal: Proposal) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    seen: dict[int, int] = {}
    for group in proposal.groups:
        if not group.rows:
            problems.append(_problem(f"分组 {group.id}", "分组没有任何事项"))
        if group.base.kind not in ("immediate", "promised"):
            problems.append(_problem(f"分组 {group.id}", "事项类型只能是即办件或承诺件"))
        if not group.base.name:
            problems.append(_problem(f"分组 {group.id}", "基本事项名称为空"))
        for row in group.rows:
            if row.number in seen:
                problems.append(_problem(f"第 {row.number} 行", f"同时出现在分组 {seen[row.number]} 和 {group.id}"))
            seen[row.number] = group.id
            if row.number not in proposal.names:
                problems.append(_problem(f"第 {row.number} 行", "不在原始清单中"))
    return problems


def _unit_clashes(proposal: Proposal, units: dict[int, Unit]) -> list[FieldProblem]:
    """A base matter is implemented once per unit: two rows of one unit in one group must be split."""
    problems = []
    for group in proposal.groups:
        first: dict[int, int] = {}
        for row in group.rows:
            unit = units.get(row.number)
            if unit is None:
                continue
            earlier = first.setdefault(unit.id, row.number)
            if earlier != row.number:
                problems.append(
                    _problem(
                        f"第 {row.number} 行",
                        f"与第 {earlier} 行是同一实施主体的同一基本事项（分组 {group.id}），请拆分",
                    )
                )
    return problems


def _code_problems(session: Session, proposal: Proposal) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    base_codes = Counter(group.base.code for group in proposal.groups)
    existing_base = set(session.scalars(select(BaseMatter.code).where(BaseMatter.code.in_(list(base_codes)))))
    for group in proposal.groups:
        code = group.base.code
        if base_codes[code] > 1:
            problems.append(_problem(f"分组 {group.id}", f"基本事项编码 {code} 被多个分组使用"))
        elif code in existing_base:
            problems.append(_problem(f"分组 {group.id}", f"基本事项编码 {code} 已存在于事项库"))
    local_codes: dict[str, int] = {}
    for group in proposal.groups:
        for row in group.rows:
            code = row.code or f"{group.base.code}-{row.region_code}"
            earlier = local_codes.setdefault(code, row.number)
            if earlier != row.number:
                problems.append(_problem(f"第 {row.number} 行", f"事项编码 {code} 与第 {earlier} 行重复"))
    existing_local = set(session.scalars(select(LocalMatter.code).where(LocalMatter.code.in_(list(local_codes)))))
    problems += [
        _problem(f"第 {number} 行", f"事项编码 {code} 已存在于实施清单")
        for code, number in local_codes.items()
        if code in existing_local
    ]
    return problems
