"""Splitting and merging matters (catalog/granularity.py, catalog/merging.py): codes, trimmed drafts, the
process across units, lineage, retirement of predecessors, and statistics before and after (hand-computed)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_returns import holder
from tests.engine.test_nodes__multi import tasks
from tests.factories import City, linear_process, make_city, publish_matter
from tests.monitor.conftest import _grant
from xietong.cases import service as cases
from xietong.cases.models import Case
from xietong.catalog import service as catalog
from xietong.catalog.granularity import SubItem, lineage_of, plan_split, split_matter, trim_fields
from xietong.catalog.merging import merge_matters, plan_merge
from xietong.catalog.models import BaseMatter, LocalMatter, MatterLineage, MatterVersion
from xietong.errors import Conflict, InvalidInput
from xietong.monitor.figures import figures
from xietong.monitor.filters import Filters, parse_period
from xietong.security.principal import Principal

HANDLING = {"rule": "post", "unit": {"ref": "handling_unit"}, "post": "section_chief"}
YEAR = parse_period("2026")


def material(code: str, name: str, required: bool = False) -> dict[str, Any]:
    return {"code": code, "name": name, "required": required, "formats": ["pdf"]}


FORM: dict[str, Any] = {"schema": "xietong.form/1", "fields": [
    {"key": "title", "label": "申请事由", "type": "text", "required": True},
    {"key": "kind", "label": "类别", "type": "select", "options": [{"value": "a", "label": "甲"},
                                                                  {"value": "b", "label": "乙"}]},
    {"key": "detail", "label": "乙类说明", "type": "text", "visible_when": {"field": "kind", "equals": ["b"]}},
    {"key": "plan", "label": "方案", "type": "file", "material": "M02"},
]}
MATERIALS = [material("M01", "身份证明"), material("M02", "实施方案")]


def parent_matter(session: Session, city: City) -> LocalMatter:
    return publish_matter(session, city, linear_process(("review", HANDLING)), form=FORM, materials=MATERIALS)


def submit(session: Session, city: City, local: LocalMatter, *, accept: bool = True) -> int:
    case_id, _ = cases.submit_case(session, principal=city.principal(session, "office"), local_matter_id=local.id,
                                   applicant_unit_id=city.units["office"].id, form={"title": "测试申请"})
    if accept:
        function = next(f for f, u in city.units.items() if u.id == local.handling_unit_id)
        cases.accept_case(session, principal=city.principal(session, function), case_id=case_id)
    return case_id


def finish(session: Session, city: City, local: LocalMatter, case_id: int) -> None:
    while open_tasks := tasks(session, case_id):
        task = open_tasks[0]
        cases.complete_task(session, principal=holder(session, task), task_id=task.id, approved=True)
    function = next(f for f, u in city.units.items() if u.id == local.handling_unit_id)
    cases.conclude_case(session, principal=city.principal(session, function), case_id=case_id, result="granted")


def counts(session: Session, who: Principal, local_id: int, *, follow: bool) -> tuple[int, int]:
    result = figures(session, principal=who, filters=Filters(period=YEAR, local_matter_id=local_id,
                                                              follow_lineage=follow))
    by_key = {c.key: c.value for c in result.counts}
    return by_key["submitted"], by_key["concluded"]


ITEMS = (SubItem("甲类申请", materials=("M01", "M02"), fields=("title", "kind", "plan")),
         SubItem("乙类申请", materials=("M01",), fields=("title", "kind", "detail")))


def test_trim_drops_file_fields_of_dropped_materials_and_fields_shown_by_dropped_fields() -> None:
    kept, dropped = trim_fields(FORM["fields"], keep=("title", "detail", "plan"), materials={"M01"})
    assert [f["key"] for f in kept] == ["title"]
    assert dropped == ["kind", "detail", "plan"]


def test_split_plan_names_children_by_code_and_trims_each_implementation(session: Session) -> None:
    city = make_city(session)
    parent = parent_matter(session, city)
    base = session.get(BaseMatter, parent.base_matter_id)
    assert base is not None
    plan = plan_split(session, base_matter_id=base.id, items=ITEMS)
    assert [c.code for c in plan.children] == [f"{base.code}.01", f"{base.code}.02"]
    assert [c.level for c in plan.children] == ["sub", "sub"]
    first, second = (c.implementations[0] for c in plan.children)
    assert first.code == f"{base.code}.01-{city.region.code}-Z{city.units['staffing'].id}-00"
    assert [m["code"] for m in second.materials] == ["M01"]
    assert [f["key"] for f in second.form_schema["fields"]] == ["title", "kind", "detail"]
    assert second.dropped_fields == ["plan"]
    assert session.scalar(select(BaseMatter.id).where(BaseMatter.code == f"{base.code}.01")) is None  # a dry run


def test_split_refuses_unknown_materials_and_fields_with_every_problem(session: Session) -> None:
    city = make_city(session)
    parent = parent_matter(session, city)
    with pytest.raises(InvalidInput) as caught:
        plan_split(session, base_matter_id=parent.base_matter_id,
                   items=(SubItem("甲", materials=("M09",)), SubItem("甲", fields=("nope",))))
    codes = sorted(p.code for p in caught.value.errors)
    assert codes == ["duplicate_name", "unknown_field", "unknown_material"]
    assert any("M09" in p.message for p in caught.value.errors)


def test_split_then_merge_keeps_lineage_and_statistics_follow_it(session: Session) -> None:
    city = make_city(session)
    reform = _grant(session, city, "reform_office", "all")
    parent = parent_matter(session, city)
    # Before the split: 3 cases of the parent, 2 concluded, 1 still running.
    done = [submit(session, city, parent) for _ in range(2)]
    for case_id in done:
        finish(session, city, parent, case_id)
    running = submit(session, city, parent)
    running_version = session.scalar(select(Case.matter_version_id).where(Case.id == running))
    assert counts(session, reform, parent.id, follow=False) == (3, 2)

    result = split_matter(session, base_matter_id=parent.base_matter_id, items=ITEMS, reason="按类别细化",
                          by_id=city.person("office", "clerk").id, publish=True)
    first, second = (session.get(LocalMatter, i) for i in result.local_ids)
    assert first is not None and second is not None
    session.refresh(parent)
    assert parent.status == "retired"  # no new applications of the parent …
    base = session.get(BaseMatter, parent.base_matter_id)
    assert base is not None and base.level == "main"
    with pytest.raises(Conflict):
        catalog.create_local_matter(session, base=base, region_id=city.region.id,
                                    handling_unit_id=city.units["finance"].id)
    finish(session, city, parent, running)  # … but its running case ends on the version it started with
    assert session.scalar(select(Case.matter_version_id).where(Case.id == running)) == running_version
    assert {parent.lineage_key} == {first.lineage_key, second.lineage_key}

    # After the split: 2 cases of the first child (1 concluded), 1 of the second (concluded).
    finish(session, city, first, submit(session, city, first))
    submit(session, city, first)
    finish(session, city, second, submit(session, city, second))
    assert counts(session, reform, first.id, follow=False) == (2, 1)
    assert counts(session, reform, second.id, follow=False) == (1, 1)
    # Following the lineage, every child counts the parent's 3 (all concluded now) and both children's 3.
    assert counts(session, reform, first.id, follow=True) == (6, 5)
    assert counts(session, reform, parent.id, follow=True) == (6, 5)

    # A merge: the second child with another unit's matter into one joint matter (一件事).
    other = publish_matter(session, city, linear_process(("approve", HANDLING)), handling="finance",
                           materials=[material("M07", "身份证明"), material("M08", "承诺书")])
    finish(session, city, other, submit(session, city, other))  # 1 case, concluded
    merged = merge_matters(session, local_matter_ids=[second.id, other.id], code="YJS-0001", name="一件事联办",
                           reason="一件事改革", by_id=None, publish=True)
    joint = session.get(LocalMatter, merged.local_id)
    assert joint is not None
    session.refresh(second)
    session.refresh(other)
    assert (second.status, other.status, joint.status) == ("retired", "retired", "published")
    assert joint.lineage_key == joint.code == second.lineage_key == other.lineage_key == first.lineage_key
    materials = merged.plan.described()["merged_materials"]
    assert materials == [{"code": "M01", "name": "身份证明",
                          "sources": [{"matter": second.code, "material": "M01"},
                                      {"matter": other.code, "material": "M07"}]}]
    version = session.scalar(select(MatterVersion).where(MatterVersion.local_matter_id == joint.id))
    assert version is not None
    assert [m["code"] for m in version.materials] == ["M01", "M08"]
    assert version.promised_limit_days == 10

    # The joint process runs across the two units: the child's step at staffing, then finance's.
    case_id = submit(session, city, joint)
    [step] = tasks(session, case_id)
    assert (step.node_id, step.unit_id) == ("m1_review", city.units["staffing"].id)
    cases.complete_task(session, principal=holder(session, step), task_id=step.id, approved=True)
    [step] = tasks(session, case_id)
    assert (step.node_id, step.unit_id) == ("m2_approve", city.units["finance"].id)
    finish(session, city, joint, case_id)

    assert counts(session, reform, joint.id, follow=False) == (1, 1)
    # The whole group: parent 3, first child 2 (1 concluded), second child 1, other 1, joint 1 → 8 submitted,
    # 7 concluded.
    assert counts(session, reform, joint.id, follow=True) == (8, 7)
    assert counts(session, reform, other.id, follow=True) == (8, 7)

    lineage = lineage_of(session, local_matter_id=joint.id)
    assert {m["id"] for m in lineage.members} == {parent.id, first.id, second.id, other.id, joint.id}
    assert [(e.kind, e.predecessor_code, e.successor_code) for e in lineage.edges] == [
        ("split", parent.code, first.code), ("split", parent.code, second.code),
        ("merge", second.code, joint.code), ("merge", other.code, joint.code),
    ]
    reasons = set(session.scalars(select(MatterLineage.reason)))
    assert reasons == {"按类别细化", "一件事改革"}


def test_parent_retires_only_when_every_child_is_published(session: Session) -> None:
    city = make_city(session)
    parent = parent_matter(session, city)
    result = split_matter(session, base_matter_id=parent.base_matter_id, items=ITEMS, reason="细化", by_id=None)
    catalog.publish_version(session, version_id=result.version_ids[0])
    session.refresh(parent)
    assert parent.status == "published"
    catalog.publish_version(session, version_id=result.version_ids[1])
    session.refresh(parent)
    assert parent.status == "retired"


def test_merge_refuses_other_regions_unpublished_and_taken_codes(session: Session) -> None:
    city, elsewhere = make_city(session), make_city(session)
    a = parent_matter(session, city)
    b = parent_matter(session, elsewhere)
    with pytest.raises(InvalidInput) as caught:
        plan_merge(session, local_matter_ids=[a.id, b.id], code=session.get(BaseMatter, a.base_matter_id).code,
                   name="联办")
    assert sorted(p.code for p in caught.value.errors) == ["duplicate_code", "regions_differ"]
    with pytest.raises(InvalidInput):
        plan_merge(session, local_matter_ids=[a.id, a.id], code="YJS-9", name="联办")


def test_merge_keeps_step_references_in_conditions(session: Session) -> None:
    city = make_city(session)
    gated = {"schema": "xietong.process/1", "nodes": [
        {"id": "start", "type": "start"}, {"id": "review", "type": "user_task", "assign": HANDLING},
        {"id": "gw", "type": "exclusive"}, {"id": "sign", "type": "user_task", "assign": HANDLING},
        {"id": "end", "type": "end"}],
        "flows": [{"id": "f1", "from": "start", "to": "review"}, {"id": "f2", "from": "review", "to": "gw"},
                  {"id": "f3", "from": "gw", "to": "sign", "condition": "steps.review.approved"},
                  {"id": "f4", "from": "gw", "to": "end", "default": True},
                  {"id": "f5", "from": "sign", "to": "end"}]}
    a = publish_matter(session, city, gated, materials=[material("M01", "身份 证明")])
    b = publish_matter(session, city, linear_process(("approve", HANDLING)), handling="finance",
                       materials=[{**material("M09", "身份证明", required=True), "formats": ["jpg"]}])
    plan = plan_merge(session, local_matter_ids=[a.id, b.id], code="YJS-0002", name="联办")
    # The same material by name: required if either requires it, any format either accepts.
    assert plan.materials == [{**material("M01", "身份 证明", required=True), "formats": ["pdf", "jpg"],
                               "max_size_mb": 20}]
    conditions = [f.get("condition") for f in plan.process["flows"] if f.get("condition")]
    assert conditions == ["steps.m1_review.approved"]
    into_second = sorted(f["id"] for f in plan.process["flows"] if f["to"] == "m2_approve")
    assert into_second == ["m1_f4", "m1_f5"]


def test_a_parallel_merge_runs_the_originals_side_by_side_and_takes_the_longest_limit(session: Session) -> None:
    city = make_city(session)
    gated = {"schema": "xietong.process/1", "nodes": [
        {"id": "start", "type": "start"}, {"id": "review", "type": "user_task", "assign": HANDLING},
        {"id": "gw", "type": "exclusive"}, {"id": "sign", "type": "user_task", "assign": HANDLING},
        {"id": "end", "type": "end"}],
        "flows": [{"id": "f1", "from": "start", "to": "review"}, {"id": "f2", "from": "review", "to": "gw"},
                  {"id": "f3", "from": "gw", "to": "sign", "condition": "steps.review.approved"},
                  {"id": "f4", "from": "gw", "to": "end", "default": True},
                  {"id": "f5", "from": "sign", "to": "end"}]}
    a = publish_matter(session, city, gated, limit=5)
    b = publish_matter(session, city, linear_process(("approve", HANDLING)), handling="finance", limit=8)
    sequential = plan_merge(session, local_matter_ids=[a.id, b.id], code="YJS-0003", name="联办")
    assert sequential.layout == "sequential" and sequential.promised_limit_days == 13
    plan = plan_merge(session, local_matter_ids=[a.id, b.id], code="YJS-0003", name="联办", layout="parallel")
    assert plan.layout == "parallel" and plan.promised_limit_days == 8  # side by side: the longest counts
    flows = plan.process["flows"]
    assert sorted(f["to"] for f in flows if f["from"] == "split") == ["m1_review", "m2_approve"]
    assert sorted(f["id"] for f in flows if f["to"] == "join") == ["m1_f4", "m1_f5", "m2_f1"]
    with pytest.raises(InvalidInput) as caught:
        plan_merge(session, local_matter_ids=[a.id, b.id], code="YJS-0003", name="联办",
                   layout="diagonal")  # type: ignore[arg-type]
    assert [p.code for p in caught.value.errors] == ["bad_layout"]

    result = merge_matters(session, local_matter_ids=[a.id, b.id], code="YJS-0003", name="联办", reason="并联审批",
                           by_id=None, layout="parallel", publish=True)
    joint = session.get(LocalMatter, result.local_id)
    assert joint is not None
    case_id = submit(session, city, joint)
    assert sorted(t.node_id for t in tasks(session, case_id)) == ["m1_review", "m2_approve"]  # both at once
    finish(session, city, joint, case_id)
    case = session.get(Case, case_id)
    assert case is not None and case.process_state == "finished" and case.status == "concluded"
