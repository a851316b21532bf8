"""/api/v1/cases and /api/v1/tasks: file, find, read and handle cases; to-do and done lists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from xietong.cases import queries
from xietong.cases import service as cases
from xietong.cases.enums import Channel, Result
from xietong.cases.schemas import CaseDetail, CaseSummary, EventOut, TaskItem
from xietong.cases.service.batch import MAX_BATCH, complete_tasks
from xietong.cases.service.special import SPECIAL_KINDS
from xietong.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from xietong.web.api.oversight import note_copy_read
from xietong.web.bodies import RequestBody
from xietong.web.deps import CurrentPrincipal, reading, settings_of, writing

router = APIRouter(tags=["办件"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="每页条数")]
Cursor = Annotated[str | None, Query(max_length=500, description="上一页返回的 next_cursor")]
WithTotal = Annotated[bool, Query(description="同时返回总数（大列表上较慢）")]
Reason = Annotated[str, Field(max_length=2000)]


class SubmitIn(RequestBody):
    local_matter_id: int
    applicant_unit_id: int
    form: dict[str, Any] = Field(default_factory=dict)
    materials: dict[str, list[int]] = Field(default_factory=dict, description="材料编码 → 已上传附件 id 列表")
    channel: Channel = Channel.WEB
    situation: dict[str, str] | None = Field(None, description="办理情形：问题编码 → 所选选项（版本有办理情形时必填）")
    shared_materials: dict[str, int] = Field(
        default_factory=dict, description="材料编码 → 申请单位共享材料库中的版本 id（减材料）")
    reused_results: dict[str, int] = Field(
        default_factory=dict, description="材料编码 → 申请单位已办结办件的办结文书 id（结果复用）")


class SubmittedOut(BaseModel):
    id: int
    number: str


class ReasonIn(RequestBody):
    reason: Reason = Field(min_length=1)


class OptionalReasonIn(RequestBody):
    reason: Reason = ""


class ConcludeIn(RequestBody):
    result: Result
    note: Reason = ""


class DecisionIn(RequestBody):
    decision: Literal["approve", "deny"]
    opinion: str = Field("", max_length=2000)


class NewTasksOut(BaseModel):
    task_ids: list[int]


@router.post("/cases", status_code=201, summary="申请：提交办件")
def submit(body: SubmitIn, request: Request, response: Response, principal: CurrentPrincipal) -> SubmittedOut:
    with writing(request) as session:
        case_id, number = cases.submit_case(
            session, principal=principal, local_matter_id=body.local_matter_id,
            applicant_unit_id=body.applicant_unit_id, form=body.form, materials=body.materials,
            channel=body.channel.value, tz=settings_of(request).timezone, situation=body.situation,
            shared_materials=body.shared_materials, reused_results=body.reused_results, settings=settings_of(request),
        )
    response.headers["Location"] = f"/api/v1/cases/{case_id}"
    return SubmittedOut(id=case_id, number=number)


@router.get("/cases", summary="办件查询（关键字与筛选，游标分页）")
def search(
    request: Request,
    principal: CurrentPrincipal,
    keyword: Annotated[str, Query(max_length=100, description="办件编号、标题、申请单位、事项名称中的任意片段")] = "",
    local_matter_id: int | None = None,
    base_matter_id: int | None = None,
    handling_unit_id: int | None = None,
    applicant_unit_id: int | None = None,
    region_id: int | None = None,
    status: Annotated[list[str] | None, Query(description="可多选")] = None,
    submitted_from: datetime | None = None,
    submitted_to: datetime | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    with_total: WithTotal = False,
) -> Page[CaseSummary]:
    filters = queries.CaseFilter(
        keyword=keyword, local_matter_id=local_matter_id, base_matter_id=base_matter_id,
        handling_unit_id=handling_unit_id, applicant_unit_id=applicant_unit_id, region_id=region_id,
        statuses=tuple(status or ()), submitted_from=submitted_from, submitted_to=submitted_to,
    )
    with reading(request) as session:
        return queries.search_cases(
            session, principal=principal, filters=filters, limit=limit, cursor=cursor, with_total=with_total,
            tz=settings_of(request).timezone,
        )


@router.get("/cases/{case_id}", summary="办件详情与可执行的操作")
def detail(case_id: int, request: Request, principal: CurrentPrincipal) -> CaseDetail:
    with reading(request) as session:
        found = queries.case_detail(session, principal=principal, case_id=case_id, tz=settings_of(request).timezone)
        found.attachments = queries.case_attachments(session, principal=principal, case_id=case_id)
    note_copy_read(request, principal, case_id)  # 抄送 read receipt
    return found


@router.get("/cases/{case_id}/events", summary="办件的事件记录（时间线）")
def events(
    case_id: int, request: Request, principal: CurrentPrincipal, limit: Limit = 100, cursor: Cursor = None
) -> Page[EventOut]:
    with reading(request) as session:
        return queries.case_events(session, principal=principal, case_id=case_id, limit=limit, cursor=cursor)


@router.post("/cases/{case_id}/accept", summary="受理（开始计时，启动流程）")
def accept(case_id: int, request: Request, principal: CurrentPrincipal) -> NewTasksOut:
    with writing(request) as session:
        ids = cases.accept_case(session, principal=principal, case_id=case_id, tz=settings_of(request).timezone)
    return NewTasksOut(task_ids=ids)


@router.post("/cases/{case_id}/reject", status_code=204, summary="不予受理")
def reject(case_id: int, body: ReasonIn, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        cases.reject_case(
            session, principal=principal, case_id=case_id, reason=body.reason, tz=settings_of(request).timezone
        )
    return Response(status_code=204)


@router.post("/cases/{case_id}/withdraw", status_code=204, summary="撤回（受理前）")
def withdraw(case_id: int, body: OptionalReasonIn, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        cases.withdraw_case(
            session, principal=principal, case_id=case_id, reason=body.reason, tz=settings_of(request).timezone
        )
    return Response(status_code=204)


@router.post("/cases/{case_id}/conclude", status_code=204, summary="办结：准予或不予")
def conclude(case_id: int, body: ConcludeIn, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        cases.conclude_case(
            session, principal=principal, case_id=case_id, result=body.result.value, note=body.note,
            tz=settings_of(request).timezone,
        )
    return Response(status_code=204)


@router.post("/cases/{case_id}/archive", status_code=204, summary="归档")
def archive(case_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        cases.archive_case(session, principal=principal, case_id=case_id, tz=settings_of(request).timezone)
    return Response(status_code=204)


@router.get("/tasks/todo", tags=["待办"], summary="我的待办（含本岗位未签收的共享待办）")
def todo(
    request: Request, principal: CurrentPrincipal, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
    with_total: WithTotal = False,
) -> Page[TaskItem]:
    with reading(request) as session:
        return queries.todo(
            session, principal=principal, limit=limit, cursor=cursor, with_total=with_total,
            tz=settings_of(request).timezone,
        )


@router.get("/tasks/done", tags=["待办"], summary="我的已办")
def done(
    request: Request, principal: CurrentPrincipal, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
    with_total: WithTotal = False,
) -> Page[TaskItem]:
    with reading(request) as session:
        return queries.done(
            session, principal=principal, limit=limit, cursor=cursor, with_total=with_total,
            tz=settings_of(request).timezone,
        )


@router.post("/tasks/{task_id}/claim", status_code=204, tags=["待办"], summary="签收共享待办")
def claim(task_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        cases.claim_task(session, principal=principal, task_id=task_id, tz=settings_of(request).timezone)
    return Response(status_code=204)


@router.post("/tasks/{task_id}/complete", tags=["待办"], summary="办理待办：同意或不同意，附意见")
def complete(task_id: int, body: DecisionIn, request: Request, principal: CurrentPrincipal) -> NewTasksOut:
    with writing(request) as session:
        ids = cases.complete_task(
            session, principal=principal, task_id=task_id, approved=body.decision == "approve",
            opinion=body.opinion, tz=settings_of(request).timezone,
        )
    return NewTasksOut(task_ids=ids)


class BatchDecisionIn(DecisionIn):
    task_ids: list[int] = Field(min_length=1, max_length=MAX_BATCH, description="同一事项、同一环节的待办")


class BatchOutcomeOut(BaseModel):
    task_id: int
    ok: bool
    new_task_ids: list[int]
    code: str | None = Field(None, description="失败时的错误代码")
    detail: str | None = Field(None, description="失败时的原因（中文）")


class BatchOut(BaseModel):
    succeeded: int
    failed: int
    results: list[BatchOutcomeOut]


@router.post("/tasks/batch-complete", tags=["待办"], summary="批量审批：同一事项同一环节的待办，逐件各自成交易")
def complete_batch(body: BatchDecisionIn, request: Request, principal: CurrentPrincipal) -> BatchOut:
    outcomes = complete_tasks(
        lambda: writing(request), principal=principal, task_ids=body.task_ids,
        approved=body.decision == "approve", opinion=body.opinion, tz=settings_of(request).timezone,
    )
    results = [BatchOutcomeOut(**vars(o)) for o in outcomes]
    ok = sum(r.ok for r in results)
    return BatchOut(succeeded=ok, failed=len(results) - ok, results=results)


@router.post("/tasks/{task_id}/release", status_code=204, tags=["待办"], summary="退回签收：把签收的岗位待办交还岗位")
def release(task_id: int, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        cases.release_task(session, principal=principal, task_id=task_id, tz=settings_of(request).timezone)
    return Response(status_code=204)


class DelegateIn(RequestBody):
    to_person_id: int
    note: str = Field("", max_length=2000)


class HandBackIn(RequestBody):
    opinion: str = Field("", max_length=2000)


@router.post("/tasks/{task_id}/delegate", status_code=204, tags=["待办"], summary="委派：交本单位同事办理后交回")
def delegate(task_id: int, body: DelegateIn, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        cases.delegate_task(session, principal=principal, task_id=task_id, to_person_id=body.to_person_id,
                            note=body.note, tz=settings_of(request).timezone)
    return Response(status_code=204)


@router.post("/tasks/{task_id}/hand-back", status_code=204, tags=["待办"], summary="交回或收回委派")
def hand_back(task_id: int, body: HandBackIn, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        cases.hand_back_task(session, principal=principal, task_id=task_id, opinion=body.opinion,
                             tz=settings_of(request).timezone)
    return Response(status_code=204)


# -- handling operations (issue 4) ----------------------------------------------------------------------


class ReturnIn(RequestBody):
    target: str = Field(min_length=1, max_length=64, description="退回到的环节 id，或 applicant（申请人）")
    reason: Reason = Field(min_length=1)
    resume_mode: Literal["direct", "chain"] = Field(
        "chain", description="退回申请人后重新提交的去向：direct 直接回到本环节，chain 重新走完整流程"
    )


class SupplementItem(RequestBody):
    material: str | None = Field(None, max_length=20, description="材料编码")
    field: str | None = Field(None, max_length=64, description="表单字段")
    note: str = Field(max_length=500, description="需要补正的内容")


class SupplementIn(RequestBody):
    items: list[SupplementItem] = Field(min_length=1, max_length=50)
    reason: str = Field("", max_length=500)


class ResubmitIn(RequestBody):
    form: dict[str, Any] | None = None
    materials: dict[str, list[int]] = Field(default_factory=dict, description="补充的材料：材料编码 → 附件 id")
    note: str = Field("", max_length=500)


class TransferIn(RequestBody):
    to_person_id: int
    note: str = Field("", max_length=2000)


class SignersIn(RequestBody):
    person_ids: list[int] = Field(min_length=1, max_length=20)
    position: Literal["parallel", "before", "after"] = "parallel"


class RemoveSignerIn(RequestBody):
    person_id: int


@router.get("/tasks/{task_id}/return-targets", tags=["待办"], summary="可退回的环节及退回将取消的待办")
def return_targets(task_id: int, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    with reading(request) as session:
        return cases.return_targets(session, principal=principal, task_id=task_id)


@router.post("/tasks/{task_id}/return", tags=["待办"], summary="退回：到任一已办环节或申请人")
def return_task(task_id: int, body: ReturnIn, request: Request, principal: CurrentPrincipal) -> NewTasksOut:
    with writing(request) as session:
        ids = cases.return_task(
            session, principal=principal, task_id=task_id, target=body.target, reason=body.reason,
            resume_mode=body.resume_mode, tz=settings_of(request).timezone,
        )
    return NewTasksOut(task_ids=ids)


@router.post("/tasks/{task_id}/transfer", tags=["待办"], summary="转办给本单位同事")
def transfer(task_id: int, body: TransferIn, request: Request, principal: CurrentPrincipal) -> NewTasksOut:
    with writing(request) as session:
        new_id = cases.transfer_task(
            session, principal=principal, task_id=task_id, to_person_id=body.to_person_id, note=body.note,
            tz=settings_of(request).timezone,
        )
    return NewTasksOut(task_ids=[new_id])


@router.post("/tasks/{task_id}/signers", tags=["待办"], summary="加签")
def add_signers(task_id: int, body: SignersIn, request: Request, principal: CurrentPrincipal) -> NewTasksOut:
    with writing(request) as session:
        ids = cases.add_signers(
            session, principal=principal, task_id=task_id, person_ids=body.person_ids, position=body.position,
            tz=settings_of(request).timezone,
        )
    return NewTasksOut(task_ids=ids)


@router.post("/tasks/{task_id}/signers/remove", tags=["待办"], summary="减签（尚未签署的会签人）")
def remove_signer(task_id: int, body: RemoveSignerIn, request: Request, principal: CurrentPrincipal) -> NewTasksOut:
    with writing(request) as session:
        ids = cases.remove_signer(
            session, principal=principal, task_id=task_id, person_id=body.person_id, tz=settings_of(request).timezone
        )
    return NewTasksOut(task_ids=ids)


@router.post("/cases/{case_id}/supplement", status_code=201, summary="补正：一次性告知需要补正的内容（停止计时）")
def supplement(case_id: int, body: SupplementIn, request: Request, principal: CurrentPrincipal) -> dict[str, int]:
    with writing(request) as session:
        request_id = cases.request_supplement(
            session, principal=principal, case_id=case_id, items=[i.model_dump() for i in body.items],
            reason=body.reason, tz=settings_of(request).timezone,
        )
    return {"id": request_id}


@router.post("/cases/{case_id}/resubmit", summary="补正后重新提交（恢复计时）")
def resubmit(case_id: int, body: ResubmitIn, request: Request, principal: CurrentPrincipal) -> NewTasksOut:
    with writing(request) as session:
        ids = cases.resubmit_case(
            session, principal=principal, case_id=case_id, form=body.form, materials=body.materials, note=body.note,
            tz=settings_of(request).timezone,
        )
    return NewTasksOut(task_ids=ids)


@router.post("/cases/{case_id}/suspend", status_code=204, summary="挂起（停止计时）")
def suspend(case_id: int, body: ReasonIn, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        cases.suspend_case(
            session, principal=principal, case_id=case_id, reason=body.reason, tz=settings_of(request).timezone
        )
    return Response(status_code=204)


@router.post("/cases/{case_id}/resume", status_code=204, summary="恢复（到期时间顺延挂起的工作日）")
def resume(case_id: int, body: OptionalReasonIn, request: Request, principal: CurrentPrincipal) -> Response:
    with writing(request) as session:
        cases.resume_case(
            session, principal=principal, case_id=case_id, reason=body.reason, tz=settings_of(request).timezone
        )
    return Response(status_code=204)


_KINDS = "特别程序类型：" + "、".join(f"{k} {v}" for k, v in SPECIAL_KINDS.items())


class SpecialProcedureIn(RequestBody):
    kind: str = Field(max_length=24, description=_KINDS)
    reason: Reason = Field(min_length=1)
    basis: Reason = Field(min_length=1, description="法律依据")
    planned_days: int | None = Field(default=None, ge=1, le=365, description="预计所需工作日（告知申请人）")


class SpecialProcedureOut(BaseModel):
    id: int


class SpecialProcedureEndIn(RequestBody):
    outcome: Reason = Field(min_length=1)


class WorkingDaysOut(BaseModel):
    working_days: int


class ExtensionIn(RequestBody):
    days: int = Field(ge=1, le=365, description="延长的工作日数（行政许可法第四十二条：至多 10 个）")
    reason: Reason = Field(min_length=1)


class ExtensionOut(BaseModel):
    due_at: datetime


@router.post("/cases/{case_id}/special-procedures", status_code=201, summary="启动特别程序（停止计时）")
def start_special_procedure(
    case_id: int, body: SpecialProcedureIn, request: Request, principal: CurrentPrincipal
) -> SpecialProcedureOut:
    with writing(request) as session:
        procedure_id = cases.start_special_procedure(
            session, principal=principal, case_id=case_id, kind=body.kind, reason=body.reason, basis=body.basis,
            planned_days=body.planned_days, tz=settings_of(request).timezone,
        )
    return SpecialProcedureOut(id=procedure_id)


@router.post("/cases/{case_id}/special-procedures/end", summary="结束特别程序（到期时间顺延其工作日）")
def end_special_procedure(
    case_id: int, body: SpecialProcedureEndIn, request: Request, principal: CurrentPrincipal
) -> WorkingDaysOut:
    with writing(request) as session:
        days = cases.end_special_procedure(
            session, principal=principal, case_id=case_id, outcome=body.outcome, tz=settings_of(request).timezone
        )
    return WorkingDaysOut(working_days=days)


@router.post("/cases/{case_id}/extension", summary="延期（承办单位负责人批准，仅一次）")
def extend(case_id: int, body: ExtensionIn, request: Request, principal: CurrentPrincipal) -> ExtensionOut:
    with writing(request) as session:
        due = cases.extend_case(
            session, principal=principal, case_id=case_id, days=body.days, reason=body.reason,
            tz=settings_of(request).timezone,
        )
    return ExtensionOut(due_at=due)


@router.post("/tasks/{task_id}/withdraw", tags=["已办"], summary="撤回本人的审批决定（后续环节尚未办理时）")
def withdraw_decision(task_id: int, request: Request, principal: CurrentPrincipal) -> NewTasksOut:
    with writing(request) as session:
        new_id = cases.withdraw_decision(
            session, principal=principal, task_id=task_id, tz=settings_of(request).timezone
        )
    return NewTasksOut(task_ids=[new_id])
