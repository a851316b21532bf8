"""五减: version diffs and reduction figures against hand-computed values, the period roll-up and its .xlsx."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import City, joint_approval_process, linear_process, make_city, post_rule, publish_matter
from xietong.catalog import service as catalog
from xietong.catalog.models import LocalMatter, MatterVersion, ProcessDefinition
from xietong.catalog.reductions import (
    FIVE_REDUCTIONS,
    FieldChange,
    MaterialChange,
    Reduction,
    ReductionItem,
    ReductionSet,
    StepChange,
    VersionView,
    diff_versions,
    longest_path_steps,
    reductions,
    rollup,
)
from xietong.catalog.reductions_xlsx import export_rollup
from xietong.engine.definition import compile_process
from xietong.errors import InvalidInput

STEP = post_rule("staffing")


def material(code: str, name: str, required: bool = True) -> dict[str, Any]:
    return {"code": code, "name": name, "required": required, "formats": ["pdf"]}


def process(*steps: str, fee: str | None = None, trips: int | None = None) -> dict[str, Any]:
    body = linear_process(*((s, STEP) for s in steps))
    facts = {k: v for k, v in (("fee_yuan", fee), ("trips", trips)) if v is not None}
    if facts:
        body["extensions"] = {"facts": facts}
    return body


FORM_BEFORE: dict[str, Any] = {
    "schema": "xietong.form/1",
    "fields": [
        {"key": "title", "label": "申请事由", "type": "text", "required": True, "max_length": 200},
        {"key": "amount", "label": "金额（万元）", "type": "number", "min": 0},
        {"key": "remark", "label": "备注", "type": "text"},
    ],
}
FORM_AFTER: dict[str, Any] = {
    "schema": "xietong.form/1",
    "fields": [
        {"key": "title", "label": "申请事项", "type": "text", "required": True, "max_length": 100},
        {"key": "remark", "label": "备注", "type": "text"},
        {"key": "contact", "label": "联系电话", "type": "text"},
    ],
}
MATERIALS_BEFORE = [
    material("APPLY", "申请表"),
    material("LICENCE", "营业执照"),
    material("ID_CARD", "身份证明"),
    material("PROOF", "无犯罪证明", required=False),
]
MATERIALS_AFTER = MATERIALS_BEFORE[:2]
PROCESS_BEFORE = process("accept", "review_a", "review_b", "approve", fee="50.00", trips=2)
PROCESS_AFTER = process("accept", "review", "approve")  # review_a and review_b merged; no fee, no trip


def view(number: int, form: dict[str, Any], materials: list[Any], body: dict[str, Any], limit: int) -> VersionView:
    return VersionView.build(
        number=number,
        kind="promised",
        legal_limit_days=20,
        promised_limit_days=limit,
        form_schema=form,
        materials=materials,
        process_body=body,
    )


BEFORE = view(1, FORM_BEFORE, MATERIALS_BEFORE, PROCESS_BEFORE, 10)
AFTER = view(2, FORM_AFTER, MATERIALS_AFTER, PROCESS_AFTER, 5)


def fig(before: int | str, after: int | str) -> Reduction:
    return Reduction(before=Decimal(before), after=Decimal(after))


def test_five_reductions_of_a_hand_computed_version() -> None:
    figures = reductions(diff_versions(BEFORE, AFTER))
    assert list(figures) == ["减环节", "减材料", "减时限", "减费用", "减跑动"]
    assert figures["减环节"] == fig(4, 3) and figures["减环节"].reduced == 1
    assert figures["减材料"] == fig(4, 2) and figures["减材料"].reduced == 2
    assert figures["减时限"] == fig(10, 5) and figures["减时限"].reduced == 5
    assert figures["减费用"] == fig("50.00", 0) and figures["减费用"].reduced == Decimal("50.00")
    assert figures["减跑动"] == fig(2, 0) and figures["减跑动"].reduced == 2
    assert figures["减材料"].model_dump() == {"before": 4, "after": 2, "reduced": 2}


def test_the_diff_names_materials_steps_and_fields() -> None:
    diff = diff_versions(BEFORE, AFTER)
    assert (diff.before_number, diff.after_number) == (1, 2)
    assert diff.materials == (
        MaterialChange(code="ID_CARD", name="身份证明", change="removed"),
        MaterialChange(code="PROOF", name="无犯罪证明", change="removed"),
    )
    assert diff.steps == (
        StepChange(id="review_a", name="review_a", change="removed"),
        StepChange(id="review_b", name="review_b", change="removed"),
        StepChange(id="review", name="review", change="added"),
    )
    assert diff.fields == (
        FieldChange(key="amount", label="金额（万元）", change="removed"),
        FieldChange(key="title", label="申请事项", change="changed", attributes=("label", "max_length")),
        FieldChange(key="contact", label="联系电话", change="added"),
    )
    assert diff.figures["fields"] == fig(3, 3)
    assert diff.figures["required_materials"] == fig(3, 2)
    assert diff.figures["steps_total"] == fig(4, 3)


def test_an_unchanged_version_reduces_nothing_and_a_changed_material_is_named() -> None:
    assert diff_versions(BEFORE, BEFORE).materials == ()
    assert all(r.reduced == 0 for r in reductions(diff_versions(BEFORE, BEFORE)).values())
    loosened = [{**MATERIALS_BEFORE[0], "formats": ["pdf", "ofd"]}, *MATERIALS_BEFORE[1:]]
    diff = diff_versions(BEFORE, view(2, FORM_BEFORE, loosened, PROCESS_BEFORE, 10))
    assert diff.materials == (MaterialChange(code="APPLY", name="申请表", change="changed"),)
    assert diff.fields == () and diff.steps == ()


def test_steps_count_the_longest_path_not_parallel_branches_or_loops() -> None:
    joint = compile_process(joint_approval_process())  # accept → 3 parallel reviews → approve, loop back to accept
    assert longest_path_steps(joint) == 3
    assert len(joint.user_tasks()) == 5
    serial = view(1, FORM_BEFORE, [], process("accept", "r1", "r2", "r3", "approve"), 10)
    parallel = view(2, FORM_BEFORE, [], joint_approval_process(), 10)
    diff = diff_versions(serial, parallel)
    assert diff.figures["steps"] == fig(5, 3)  # 串联改并联 counts as two steps fewer
    assert diff.figures["steps_total"] == fig(5, 5)


def test_an_immediate_matter_has_no_limit_and_missing_facts_are_zero() -> None:
    immediate = VersionView.build(
        number=3,
        kind="immediate",
        legal_limit_days=0,
        promised_limit_days=0,
        form_schema=FORM_AFTER,
        materials=[],
        process_body=process("accept"),
    )
    figures = reductions(diff_versions(AFTER, immediate))
    assert figures["减时限"] == fig(5, 0)
    assert figures["减费用"] == fig(0, 0) and figures["减跑动"] == fig(0, 0)


def test_bad_facts_are_refused_in_chinese() -> None:
    with pytest.raises(InvalidInput) as caught:
        view(1, FORM_BEFORE, [], process("accept", fee="-1", trips=2), 10)
    assert caught.value.code == "version_facts_invalid"
    assert [p.field for p in caught.value.errors] == ["extensions.facts.fee_yuan"]


def test_a_custom_label_set_picks_and_orders_measures() -> None:
    custom = ReductionSet(
        items=(
            ReductionItem(label="减跑动", measure="trips"),
            ReductionItem(label="减填报", measure="fields"),
            ReductionItem(label="减必交材料", measure="required_materials"),
        )
    )
    figures = reductions(diff_versions(BEFORE, AFTER), custom)
    assert list(figures) == ["减跑动", "减填报", "减必交材料"]
    assert figures["减填报"] == fig(3, 3) and figures["减必交材料"] == fig(3, 2)
    assert FIVE_REDUCTIONS.labels == ["减环节", "减材料", "减时限", "减费用", "减跑动"]
    with pytest.raises(ValidationError):
        ReductionSet(items=(ReductionItem(label="减跑动", measure="trips"),) * 2)
    with pytest.raises(ValidationError):
        ReductionItem(label="减证明", measure="certificates")  # type: ignore[arg-type]


# -- roll-up -------------------------------------------------------------------------------------------


def at(month: int, day: int = 1) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def new_version(session: Session, local: LocalMatter, materials: list[Any], body: dict[str, Any], limit: int) -> None:
    version = catalog.draft_version(
        session, local=local, form_schema=FORM_BEFORE, materials=materials, process=body, promised_limit_days=limit
    )
    catalog.publish_version(session, version_id=version.id)


def dated(session: Session, local: LocalMatter, *spans: tuple[datetime, datetime | None]) -> None:
    """Set each version's publication and retirement (the services stamp 'now')."""
    for number, (published, retired) in enumerate(spans, start=1):
        session.execute(
            update(MatterVersion)
            .where(MatterVersion.local_matter_id == local.id, MatterVersion.number == number)
            .values(published_at=published, retired_at=retired)
        )


