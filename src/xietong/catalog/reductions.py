"""五减: what changed between two versions of a matter, the reduction figures, and their roll-up over a period.

Definitions (see docs/reductions.md): a step is a user task; 减环节 counts the user tasks on the longest
start→end path (loops taken once, parallel branches as one stage); a material is one entry of the list, and
减材料 counts those the applicant must still submit — the entries without a ``shared_kind`` (the catalogue of
shared materials satisfies the others); the limit is the promised limit in working days (0 for an immediate
matter); fees and trips are the version's ``VersionFacts``, read from the process body's
``extensions["facts"]`` (missing means 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field, model_validator
from sqlalchemy import Row, or_, select
from sqlalchemy.orm import Session

from xietong.catalog.forms import FormSchema, Material, parse_form_schema, parse_materials
from xietong.catalog.models import LocalMatter, MatterVersion, ProcessDefinition
from xietong.directory.models import Region, Unit
from xietong.engine.definition import CompiledProcess, compile_process
from xietong.errors import FieldProblem, InvalidInput

FACTS_KEY = "facts"
Measure = Literal[
    "steps", "steps_total", "materials", "required_materials", "submitted_materials", "fields", "limit_days",
    "fee_yuan", "trips",
]
Change = Literal["added", "removed", "changed"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VersionFacts(_Frozen):
    """Facts of a version that have no column yet: the fee an applicant pays and the trips they must make."""

    fee_yuan: Decimal = Field(default=Decimal(0), ge=0, max_digits=12, decimal_places=2)
    trips: int = Field(default=0, ge=0, le=99)


class Reduction(_Frozen):
    """One figure before and after; ``reduced`` is positive when the burden fell."""

    before: Decimal
    after: Decimal

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reduced(self) -> Decimal:
        return self.before - self.after

    def __add__(self, other: Reduction) -> Reduction:
        return Reduction(before=self.before + other.before, after=self.after + other.after)


class ReductionItem(_Frozen):
    """One label of a reduction set and the measure it reports."""

    label: str = Field(min_length=1, max_length=20)
    measure: Measure


class ReductionSet(_Frozen):
    """The labels to report, in order (a system setting may store a custom set)."""

    items: tuple[ReductionItem, ...] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _unique_labels(self) -> ReductionSet:
        labels = [item.label for item in self.items]
        if len(set(labels)) != len(labels):
            raise ValueError("标签重复")
        return self

    @property
    def labels(self) -> list[str]:
        return [item.label for item in self.items]


FIVE_REDUCTIONS = ReductionSet(
    items=(
        ReductionItem(label="减环节", measure="steps"),
        ReductionItem(label="减材料", measure="submitted_materials"),
        ReductionItem(label="减时限", measure="limit_days"),
        ReductionItem(label="减费用", measure="fee_yuan"),
        ReductionItem(label="减跑动", measure="trips"),
    )
)


def version_facts(process_body: Mapping[str, Any]) -> VersionFacts:
    """Read the facts from ``extensions["facts"]`` of a process body; absent facts are 0."""
    raw = (process_body.get("extensions") or {}).get(FACTS_KEY) or {}
    try:
        return VersionFacts.model_validate(raw)
    except ValidationError as exc:
        problems = [
            FieldProblem(".".join(["extensions", FACTS_KEY, *map(str, e["loc"])]), "费用或跑动次数无效", e["type"])
            for e in exc.errors()
        ]
        raise InvalidInput(
            code="version_facts_invalid", detail="事项版本的费用或跑动次数无效", errors=problems
        ) from None


@dataclass(frozen=True)
class VersionView:
    """The parsed content of one matter version, as diffs need it."""

    number: int
    kind: str
    legal_limit_days: int
    promised_limit_days: int
    form: FormSchema
    materials: tuple[Material, ...]
    process: CompiledProcess
    facts: VersionFacts

    @classmethod
    def build(
        cls,
        *,
        number: int,
        kind: str,
        legal_limit_days: int,
        promised_limit_days: int,
        form_schema: Mapping[str, Any],
        materials: Iterable[Any],
        process_body: Mapping[str, Any],
    ) -> VersionView:
        """Parse a version's stored JSON (raises the parsers' errors if it is not valid)."""
        return cls(
            number=number,
            kind=kind,
            legal_limit_days=legal_limit_days,
            promised_limit_days=promised_limit_days,
            form=parse_form_schema(dict(form_schema)),
            materials=tuple(parse_materials(list(materials))),
            process=compile_process(process_body),
            facts=version_facts(process_body),
        )

    @classmethod
    def of(cls, version: MatterVersion, process_body: Mapping[str, Any]) -> VersionView:
        """The view of a version row and its process definition's body."""
        return cls.build(
            number=version.number,
            kind=version.kind,
            legal_limit_days=version.legal_limit_days,
            promised_limit_days=version.promised_limit_days,
            form_schema=version.form_schema,
            materials=version.materials,
            process_body=process_body,
        )

    @property
    def limit_days(self) -> int:
        """The promised limit in working days; an immediate matter (即办件) takes 0."""
        return 0 if self.kind == "immediate" else self.promised_limit_days

    def measures(self) -> dict[Measure, Decimal]:
        """Every measure of this version."""
        return {
            "steps": Decimal(longest_path_steps(self.process)),
            "steps_total": Decimal(len(self.process.user_tasks())),
            "materials": Decimal(len(self.materials)),
            "required_materials": Decimal(sum(1 for m in self.materials if m.required)),
            # 减材料: an entry the applicant unit's catalogue satisfies (``shared_kind``) is not submitted again
            "submitted_materials": Decimal(sum(1 for m in self.materials if m.shared_kind is None)),
            "fields": Decimal(len(self.form.fields)),
            "limit_days": Decimal(self.limit_days),
            "fee_yuan": self.facts.fee_yuan,
            "trips": Decimal(self.facts.trips),
        }


