"""Editing draft versions (catalog/drafts.py): the designer's validation names each problem in Chinese —
unreachable node, a path with no end, a gateway without a default, an unassigned task, an unsupported element —
an invalid drawing is kept and blocks publication, and form edits that break the schema are refused whole."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from tests.factories import linear_process, make_city, post_rule, publish_matter
from xietong.catalog import drafts
from xietong.catalog import service as catalog
from xietong.catalog.forms import FormSchemaError, parse_form_schema, validate_form
from xietong.catalog.forms import editing as forms_editing
from xietong.catalog.models import DraftProcess, LocalMatter, MatterVersion
from xietong.errors import Conflict, InvalidInput
from xietong.security.principal import Grant, Principal

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/'
        '20100524/MODEL" xmlns:xt="https://xietong.dev/schema/bpmn/1" id="d" targetNamespace="x">\n'
        '<bpmn:process id="p">\n')
TAIL = "</bpmn:process>\n</bpmn:definitions>\n"
ASSIGNED = ('<bpmn:extensionElements><xt:assign rule="post" post="clerk"><xt:unit ref="handling_unit"/>'
            "</xt:assign></bpmn:extensionElements>")


def bpmn(*elements: str) -> bytes:
    return (HEAD + "\n".join(elements) + "\n" + TAIL).encode()


def task(ident: str, name: str, *, assigned: bool = True) -> str:
    return f'<bpmn:userTask id="{ident}" name="{name}">{ASSIGNED if assigned else ""}</bpmn:userTask>'


def flow(ident: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{ident}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{ident}" sourceRef="{source}" targetRef="{target}">'
            f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>")


START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'


@pytest.fixture
def draft(session: Session) -> MatterVersion:
    city = make_city(session)
    local = publish_matter(session, city, linear_process(("review", post_rule("finance"))))
    return drafts.open_draft(session, local=local)


def messages(problems: list[drafts.ProcessProblem]) -> str:
    return "\n".join(p.message for p in problems)


@pytest.mark.parametrize(("elements", "expected"), [
    ((START, task("a", "受理"), END, flow("f1", "start", "a"), flow("f2", "a", "end"), task("lost", "孤立环节"),
      flow("f3", "lost", "end")), "节点“孤立环节”从开始节点不可达"),
    ((START, task("a", "受理"), END, '<bpmn:exclusiveGateway id="gw" name="是否通过"/>', task("loop", "循环"),
      flow("f1", "start", "a"), flow("f2", "a", "gw"), flow("f3", "gw", "end", "approved"),
      flow("f4", "gw", "loop", "!approved"), flow("f5", "loop", "loop")),
     "排他网关“是否通过”必须恰有一条默认出线"),
    ((START, task("a", "受理"), task("b", "兜圈"), END, flow("f1", "start", "a"), flow("f2", "a", "b"),
      flow("f3", "b", "a")), "节点“受理”之后没有通向结束的路径"),
    ((START, task("a", "受理", assigned=False), END, flow("f1", "start", "a"), flow("f2", "a", "end")),
     "没有设置办理人"),
    ((START, '<bpmn:serviceTask id="robot" name="自动核验"/>', END, flow("f1", "start", "robot"),
      flow("f2", "robot", "end")), "服务任务"),
])
def test_each_designer_problem_is_named_in_chinese_and_the_drawing_kept(
    session: Session, draft: MatterVersion, elements: tuple[str, ...], expected: str
) -> None:
    before = draft.process_definition_id
    data = bpmn(*elements)
    problems = drafts.save_process(session, version=draft, bpmn=data, person_id=None)
    assert expected in messages(problems), messages(problems)
    assert all(p.line > 0 for p in problems)  # each on its element's line
    assert draft.process_definition_id == before  # the version keeps its last valid process
    assert drafts.designer_bpmn(session, draft) == (data.decode(), problems)
    with pytest.raises(InvalidInput) as refused:
        drafts.publish_draft(session, version=draft)
    assert expected in " ".join(p.message for p in refused.value.errors)
    with pytest.raises(InvalidInput):  # the plain publication refuses it too
        catalog.publish_version(session, version_id=draft.id)


def test_a_valid_drawing_replaces_the_kept_one_and_keeps_fee_and_trips(session: Session, draft: MatterVersion) -> None:
    drafts.update_settings(session, version=draft, kind="promised", promised_limit_days=3, fee_yuan=Decimal("20"),
                           trips=1)
    unassigned = bpmn(START, task("a", "受理", assigned=False), END, flow("f1", "start", "a"), flow("f2", "a", "end"))
    assert drafts.save_process(session, version=draft, bpmn=unassigned, person_id=None)
    assert session.get(DraftProcess, draft.id) is not None
    good = bpmn(START, task("a", "受理"), END, flow("f1", "start", "a"), flow("f2", "a", "end"))
    assert drafts.save_process(session, version=draft, bpmn=good, person_id=None) == []
    assert session.get(DraftProcess, draft.id) is None
    facts = drafts.facts_of(session, draft)
    assert (facts.fee_yuan, facts.trips) == (Decimal("20"), 1)
    assert drafts.publish_draft(session, version=draft).status == "published"


def test_unreadable_xml_is_refused_and_nothing_kept(session: Session, draft: MatterVersion) -> None:
    with pytest.raises(InvalidInput) as refused:
        drafts.save_process(session, version=draft, bpmn=b"<bpmn:definitions", person_id=None)
    assert "不是合法的 XML" in refused.value.detail
    assert session.get(DraftProcess, draft.id) is None


def test_one_draft_at_a_time_copied_from_the_latest(session: Session, draft: MatterVersion) -> None:
    local = session.get(LocalMatter, draft.local_matter_id)
    assert local is not None and draft.number == 2 and draft.status == "draft"
    with pytest.raises(Conflict, match="已有草稿版本"):
        drafts.open_draft(session, local=local)


def test_settings_name_every_problem(session: Session, draft: MatterVersion) -> None:
    with pytest.raises(InvalidInput) as refused:
        drafts.update_settings(session, version=draft, kind="promised", promised_limit_days=99,
                               fee_yuan=Decimal("1.234"), trips=100)
    fields = {p.field for p in refused.value.errors}
    assert fields == {"promised_limit_days", "fee_yuan", "trips"}


def test_publishing_lists_form_material_and_process_problems_together(session: Session,
                                                                      draft: MatterVersion) -> None:
    draft.form_schema = {"schema": "xietong.form/1", "fields": [
        {"key": "letter", "label": "申请函", "type": "file", "material": "M09"}]}
    drafts.save_process(session, version=draft, bpmn=bpmn(START, END, flow("f", "start", "end"),
                                                          '<bpmn:task id="t"/>'), person_id=None)
    problems = [p.message for p in drafts.publish_problems(session, draft)]
    assert any("M09" in m for m in problems) and any("未指定类型的任务" in m for m in problems)


def test_administered_regions_follow_the_catalog_grants() -> None:
    def principal(*grants: Grant) -> Principal:
        return Principal(kind="person", id=1, name="x", unit_ids=frozenset(), posts=frozenset(), grants=grants)

    assert drafts.administered_regions(principal(Grant(role="reform_office", scope_kind="all"))) is None
    assert drafts.administered_regions(principal(Grant(role="system_admin", scope_kind="region", region_id=7))) == {7}
    assert drafts.administered_regions(principal(Grant(role="handler", scope_kind="region", region_id=7))) == set()


def test_form_edits_refuse_what_would_break_the_schema() -> None:
    schema = forms_editing.add_field({"schema": "xietong.form/1", "fields": []}, type_="select", key="kind",
                                     label="类型")
    schema = forms_editing.replace_field(schema, key="kind", field=forms_editing.field_from_inputs(
        "select", {"label": "类型", "options": "a=甲\nb=乙"}))
    schema = forms_editing.add_field(schema, type_="text", key="why", label="原因")
    with pytest.raises(FormSchemaError, match="字段标识重复"):
        forms_editing.add_field(schema, type_="text", key="why", label="又一个")
    with pytest.raises(FormSchemaError, match="应以小写字母开头"):
        forms_editing.add_field(schema, type_="text", key="Why", label="原因")
    with pytest.raises(FormSchemaError, match="max_length 应为整数"):
        forms_editing.field_from_inputs("text", {"label": "原因", "max_length": "十"})
    with pytest.raises(FormSchemaError, match="第 1 行选项"):
        forms_editing.field_from_inputs("select", {"label": "类型", "options": "=空"})
    schema = forms_editing.replace_field(schema, key="why", field=forms_editing.field_from_inputs(
        "text", {"label": "原因", "required": "on", "visible_field": "kind", "visible_values": "b",
                 "prefill": "person.name"}))
    parsed = parse_form_schema(schema)
    assert validate_form(parsed, {"kind": "a", "why": "ignored"}) == ({"kind": "a"}, [])  # hidden: not kept
    _cleaned, errors = validate_form(parsed, {"kind": "b"})
    assert [e.message for e in errors] == ["此项为必填项"]  # shown: required again
    with pytest.raises(FormSchemaError, match="显示条件只能依据排在前面的字段"):
        parse_form_schema(forms_editing.move_field(schema, key="why", offset=-1))
    with pytest.raises(FormSchemaError, match="没有这个选项"):
        parse_form_schema(forms_editing.replace_field(schema, key="why", field={"visible_when": {
            "field": "kind", "equals": ["z"]}, "label": "原因"}))
    assert [f["key"] for f in forms_editing.remove_field(schema, key="kind")["fields"]] == ["why"]