@pytest.fixture
def city_matters(session: Session) -> tuple[City, LocalMatter, LocalMatter]:
    """Two matters of two units in one region, plus a matter that starts mid-period and one elsewhere."""
    city = make_city(session)
    first = publish_matter(
        session, city, PROCESS_BEFORE, handling="staffing", form=FORM_BEFORE, materials=MATERIALS_BEFORE, limit=10
    )
    new_version(session, first, MATERIALS_AFTER, PROCESS_AFTER, 5)
    dated(session, first, (at(1), at(3)), (at(3), None))

    three = [material("A", "甲"), material("B", "乙"), material("C", "丙")]
    second = publish_matter(
        session, city, process("accept", "approve", trips=1), handling="finance", materials=three, limit=8
    )
    new_version(session, second, three[:2], process("accept", "approve", fee="20", trips=3), 7)
    new_version(session, second, three[:1], process("approve", trips=1), 6)
    dated(session, second, (at(1), at(4)), (at(4), at(5)), (at(5), None))

    late = publish_matter(session, city, process("accept"), handling="staffing")
    dated(session, late, (at(3), None))  # not in force at the period's start: left out
    elsewhere = publish_matter(session, make_city(session), process("accept", "approve"))
    dated(session, elsewhere, (at(1), None))
    session.flush()
    return city, first, second