def longest_path_steps(process: CompiledProcess) -> int:
    """The most user tasks on one start→end path, back edges (loops) removed; a 会签 task counts once."""
    nodes = process.nodes
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the DFS stack, 2 done

    def visit(node_id: str) -> None:
        state[node_id] = 1
        for flow in nodes[node_id].outgoing:
            seen = state.get(flow.target)
            if seen == 1:
                back.add((node_id, flow.target))
            elif seen is None:
                visit(flow.target)
        state[node_id] = 2

    visit(process.start)

    @cache
    def best(node_id: str) -> int:
        node = nodes[node_id]
        ahead = [best(f.target) for f in node.outgoing if (node_id, f.target) not in back]
        return (node.type == "user_task") + max(ahead, default=0)

    return best(process.start)


class FieldChange(_Frozen):
    key: str
    label: str
    change: Change
    attributes: tuple[str, ...] = ()  # for "changed": the attributes that differ


class MaterialChange(_Frozen):
    code: str
    name: str
    change: Change


class StepChange(_Frozen):
    id: str
    name: str
    change: Literal["added", "removed"]


class VersionDiff(_Frozen):
    """What changed from one version to the next, with every measure before and after."""

    before_number: int
    after_number: int
    fields: tuple[FieldChange, ...]
    materials: tuple[MaterialChange, ...]
    steps: tuple[StepChange, ...]
    figures: dict[Measure, Reduction]


def diff_versions(before: VersionView, after: VersionView) -> VersionDiff:
    """Compare two versions of one matter (normally consecutive published ones)."""
    old, new = before.measures(), after.measures()
    return VersionDiff(
        before_number=before.number,
        after_number=after.number,
        fields=tuple(_field_changes(before.form, after.form)),
        materials=tuple(_material_changes(before.materials, after.materials)),
        steps=tuple(_step_changes(before.process, after.process)),
        figures={m: Reduction(before=old[m], after=new[m]) for m in old},
    )


def reductions(diff: VersionDiff, labels: ReductionSet = FIVE_REDUCTIONS) -> dict[str, Reduction]:
    """The figures of a diff under the set's labels, in the set's order."""
    return {item.label: diff.figures[item.measure] for item in labels.items}


def _field_changes(before: FormSchema, after: FormSchema) -> list[FieldChange]:
    old = {f.key: f for f in before.fields}
    new = {f.key: f for f in after.fields}
    changes = [FieldChange(key=k, label=f.label, change="removed") for k, f in old.items() if k not in new]
    for key, field in new.items():
        if key not in old:
            changes.append(FieldChange(key=key, label=field.label, change="added"))
            continue
        a, b = old[key].model_dump(), field.model_dump()
        differ = tuple(sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name)))
        if differ:
            changes.append(FieldChange(key=key, label=field.label, change="changed", attributes=differ))
    return changes


def _material_changes(before: Iterable[Material], after: Iterable[Material]) -> list[MaterialChange]:
    old = {m.code: m for m in before}
    new = {m.code: m for m in after}
    changes = [MaterialChange(code=c, name=m.name, change="removed") for c, m in old.items() if c not in new]
    for code, material in new.items():
        if code not in old:
            changes.append(MaterialChange(code=code, name=material.name, change="added"))
        elif old[code] != material:
            changes.append(MaterialChange(code=code, name=material.name, change="changed"))
    return changes


def _step_changes(before: CompiledProcess, after: CompiledProcess) -> list[StepChange]:
    old = {n.id: n.name for n in before.user_tasks()}
    new = {n.id: n.name for n in after.user_tasks()}
    return [StepChange(id=i, name=name, change="removed") for i, name in old.items() if i not in new] + [
        StepChange(id=i, name=name, change="added") for i, name in new.items() if i not in old
    ]


# -- roll-up over a period -------------------------------------------------------------------------


class MatterFigures(_Frozen):
    """One local matter: the versions in force at the period's start and end, and its figures."""

    local_matter_id: int
    code: str
    name: str
    unit_id: int
    unit_name: str
    region_id: int
    region_name: str
    before_number: int
    after_number: int
    figures: dict[str, Reduction]


class GroupFigures(_Frozen):
    """The sum over the matters of one unit or one region."""

    id: int
    code: str
    name: str
    region_name: str
    matters: int
    figures: dict[str, Reduction]


