"""文书: each notice and decision issued once by the event it answers, with its required content, in a PDF."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_flow import decide, open_tasks
from tests.factories import City, joint_approval_process, make_city, publish_matter
from tests.oversight.helpers import overseer
from xietong.cases import service
from xietong.cases.changelog import sequence_events
from xietong.cases.models import Case
from xietong.documents import service as documents
from xietong.documents.issue import issue_documents
from xietong.documents.models import Document
from xietong.documents.pdf import approval_sheet_pdf, document_pdf
from xietong.errors import Forbidden, InvalidInput, NotFound


def pdf_text(content: bytes) -> str:
    return "".join("".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages).split())


def submitted(session: Session, city: City, local_id: int) -> int:
    case_id, _ = service.submit_case(session, principal=city.principal(session, "office"), local_matter_id=local_id,
                                     applicant_unit_id=city.units["office"].id, form={"title": "申请增加编制"})
    return case_id


def issued(session: Session, case_id: int) -> list[Document]:
    sequence_events(session)
    issue_documents(session)
    return list(session.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.id)))


@pytest.fixture
def city(session: Session) -> City:
    return make_city(session)


def test_acceptance_notice_names_the_promised_due_date_and_is_issued_once(session: Session, city: City) -> None:
    local = publish_matter(session, city, joint_approval_process())
    case_id = submitted(session, city, local.id)
    service.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id)
    [notice] = issued(session, case_id)
    assert issued(session, case_id) == [notice]  # a second pass issues nothing again
    case = session.get(Case, case_id)
    assert case is not None and case.due_at is not None
    due = case.due_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert notice.title == "受理通知书" and "受〔" in notice.number and notice.number.endswith("号")
    assert f"{due.year}年{due.month}月{due.day}日前办结" in notice.body
    text = pdf_text(document_pdf(notice.title, notice.body))
    for needed in ("受理通知书", case.number, "予以受理", notice.number):
        assert needed in text


def test_rejection_and_denial_carry_the_reason_and_the_remedies(session: Session, city: City) -> None:
    local = publish_matter(session, city, joint_approval_process())
    staff = city.principal(session, "staffing")
    rejected = submitted(session, city, local.id)
    service.reject_case(session, principal=staff, case_id=rejected, reason="不属于本机关职权范围")
    [decision] = issued(session, rejected)
    assert decision.kind == "rejection_decision"
    assert "不属于本机关职权范围" in decision.body and "行政复议" in decision.body and "行政诉讼" in decision.body

    denied = submitted(session, city, local.id)
    service.accept_case(session, principal=staff, case_id=denied)
    while tasks := open_tasks(session, denied):
        for task in tasks:
            decide(session, city, task)
    service.conclude_case(session, principal=staff, case_id=denied, result="denied", note="编制总量已满")
    kinds = [(d.kind, d.body) for d in issued(session, denied)]
    assert [k for k, _ in kinds] == ["acceptance_notice", "denial_decision"]
    assert "编制总量已满" in kinds[1][1] and "六十日内" in kinds[1][1]


def test_the_supplement_notice_lists_every_item_and_says_when_it_is_late(session: Session, city: City) -> None:
    local = publish_matter(session, city, joint_approval_process())
    staff = city.principal(session, "staffing")
    on_time = submitted(session, city, local.id)
    window = documents.supplement_window(session, principal=staff, case_id=on_time)
    assert window is not None and not window.passed
    service.request_supplement(session, principal=staff, case_id=on_time,
                               items=[{"note": "缺少编制测算表"}, {"note": "申请函未盖章"}])
    [notice] = issued(session, on_time)
    assert notice.kind == "supplement_notice"
    assert "1. 材料：缺少编制测算表" in notice.body and "2. 材料：申请函未盖章" in notice.body
    assert "即为受理" not in notice.body

    late = submitted(session, city, local.id)
    case = session.get(Case, late)
    assert case is not None and case.submitted_at is not None
    after = case.submitted_at + timedelta(days=14)  # past five working days whatever the weekday
    window = documents.supplement_window(session, principal=staff, case_id=late, now=after)
    assert window is not None and window.passed
    service.request_supplement(session, principal=staff, case_id=late, items=[{"note": "缺少附件"}], now=after)
    [late_notice] = issued(session, late)
    assert "依法自收到申请材料之日起即为受理" in late_notice.body


def test_special_procedure_and_extension_notices(session: Session, city: City) -> None:
    local = publish_matter(session, city, joint_approval_process())
    case_id = submitted(session, city, local.id)
    staff = city.principal(session, "staffing")
    service.accept_case(session, principal=staff, case_id=case_id)
    service.start_special_procedure(session, principal=staff, case_id=case_id, kind="expert_review",
                                    reason="技术方案需论证", basis="行政许可法第四十五条", planned_days=10)
    service.end_special_procedure(session, principal=staff, case_id=case_id, outcome="论证通过")
    service.extend_case(session, principal=city.principal(session, "staffing", "leader_in_charge"),
                        case_id=case_id, days=10, reason="情况复杂")
    docs = {d.kind: d.body for d in issued(session, case_id)}
    assert set(docs) == {"acceptance_notice", "special_procedure_notice", "extension_notice"}
    assert "专家评审" in docs["special_procedure_notice"] and "预计需要10个工作日" in docs["special_procedure_notice"]
    assert "延长\n10个工作日" in docs["extension_notice"] or "10个工作日" in docs["extension_notice"]


def test_numbers_run_per_unit_kind_and_year(session: Session, city: City) -> None:
    local = publish_matter(session, city, joint_approval_process())
    staff = city.principal(session, "staffing")
    cases = [submitted(session, city, local.id) for _ in range(3)]
    for case_id in cases:
        service.accept_case(session, principal=staff, case_id=case_id)
    numbers = [issued(session, c)[0].number for c in cases]
    sequence = [int(n.split("〕")[1].rstrip("号")) for n in numbers]
    assert sequence == [sequence[0], sequence[0] + 1, sequence[0] + 2]


def test_templates_are_checked_line_by_line_and_a_matters_own_wins(session: Session, city: City) -> None:
    local = publish_matter(session, city, joint_approval_process())
    admin = overseer(session, city, role="reform_office", scope="all")
    with pytest.raises(InvalidInput) as refused:
        documents.save_template(session, principal=admin, kind="acceptance_notice",
                                body="${title}\n第二行\n${nonsense} 与 $ 号", local_matter_id=local.id)
    lines = [e.message for e in refused.value.errors]
    assert len(lines) == 2 and all(m.startswith("第 3 行") for m in lines)
    with pytest.raises(Forbidden):
        documents.save_template(session, principal=city.principal(session, "staffing"), kind="acceptance_notice",
                                body="${title}")
    with pytest.raises(InvalidInput):
        documents.preview("no_such_kind", "${title}")
    assert "受理通知书" in documents.preview("acceptance_notice", "${title} ${number}")

    documents.save_template(session, principal=admin, kind="acceptance_notice",
                            body="${title}\n${number}\n本事项专用：${applicant_unit}，${promise}",
                            local_matter_id=local.id)
    case_id = submitted(session, city, local.id)
    service.accept_case(session, principal=city.principal(session, "staffing"), case_id=case_id)
    [notice] = issued(session, case_id)
    assert "本事项专用" in notice.body
    own = {t["kind"]: t["source"] for t in documents.templates(session, local_matter_id=local.id)}
    assert own["acceptance_notice"] == "matter" and own["rejection_decision"] == "default"


def test_the_approval_sheet_lists_every_step_with_handler_and_opinion(session: Session, city: City) -> None:
    local = publish_matter(session, city, joint_approval_process())
    case_id = submitted(session, city, local.id)
    staff = city.principal(session, "staffing")
    service.accept_case(session, principal=staff, case_id=case_id)
    while tasks := open_tasks(session, case_id):
        for task in tasks:
            decide(session, city, task)
    header, steps = documents.approval_sheet(session, principal=staff, case_id=case_id)
    assert dict(header)["办件编号"].startswith("XT")
    assert len(steps) == 5 and all(opinion.startswith("同意") for *_rest, opinion in steps)
    text = pdf_text(approval_sheet_pdf(header, steps))
    assert "审批单" in text and dict(header)["办件编号"] in text and "同意" in text
    with pytest.raises(NotFound):  # someone who may not read the case
        documents.approval_sheet(session, principal=make_city(session).principal(session, "staffing"),
                                 case_id=case_id)