def test_rollup_compares_start_and_end_versions_per_matter_unit_and_region(
    session: Session, city_matters: tuple[City, LocalMatter, LocalMatter]
) -> None:
    city, first, second = city_matters
    report = rollup(session, period_from=at(2), period_to=at(6), region_id=city.region.id)
    # in unit-code order: "<region>.finance" before "<region>.staffing"
    assert [(m.local_matter_id, m.before_number, m.after_number) for m in report.matters] == [
        (second.id, 1, 3),
        (first.id, 1, 2),
    ]
    by_id = {m.local_matter_id: m.figures for m in report.matters}
    assert by_id[first.id] == {"减环节": fig(4, 3), "减材料": fig(4, 2), "减时限": fig(10, 5), "减费用": fig(50, 0),
                               "减跑动": fig(2, 0)}  # fmt: skip
    assert by_id[second.id] == {"减环节": fig(2, 1), "减材料": fig(3, 1), "减时限": fig(8, 6), "减费用": fig(0, 0),
                                "减跑动": fig(1, 1)}  # fmt: skip
    units = {g.id: g for g in report.units}
    assert set(units) == {city.units["staffing"].id, city.units["finance"].id}
    assert units[city.units["finance"].id].matters == 1
    assert units[city.units["finance"].id].figures == by_id[second.id]
    [region] = report.regions
    assert (region.id, region.name, region.matters) == (city.region.id, city.region.name, 2)
    assert region.figures == {"减环节": fig(6, 4), "减材料": fig(7, 3), "减时限": fig(18, 11), "减费用": fig(50, 0),
                              "减跑动": fig(3, 1)}  # fmt: skip
    assert {k: r.reduced for k, r in region.figures.items()} == {"减环节": 1 + 1, "减材料": 2 + 2, "减时限": 5 + 2,
                                                                "减费用": 50, "减跑动": 2}  # fmt: skip


