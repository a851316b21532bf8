"""The operations a case page offers, each with its dialog: which service it calls with which fields.

A row here is what an API route is: read the inputs, call the one service operation. Who may do what is
decided by ``cases.queries.case_detail`` (the buttons shown) and checked again by the service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xietong.cases import service as cases
from xietong.cases.service.special import SPECIAL_KINDS
from xietong.errors import FieldProblem, InvalidInput
from xietong.oversight import service as oversight
from xietong.oversight.enums import LEVEL_LABELS
from xietong.security.principal import Principal


@dataclass(frozen=True)
class Call:
    """Everything an operation needs besides the session: who, which case or task, what was typed."""

    principal: Principal
    case_id: int
    task_id: int | None  # the task — or, for an order's operation, the order
    form: dict[str, Any]
    tz: str
    urge_interval_minutes: int

    def text(self, key: str) -> str:
        value = self.form.get(key, "")
        return value.strip() if isinstance(value, str) else ""

    def ids(self, key: str) -> list[int]:
        values = self.form.get(key, [])
        values = values if isinstance(values, list) else [values]
        return [int(v) for v in values if isinstance(v, str) and v.isdigit()]

    @property
    def task(self) -> int:
        assert self.task_id is not None
        return self.task_id


Run = Callable[[Session, Call], object]


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    fields: str  # the dialog's fields template under cases/fields/
    run: Run
    on_task: bool = False  # a task's operation (needs ?task=) rather than the case's
    style: str = ""
    on_order: bool = False  # an order's operation (needs ?order=): 答复, 认可, 退回答复


def _choose(call: Call, key: str, allowed: dict[str, str], message: str) -> str:
    value = call.text(key)
    if value not in allowed:
        raise InvalidInput(code="choice_required", detail=message, errors=[FieldProblem(key, message, "required")])
    return value


def _accept(s: Session, c: Call) -> object:
    return cases.accept_case(s, principal=c.principal, case_id=c.case_id, tz=c.tz)


def _reject(s: Session, c: Call) -> object:
    return cases.reject_case(s, principal=c.principal, case_id=c.case_id, reason=_required(c, "reason"), tz=c.tz)


def _withdraw(s: Session, c: Call) -> object:
    return cases.withdraw_case(s, principal=c.principal, case_id=c.case_id, reason=c.text("reason"), tz=c.tz)


def _decide(approved: bool) -> Run:
    def run(s: Session, c: Call) -> object:
        return cases.complete_task(s, principal=c.principal, task_id=c.task, approved=approved,
                                   opinion=c.text("opinion"), tz=c.tz)
    return run


def _claim(s: Session, c: Call) -> object:
    return cases.claim_task(s, principal=c.principal, task_id=c.task, tz=c.tz)


def _return(s: Session, c: Call) -> object:
    target = c.text("target")
    if not target:
        raise InvalidInput(code="target_required", detail="请选择退回到哪个环节",
                           errors=[FieldProblem("target", "请选择退回到哪个环节", "required")])
    mode = c.text("resume_mode") or "chain"
    return cases.return_task(s, principal=c.principal, task_id=c.task, target=target, reason=c.text("reason"),
                             resume_mode=mode, tz=c.tz)


def _transfer(s: Session, c: Call) -> object:
    [to, *_] = c.ids("person_id") or [0]
    if not to:
        raise InvalidInput(code="person_required", detail="请选择转办给谁",
                           errors=[FieldProblem("person_id", "请选择转办给谁", "required")])
    return cases.transfer_task(s, principal=c.principal, task_id=c.task, to_person_id=to, note=c.text("note"),
                               tz=c.tz)


def _add_signers(s: Session, c: Call) -> object:
    people = c.ids("person_ids")
    if not people:
        raise InvalidInput(code="person_required", detail="请选择加签人员",
                           errors=[FieldProblem("person_ids", "请至少选择一人", "required")])
    return cases.add_signers(s, principal=c.principal, task_id=c.task, person_ids=people, position="parallel",
                             tz=c.tz)


def _supplement(s: Session, c: Call) -> object:
    items = [{"note": line.strip()} for line in c.text("items").splitlines() if line.strip()]
    if not items:
        raise InvalidInput(code="items_required", detail="请逐行写明需要补正的内容",
                           errors=[FieldProblem("items", "请逐行写明需要补正的内容", "required")])
    return cases.request_supplement(s, principal=c.principal, case_id=c.case_id, items=items,
                                    reason=c.text("reason"), tz=c.tz)


def _resubmit(s: Session, c: Call) -> object:
    form = c.form.get("case_form")
    return cases.resubmit_case(s, principal=c.principal, case_id=c.case_id, form=form if form else None,
                               materials=c.form.get("materials") or {}, note=c.text("note"), tz=c.tz)


def _suspend(s: Session, c: Call) -> object:
    return cases.suspend_case(s, principal=c.principal, case_id=c.case_id, reason=_required(c, "reason"), tz=c.tz)


def _resume(s: Session, c: Call) -> object:
    return cases.resume_case(s, principal=c.principal, case_id=c.case_id, reason=c.text("reason"), tz=c.tz)


RESULTS = {"granted": "准予", "denied": "不予"}


def _conclude(s: Session, c: Call) -> object:
    result = _choose(c, "result", RESULTS, "请选择办结结果")
    return cases.conclude_case(s, principal=c.principal, case_id=c.case_id, result=result, note=c.text("note"),
                               tz=c.tz)


def _archive(s: Session, c: Call) -> object:
    return cases.archive_case(s, principal=c.principal, case_id=c.case_id, tz=c.tz)


def _rate(s: Session, c: Call) -> object:
    level = _choose(c, "level", dict(LEVEL_LABELS), "请选择评价等级")
    return oversight.rate_case(s, principal=c.principal, case_id=c.case_id, level=level, comment=c.text("comment"),
                               tz=c.tz)


def _urge(s: Session, c: Call) -> object:
    return oversight.urge_case(s, principal=c.principal, case_id=c.case_id, note=c.text("note"), tz=c.tz,
                               min_interval=timedelta(minutes=c.urge_interval_minutes))


def _supervise(s: Session, c: Call) -> object:
    days = c.text("days")
    if not days.isdigit():
        raise InvalidInput(code="days_required", detail="请填写督办期限（工作日数）",
                           errors=[FieldProblem("days", "请填写 1–60 的整数", "required")])
    return oversight.issue_supervision(s, principal=c.principal, case_id=c.case_id, content=c.text("content"),
                                       days=int(days), tz=c.tz)


def _copy(s: Session, c: Call) -> object:
    return oversight.copy_case(s, principal=c.principal, case_id=c.case_id, person_ids=c.ids("person_ids"),
                               note=c.text("note"), tz=c.tz)


def _answer(s: Session, c: Call) -> object:
    return oversight.answer_order(s, principal=c.principal, order_id=c.task, answer=c.text("answer"), tz=c.tz)


def _close(s: Session, c: Call) -> object:
    return oversight.close_order(s, principal=c.principal, order_id=c.task, tz=c.tz)


def _send_back(s: Session, c: Call) -> object:
    return oversight.send_back_order(s, principal=c.principal, order_id=c.task, reason=_required(c, "reason"),
                                     tz=c.tz)


def _release(s: Session, c: Call) -> object:
    return cases.release_task(s, principal=c.principal, task_id=c.task, tz=c.tz)


def _delegate(s: Session, c: Call) -> object:
    [to, *_] = c.ids("person_id") or [0]
    if not to:
        raise InvalidInput(code="person_required", detail="请选择委派给谁",
                           errors=[FieldProblem("person_id", "请选择委派给谁", "required")])
    return cases.delegate_task(s, principal=c.principal, task_id=c.task, to_person_id=to, note=c.text("note"),
                               tz=c.tz)


def _hand_back(s: Session, c: Call) -> object:  # the colleague hands it back, or its holder takes it back
    return cases.hand_back_task(s, principal=c.principal, task_id=c.task, opinion=c.text("opinion"), tz=c.tz)


def _start_special(s: Session, c: Call) -> object:
    kind = _choose(c, "kind", SPECIAL_KINDS, "请选择特别程序")
    planned = c.text("planned_days")
    if planned and not planned.isdigit():
        raise InvalidInput(code="planned_days_invalid", detail="预计所需时间应为整数个工作日",
                           errors=[FieldProblem("planned_days", "请填写 1–365 的整数", "invalid")])
    return cases.start_special_procedure(s, principal=c.principal, case_id=c.case_id, kind=kind,
                                         reason=_required(c, "reason"), basis=_required(c, "basis"),
                                         planned_days=int(planned) if planned else None, tz=c.tz)


def _end_special(s: Session, c: Call) -> object:
    return cases.end_special_procedure(s, principal=c.principal, case_id=c.case_id,
                                       outcome=_required(c, "outcome"), tz=c.tz)


def _extend(s: Session, c: Call) -> object:
    days = c.text("days")
    if not days.isdigit():
        raise InvalidInput(code="days_required", detail="请填写延长的工作日数",
                           errors=[FieldProblem("days", "请填写 1–10 的整数", "required")])
    return cases.extend_case(s, principal=c.principal, case_id=c.case_id, days=int(days),
                             reason=_required(c, "reason"), tz=c.tz)


def _required(call: Call, key: str) -> str:
    value = call.text(key)
    if not value:
        label = {"basis": "法律依据", "outcome": "结果"}.get(key, "理由")
        raise InvalidInput(code=f"{key}_required", detail=f"请填写{label}",
                           errors=[FieldProblem(key, f"请填写{label}", "required")])
    return value


ACTIONS: dict[str, Action] = {
    a.key: a
    for a in (
        Action("accept", "受理", "confirm", _accept, style="primary"),
        Action("reject", "不予受理", "reason", _reject, style="danger"),
        Action("withdraw", "撤回申请", "reason_optional", _withdraw, style="danger"),
        Action("claim", "签收", "confirm", _claim, on_task=True),
        Action("approve", "同意", "opinion", _decide(True), on_task=True, style="primary"),
        Action("deny", "不同意", "opinion", _decide(False), on_task=True, style="danger"),
        Action("return", "退回", "return", _return, on_task=True),
        Action("transfer", "转办", "transfer", _transfer, on_task=True),
        Action("add_signers", "加签", "people", _add_signers, on_task=True),
        Action("release", "退回签收", "confirm", _release, on_task=True),
        Action("delegate", "委派", "transfer", _delegate, on_task=True),
        Action("hand_back", "交回委派", "opinion", _hand_back, on_task=True, style="primary"),
        Action("recall", "收回委派", "confirm", _hand_back, on_task=True),
        Action("start_special_procedure", "特别程序", "special", _start_special),
        Action("end_special_procedure", "结束特别程序", "outcome", _end_special, style="primary"),
        Action("extend", "延期", "extend", _extend),
        Action("supplement", "补正", "supplement", _supplement),
        Action("resubmit", "重新提交", "resubmit", _resubmit, style="primary"),
        Action("suspend", "挂起", "reason", _suspend),
        Action("resume", "恢复", "reason_optional", _resume),
        Action("conclude", "办结", "conclude", _conclude, style="primary"),
        Action("archive", "归档", "confirm", _archive),
        Action("rate", "评价", "rate", _rate, style="primary"),
        Action("urge", "催办", "note", _urge),
        Action("supervise", "督办", "supervise", _supervise),
        Action("copy", "抄送", "people", _copy),
        Action("answer", "答复", "answer", _answer, style="primary", on_order=True),
        Action("close_order", "认可答复", "confirm", _close, style="primary", on_order=True),
        Action("send_back", "退回答复", "reason", _send_back, on_order=True),
    )
}
# An order's operations: by the unit it is addressed to (answer), by whoever may close orders (the rest).
ORDER_BUTTONS = {"open": {"answer_order": ("answer",)}, "answered": {"close_order": ("close_order", "send_back")}}
# task_actions from the case detail name the operation; "complete" is offered as its two decisions
TASK_BUTTONS = {"claim": ("claim",), "complete": ("approve", "deny"), "return": ("return",),
                "transfer": ("transfer",), "delegate": ("delegate",), "release": ("release",),
                "hand_back": ("hand_back",), "recall": ("recall",)}