class Rollup(_Frozen):
    period_from: datetime
    period_to: datetime
    labels: tuple[str, ...]
    matters: tuple[MatterFigures, ...]
    units: tuple[GroupFigures, ...]
    regions: tuple[GroupFigures, ...]


def rollup(
    session: Session,
    *,
    period_from: datetime,
    period_to: datetime,
    region_id: int | None = None,
    unit_id: int | None = None,
    labels: ReductionSet = FIVE_REDUCTIONS,
) -> Rollup:
    """Compare, per local matter, the version in force at ``period_from`` with the one at ``period_to``."""
    if period_from.tzinfo is None or period_to.tzinfo is None:
        raise InvalidInput(code="naive_period", detail="统计期间必须带时区")
    if period_from > period_to:
        raise InvalidInput(code="bad_period", detail="统计期间的开始不能晚于结束")
    start = _in_force(session, period_from, region_id, unit_id)
    end = _in_force(session, period_to, region_id, unit_id)
    matters = []
    for matter_id in sorted(start.keys() & end.keys(), key=lambda i: (end[i].region_code, end[i].unit_code, i)):
        row_from, row_to = start[matter_id], end[matter_id]
        figures = reductions(diff_versions(_view(row_from), _view(row_to)), labels)
        matters.append(
            MatterFigures(
                local_matter_id=matter_id,
                code=row_to.matter_code,
                name=row_to.matter_name,
                unit_id=row_to.unit_id,
                unit_name=row_to.unit_name,
                region_id=row_to.region_id,
                region_name=row_to.region_name,
                before_number=row_from.number,
                after_number=row_to.number,
                figures=figures,
            )
        )
    return Rollup(
        period_from=period_from,
        period_to=period_to,
        labels=tuple(labels.labels),
        matters=tuple(matters),
        units=tuple(_groups(matters, end, labels, by_unit=True)),
        regions=tuple(_groups(matters, end, labels, by_unit=False)),
    )


def _in_force(session: Session, at: datetime, region_id: int | None, unit_id: int | None) -> dict[int, Row[Any]]:
    """The version of each local matter in force at ``at``: published by then and not yet retired."""
    query = (
        select(
            MatterVersion.local_matter_id,
            MatterVersion.number,
            MatterVersion.kind,
            MatterVersion.legal_limit_days,
            MatterVersion.promised_limit_days,
            MatterVersion.form_schema,
            MatterVersion.materials,
            ProcessDefinition.body,
            LocalMatter.code.label("matter_code"),
            LocalMatter.name.label("matter_name"),
            Unit.id.label("unit_id"),
            Unit.code.label("unit_code"),
            Unit.name.label("unit_name"),
            Region.id.label("region_id"),
            Region.code.label("region_code"),
            Region.name.label("region_name"),
        )
        .join(ProcessDefinition, ProcessDefinition.id == MatterVersion.process_definition_id)
        .join(LocalMatter, LocalMatter.id == MatterVersion.local_matter_id)
        .join(Unit, Unit.id == LocalMatter.handling_unit_id)
        .join(Region, Region.id == LocalMatter.region_id)
        .where(
            MatterVersion.published_at.is_not(None),
            MatterVersion.published_at <= at,
            or_(MatterVersion.retired_at.is_(None), MatterVersion.retired_at > at),
        )
        .order_by(MatterVersion.local_matter_id, MatterVersion.number)
    )
    if region_id is not None:
        query = query.where(LocalMatter.region_id == region_id)
    if unit_id is not None:
        query = query.where(LocalMatter.handling_unit_id == unit_id)
    # Should two versions overlap (they cannot through the services), the higher number wins.
    return {row.local_matter_id: row for row in session.execute(query)}


def _view(row: Row[Any]) -> VersionView:
    return VersionView.build(
        number=row.number,
        kind=row.kind,
        legal_limit_days=row.legal_limit_days,
        promised_limit_days=row.promised_limit_days,
        form_schema=row.form_schema,
        materials=row.materials,
        process_body=row.body,
    )


def _groups(
    matters: list[MatterFigures], rows: Mapping[int, Row[Any]], labels: ReductionSet, *, by_unit: bool
) -> list[GroupFigures]:
    zero = Reduction(before=Decimal(0), after=Decimal(0))
    groups: dict[int, tuple[Row[Any], int, dict[str, Reduction]]] = {}
    for matter in matters:
        row = rows[matter.local_matter_id]
        key = row.unit_id if by_unit else row.region_id
        _, count, sums = groups.get(key, (row, 0, dict.fromkeys(labels.labels, zero)))
        groups[key] = (row, count + 1, {label: sums[label] + matter.figures[label] for label in labels.labels})
    return [
        GroupFigures(
            id=key,
            code=row.unit_code if by_unit else row.region_code,
            name=row.unit_name if by_unit else row.region_name,
            region_name=row.region_name,
            matters=count,
            figures=sums,
        )
        for key, (row, count, sums) in sorted(groups.items(), key=lambda g: (g[1][0].region_code, g[1][0].unit_code))
    ]
