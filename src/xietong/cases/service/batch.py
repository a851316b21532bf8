"""批量审批: one opinion for several similar tasks, each still its own transaction and event.

Similar means the same local matter and the same step (node), so one opinion fits them all; the batch
is refused as a whole when it mixes others in. Each task is then decided by ``complete_task`` in a
transaction of its own (``transaction`` opens one, as the edge does for a request): a task someone else
has decided meanwhile, or one this person may not decide, fails alone and is reported with its Chinese
reason while the others go through.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.cases.models import Case
from xietong.cases.service.tasks import complete_task
from xietong.engine.models import Task
from xietong.errors import DomainError, InvalidInput
from xietong.security.principal import Principal

MAX_BATCH = 100
Transaction = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one task of the batch: its new tasks, or the refusal's code and Chinese detail."""

    task_id: int
    ok: bool
    new_task_ids: list[int] = field(default_factory=list)
    code: str | None = None
    detail: str | None = None


def check_similar(session: Session, task_ids: list[int]) -> None:
    """Refuse a batch that is empty, too large, repeats a task or mixes matters or steps (nothing is decided)."""
    if not task_ids:
        raise InvalidInput(code="batch_empty", detail="请选择要批量审批的待办")
    if len(task_ids) > MAX_BATCH:
        raise InvalidInput(code="batch_too_large", detail=f"一次最多批量审批 {MAX_BATCH} 件")
    if len(set(task_ids)) != len(task_ids):
        raise InvalidInput(code="batch_duplicates", detail="批量审批的待办有重复")
    rows = session.execute(
        select(Task.id, Task.node_id, Case.local_matter_id).join(Case, Case.id == Task.case_id)
        .where(Task.id.in_(task_ids))
    ).all()
    missing = sorted(set(task_ids) - {r.id for r in rows})
    if missing:
        raise InvalidInput(code="task_not_found", detail=f"待办不存在：{missing}", extra={"task_ids": missing})
    if len({(r.node_id, r.local_matter_id) for r in rows}) > 1:
        raise InvalidInput(code="batch_not_similar", detail="只能批量审批同一事项、同一环节的待办")


def complete_tasks(
    transaction: Transaction,
    *,
    principal: Principal,
    task_ids: list[int],
    approved: bool,
    opinion: str,
    tz: str = "Asia/Shanghai",
) -> list[BatchOutcome]:
    """Decide every task with the same opinion, each in its own transaction; one outcome per task, in order."""
    with transaction() as session:
        check_similar(session, task_ids)
    outcomes = []
    for task_id in task_ids:
        try:
            with transaction() as session:
                opened = complete_task(
                    session, principal=principal, task_id=task_id, approved=approved, opinion=opinion, tz=tz
                )
        except DomainError as refused:  # this task's transaction rolled back; the others are not touched
            outcomes.append(BatchOutcome(task_id, ok=False, code=refused.code, detail=refused.detail))
        else:
            outcomes.append(BatchOutcome(task_id, ok=True, new_task_ids=list(opened)))
    return outcomes