def test_rollup_filters_by_unit_and_uses_the_versions_in_force_at_each_end(
    session: Session, city_matters: tuple[City, LocalMatter, LocalMatter]
) -> None:
    city, _, second = city_matters
    mid = rollup(session, period_from=at(4, 15), period_to=at(4, 20), unit_id=city.units["finance"].id)
    [matter] = mid.matters
    assert (matter.local_matter_id, matter.before_number, matter.after_number) == (second.id, 2, 2)
    assert all(r.reduced == 0 for r in matter.figures.values())
    assert matter.figures["减费用"] == fig(20, 20)
    rising = rollup(session, period_from=at(2), period_to=at(4, 2), unit_id=city.units["finance"].id)
    assert rising.matters[0].figures["减跑动"] == fig(1, 3) and rising.matters[0].figures["减跑动"].reduced == -2
    city_id = city.region.id
    boundary = rollup(session, period_from=at(2), period_to=at(3), region_id=city_id, unit_id=city.units["staffing"].id)
    assert [(m.before_number, m.after_number) for m in boundary.matters] == [
        (1, 2)
    ]  # published at the instant: in force
    everywhere = rollup(session, period_from=at(2), period_to=at(6))
    assert len({g.id for g in everywhere.regions}) >= 2  # no filter: the other city's matter is there too
    with pytest.raises(InvalidInput) as caught:
        rollup(session, period_from=at(6), period_to=at(2))
    assert caught.value.code == "bad_period"


def test_rollup_exports_to_xlsx_with_chinese_headers(
    session: Session, city_matters: tuple[City, LocalMatter, LocalMatter]
) -> None:
    city, first, _ = city_matters
    report = rollup(session, period_from=at(2), period_to=at(6), region_id=city.region.id)
    book = load_workbook(BytesIO(export_rollup(report)), read_only=True)
    assert book.sheetnames == ["事项", "单位", "区域"]
    matters = [list(r) for r in book["事项"].iter_rows(values_only=True)]
    assert matters[0][:9] == ["区域", "实施单位", "事项编码", "事项名称", "期初版本", "期末版本",
                              "减环节（前）", "减环节（后）", "减环节（减少）"]  # fmt: skip
    assert len(matters[0]) == 6 + 3 * 5
    row = next(r for r in matters[1:] if r[2] == first.code)
    assert row[4:] == [1, 2, 4, 3, 1, 4, 2, 2, 10, 5, 5, 50, 0, 50, 2, 0, 2]
    units = [list(r) for r in book["单位"].iter_rows(values_only=True)]
    assert units[0][:4] == ["区域", "单位编码", "实施单位", "事项数"] and len(units) == 3
    regions = [list(r) for r in book["区域"].iter_rows(values_only=True)]
    assert regions[0][:3] == ["区划代码", "区域", "事项数"]
    assert regions[1] == [city.region.code, city.region.name, 2, 6, 4, 2, 7, 3, 4, 18, 11, 7, 50, 0, 50, 3, 1, 2]
    book.close()


def test_a_view_of_stored_rows_matches_the_view_of_their_json(session: Session) -> None:
    city = make_city(session)
    local = publish_matter(session, city, PROCESS_BEFORE, form=FORM_BEFORE, materials=MATERIALS_BEFORE, limit=10)
    version = session.scalars(select(MatterVersion).where(MatterVersion.local_matter_id == local.id)).one()
    body = session.get_one(ProcessDefinition, version.process_definition_id).body
    stored = VersionView.of(version, body)
    assert stored.measures() == BEFORE.measures()
    assert reductions(diff_versions(stored, AFTER))["减材料"] == fig(4, 2)
