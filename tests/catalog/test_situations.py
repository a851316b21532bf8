"""办理情形: validation in Chinese, what applies for each answer, submission against the chosen answers, and the
engine passing through a skipped step without opening a task."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_returns import holder
from tests.engine.test_nodes__multi import tasks
from tests.factories import linear_process, make_city, post_rule
from xietong.cases import service as cases
from xietong.cases.models import Case
from xietong.catalog import drafts
from xietong.catalog import service as catalog
from xietong.catalog.situations import apply, parse_situations, situation_problems
from xietong.errors import Conflict, InvalidInput

FORM: dict[str, Any] = {"schema": "xietong.form/1", "fields": [
    {"key": "title", "label": "申请事由", "type": "text", "required": True},
    {"key": "plan", "label": "实施方案", "type": "file", "material": "M02", "required": True},
    {"key": "reason", "label": "变更原因", "type": "text", "required": True},
]}
MATERIALS = [{"code": "M01", "name": "申请函", "formats": ["pdf"]},
             {"code": "M02", "name": "实施方案", "formats": ["pdf"]}]
PROCESS = linear_process(("review", post_rule("finance")), ("sign", post_rule("hr_social")))
SITUATIONS: dict[str, Any] = {"questions": [{"key": "kind", "label": "申请类型", "options": [
    {"value": "first", "label": "首次申请", "materials": [{"code": "M02", "required": True}], "fields": ["plan"],
     "steps": ["review"]},
    {"value": "change", "label": "变更", "fields": ["reason"]},
]}]}


def test_problems_are_listed_in_chinese() -> None:
    bad = {"questions": [{"key": "kind", "label": "申请类型", "options": [
        {"value": "a", "label": "甲", "materials": [{"code": "M09"}], "fields": ["nope"], "steps": ["ghost"]},
        {"value": "b", "label": "乙"},
    ]}]}
    problems = situation_problems(bad, form_schema=FORM, materials=MATERIALS, steps={"review": "审核"})
    assert [p.code for p in problems] == ["unknown_material", "unknown_field", "unknown_step",
                                          "option_selects_nothing"]
    assert problems[0].message == "“申请类型”的选项“甲”选择了不存在的材料：M09"
    assert problems[3].message == "“申请类型”的选项“乙”没有选择任何材料、字段或环节"
    shape = situation_problems({"questions": [{"key": "Kind", "label": "x", "options": []}]}, form_schema=FORM,
                               materials=MATERIALS, steps={})
    assert {p.field for p in shape} == {"situations.questions.0.key", "situations.questions.0.options"}


def test_only_what_the_answers_select_applies() -> None:
    parsed = parse_situations(SITUATIONS)
    first = apply(parsed, {"kind": "first"}, form_schema=FORM, materials=MATERIALS)
    assert [f["key"] for f in first.form_schema["fields"]] == ["title", "plan"]
    assert [(m["code"], m.get("required")) for m in first.materials] == [("M01", None), ("M02", True)]
    assert first.skipped_steps == []
    change = apply(parsed, {"kind": "change"}, form_schema=FORM, materials=MATERIALS)
    assert [f["key"] for f in change.form_schema["fields"]] == ["title", "reason"]
    assert [m["code"] for m in change.materials] == ["M01"]
    assert change.skipped_steps == ["review"]


def _matter(session: Session):  # type: ignore[no-untyped-def]
    city = make_city(session)
    base = catalog.create_base_matter(session, code=f"SIT-{city.region.code}", name="情形事项", kind="promised",
                                      legal_limit_days=10)
    local = catalog.create_local_matter(session, base=base, region_id=city.region.id,
                                        handling_unit_id=city.units["staffing"].id)
    with pytest.raises(InvalidInput) as caught:
        catalog.draft_version(session, local=local, form_schema=FORM, materials=MATERIALS, process=PROCESS,
                              promised_limit_days=5, situations={"questions": []})
    assert caught.value.errors[0].field == "situations.questions"
    version = catalog.draft_version(session, local=local, form_schema=FORM, materials=MATERIALS, process=PROCESS,
                                    promised_limit_days=5, situations=SITUATIONS)
    catalog.publish_version(session, version_id=version.id)
    return city, local


def test_submission_follows_the_answers_and_a_skipped_step_opens_no_task(session: Session) -> None:
    city, local = _matter(session)
    office = city.principal(session, "office")
    common = {"principal": office, "local_matter_id": local.id, "applicant_unit_id": city.units["office"].id}
    with pytest.raises(InvalidInput) as unanswered:
        cases.submit_case(session, **common, form={"title": "申请"})
    assert [p.code for p in unanswered.value.errors] == ["required"]
    with pytest.raises(InvalidInput) as missing:
        cases.submit_case(session, **common, form={"title": "申请"}, situation={"kind": "change"})
    assert [p.field for p in missing.value.errors] == ["reason"]  # the plan is not asked of a change

    case_id, _ = cases.submit_case(session, **common, form={"title": "变更申请", "reason": "地址变更",
                                                            "plan": [1]}, situation={"kind": "change"})
    form = session.scalar(select(Case.form).where(Case.id == case_id))
    assert form == {"title": "变更申请", "reason": "地址变更",
                    "_situation": {"answers": {"kind": "change"}, "skipped": ["review"]}}
    cases.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id)
    [task] = tasks(session, case_id)
    assert task.node_id == "sign"  # review skipped
    cases.complete_task(session, principal=holder(session, task), task_id=task.id, approved=True)
    results = session.scalar(select(Case.step_results).where(Case.id == case_id))
    assert results["review"]["outcome"] == "skipped"
    assert session.scalar(select(Case.process_state).where(Case.id == case_id)) == "finished"

    # 首次申请 needs the plan that a change does not: required in one situation only.
    with pytest.raises(InvalidInput) as first:
        cases.submit_case(session, **common, form={"title": "首次"}, situation={"kind": "first"})
    assert sorted(p.code for p in first.value.errors) == ["material_required", "required"]


def test_a_draft_whose_content_no_longer_fits_its_situations_cannot_be_published(session: Session) -> None:
    _city, local = _matter(session)
    draft = drafts.open_draft(session, local=local)
    assert draft.situations == SITUATIONS
    drafts.save_content(session, version=draft, form_schema={"schema": "xietong.form/1", "fields": [
        FORM["fields"][0], FORM["fields"][1]]})
    problems = drafts.publish_problems(session, draft)
    assert [p.code for p in problems] == ["unknown_field"]
    drafts.save_situations(session, version=draft, situations=None)
    assert drafts.publish_problems(session, draft) == []


def test_a_resubmission_is_checked_against_the_same_answers_and_keeps_them(session: Session) -> None:
    city, local = _matter(session)
    office, staffing = city.principal(session, "office"), city.principal(session, "staffing")
    case_id, _ = cases.submit_case(session, principal=office, local_matter_id=local.id,
                                   applicant_unit_id=city.units["office"].id,
                                   form={"title": "变更申请", "reason": "地址变更"}, situation={"kind": "change"})
    cases.request_supplement(session, principal=staffing, case_id=case_id, items=[{"note": "原因写详细些"}])
    with pytest.raises(InvalidInput) as refused:
        cases.resubmit_case(session, principal=office, case_id=case_id, form={"title": "变更申请"})
    assert [p.field for p in refused.value.errors] == ["reason"]  # still a change: the reason, not the plan
    cases.resubmit_case(session, principal=office, case_id=case_id,
                        form={"title": "变更申请", "reason": "注册地址由东区迁至西区", "plan": [9]})
    form = session.scalar(select(Case.form).where(Case.id == case_id))
    assert form == {"title": "变更申请", "reason": "注册地址由东区迁至西区",
                    "_situation": {"answers": {"kind": "change"}, "skipped": ["review"]}}


def test_a_step_the_answers_skip_is_no_return_target(session: Session) -> None:
    city, local = _matter(session)
    case_id, _ = cases.submit_case(session, principal=city.principal(session, "office"), local_matter_id=local.id,
                                   applicant_unit_id=city.units["office"].id,
                                   form={"title": "变更申请", "reason": "地址变更"}, situation={"kind": "change"})
    cases.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id)
    [task] = tasks(session, case_id)  # sign: review was skipped, passed as approved
    who = holder(session, task)
    offered = cases.return_targets(session, principal=who, task_id=task.id)
    assert "review" not in {t["node"] for t in offered["targets"]}
    with pytest.raises(Conflict) as refused:
        cases.return_task(session, principal=who, task_id=task.id, target="review", reason="请重新审核")
    assert refused.value.code == "return_target_skipped" and "无需办理" in refused.value.detail
