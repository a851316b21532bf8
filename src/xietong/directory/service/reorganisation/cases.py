"""The open cases of a reorganisation, each in a transaction of its own after the directory part: its open
steps in a predecessor move to the successor (``cases.service.handover.move_task``: same step, same due time,
the same person or the same post there), its denormalised handling and applicant unit and parties follow, its
open 督办/整改 orders addressed to a predecessor too, and one ``case.reorganised`` event closes it on the chain.

The case's clock is untouched: its due time, timers and card stay as they were (reorganising does not stop the
clock). A case that fails is reported with its reason and the others go on; running the same reorganisation
again moves what is left, since a moved case no longer touches a predecessor (a renamed unit keeps its id, so
there the case's ``case.reorganised`` event with this reorganisation's key is what marks it done).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from xietong.cases.enums import OPEN_STATUSES, CaseStatus
from xietong.cases.events import Actor
from xietong.cases.models import Case, CaseParty
from xietong.cases.service.common import Operation, lock_case
from xietong.cases.service.handover import move_task
from xietong.cases.service.tasks import lock_task
from xietong.db.base import utcnow
from xietong.directory.models import Membership, Post, Unit
from xietong.directory.service.posts import ensure_post
from xietong.directory.service.reorganisation.directory import restructure
from xietong.directory.service.reorganisation.plan import (
    REFUSED,
    REORGANISED,
    Plan,
    PlanItem,
    Resolved,
    plan_items,
    resolve,
)
from xietong.directory.service.reorganisation.spec import ReorganisationIn
from xietong.engine.models import Task
from xietong.errors import Conflict, DomainError, InvalidInput
from xietong.oversight.models import OversightOrder
from xietong.security.principal import Principal

Transaction = Callable[[], AbstractContextManager[Session]]
Progress = Callable[[int, int], None]
# (session, action, reorganisation key, detail): writes one audit row in the caller's way, in that session.
Recorder = Callable[[Session, str, str, dict[str, object]], None]


@dataclass(frozen=True)
class Outcome:
    """What became of one item: done, or failed with its code and Chinese detail (a case only)."""

    kind: str
    id: int | None
    label: str
    action: str
    ok: bool
    detail: str | None = None
    code: str | None = None


@dataclass
class Log:
    """The per-item log of one run of ``execute``."""

    key: str
    items: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.items if not o.ok]


def execute(
    transaction: Transaction, *, principal: Principal, spec: ReorganisationIn, now: datetime | None = None,
    tz: str = "Asia/Shanghai", progress: Progress | None = None, record: Recorder | None = None,
) -> Log:
    """Carry out the reorganisation: the directory part in one transaction (unless an earlier run did it), then
    each open case in its own; refused as a whole while the plan refuses anything.

    ``record`` audits: ``directory.reorganised`` inside the directory part's own transaction (so a changed
    directory is never left unaudited), then ``directory.reorganisation_cases`` with the cases moved and failed
    (each moved case also carries ``case.reorganised`` on its own chain)."""
    now = now or utcnow()
    with transaction() as session:
        # Two runs of one reorganisation at once: the second waits here, then finds the first one's lineage.
        session.execute(select(Unit.id).where(Unit.code.in_(spec.units)).order_by(Unit.id).with_for_update()).all()
        resolved = resolve(session, principal=principal, spec=spec)
        items = plan_items(session, resolved)
        refused = [i for i in items if i.state == REFUSED]
        if refused:
            raise InvalidInput(
                code="reorganisation_refused", detail=f"改革方案有 {len(refused)} 项无法办理，请先补全或修改方案",
                extra={"refused": [{"kind": i.kind, "id": i.id, "label": i.label, "reason": i.reason}
                                   for i in refused]})
        log = Log(resolved.key or "")
        if resolved.key is None:
            log.key = restructure(session, resolved, Plan(spec.kind, items), by_id=_person(principal), now=now)
            log.items += [Outcome(i.kind, i.id, i.label, i.action, True) for i in items if i.kind != "case"]
            if record is not None:
                record(session, "directory.reorganised", log.key,
                       {"kind": spec.kind.value, "units": spec.units, "reason": spec.reason,
                        "directory_items": len(log.items)})
        cases = [i for i in items if i.kind == "case"]
    actor = Actor(principal.kind, principal.id)
    for n, item in enumerate(cases, 1):
        log.items.append(_one_case(transaction, principal, spec, log.key, item, actor, now, tz))
        if progress is not None:
            progress(n, len(cases))
    if record is not None and cases:
        moved = [o for o in log.items if o.kind == "case"]
        with transaction() as session:
            record(session, "directory.reorganisation_cases", log.key,
                   {"cases_moved": sum(o.ok for o in moved),
                    "cases_failed": [{"id": o.id, "code": o.code, "detail": o.detail} for o in log.failed]})
    return log


def _one_case(transaction: Transaction, principal: Principal, spec: ReorganisationIn, key: str, item: PlanItem,
              actor: Actor, now: datetime, tz: str) -> Outcome:
    try:
        with transaction() as session:
            resolved = resolve(session, principal=principal, spec=spec)
            assert item.target is not None and item.case_id is not None
            move_case(session, resolved, key=key, case_id=item.case_id, target=item.target, actor=actor, now=now,
                      tz=tz)
    except DomainError as failed:  # this case's transaction rolled back; the others go on
        return Outcome("case", item.id, item.label, item.action, False, failed.detail, failed.code)
    except SQLAlchemyError as failed:  # a constraint, a deadlock, a lost connection: this case only, logged
        detail = f"迁移时数据库出错（{type(failed).__name__}），本件未迁移；再次执行同一方案即可继续"
        return Outcome("case", item.id, item.label, item.action, False, detail, "case_move_failed")
    return Outcome("case", item.id, item.label, item.action, True)


def _person(principal: Principal) -> int | None:
    return principal.id if principal.kind == "person" else None


def move_case(session: Session, resolved: Resolved, *, key: str, case_id: int, target: str, actor: Actor,
              now: datetime, tz: str) -> None:
    """Move one open case to its successor and close it with a ``case.reorganised`` event (the caller's one
    transaction; the case row is locked first, then its tasks, as every case operation does)."""
    row = lock_case(session, case_id)
    if CaseStatus(row["status"]) not in OPEN_STATUSES:
        raise Conflict(code="case_not_open", detail="办件已不在办理中，无需迁移")
    unit = resolved.targets[target]
    assert unit is not None
    preds = set(resolved.ids)
    note = f"机构改革：{resolved.spec.reason}"[:200]
    moved = []
    for task_id in session.scalars(select(Task.id).where(Task.case_id == case_id, Task.state == "open",
                                                         Task.unit_id.in_(preds)).order_by(Task.id)):
        task = lock_task(session, task_id)
        if task["task_unit_id"] == unit.id:  # a rename: the step stays where it is
            continue
        post_id = _post_in(session, unit, task["task_post_id"])
        new_id = move_task(session, task, _holder(session, task, unit), actor=actor, note=note, now=now, tz=tz,
                           event="task.reorganised", to_unit=(unit.id, post_id))
        if task["task_delegate_id"] is not None:
            _keep_delegation(session, case_id, new_id, task["task_delegate_id"], actor, now, tz)
        moved.append([task_id, new_id])
    row = lock_case(session, case_id)  # the chain head moved with each task
    _finish(session, resolved, dict(row), key=key, unit=unit, moved=moved, actor=actor, now=now, tz=tz)


def _holder(session: Session, task: Mapping[str, Any], unit: Unit) -> int | None:
    """The step's person, who came along to the successor; a person who had left the unit before leaves the
    step to its post's holders (shared again). A step of no post needs a person, so that case waits."""
    person = task["task_assignee_id"]
    if person is None or session.scalar(select(Membership.id).where(
            Membership.person_id == person, Membership.unit_id == unit.id).limit(1)) is not None:
        return person
    if task["task_post_id"] is None:
        raise Conflict(code="holder_left", detail=f"待办“{task['task_name']}”的办理人已不在本单位，请先办理人员交接")
    return None


def _keep_delegation(session: Session, case_id: int, task_id: int, delegate: int, actor: Actor, now: datetime,
                     tz: str) -> None:
    """A step lent by 委派 stays lent to the same colleague after it moved (their own event, as 委派 writes)."""
    session.execute(update(Task).where(Task.id == task_id).values(delegate_id=delegate, delegated_at=now))
    Operation(session, lock_case(session, case_id), actor, now, tz).finish(
        "task.delegated", delta={"task_delegated": {"id": task_id, "to": delegate, "note": "机构改革，委派延续"}})


def _post_in(session: Session, unit: Unit, post_id: int | None) -> int | None:
    if post_id is None:
        return None
    post = session.get(Post, post_id)
    assert post is not None
    return ensure_post(session, unit_id=unit.id, code=post.code, name=post.name).id


def _finish(session: Session, resolved: Resolved, row: dict[str, object], *, key: str, unit: Unit,
            moved: list[list[int]], actor: Actor, now: datetime, tz: str) -> None:
    preds = set(resolved.ids)
    case_id = int(str(row["id"]))
    values: dict[str, object] = {}
    for column in ("handling_unit_id", "applicant_unit_id"):
        if row[column] in preds:
            values[column] = unit.id
    parties = {int(u) for u in str(row["party_units"]).strip(",").split(",") if u}
    if parties & preds:
        parties = (parties - preds) | {unit.id}
    values["party_units"] = row["party_units"] = "," + ",".join(str(u) for u in sorted(parties)) + ","
    gone = preds - {unit.id}
    if gone:
        session.execute(delete(CaseParty).where(CaseParty.case_id == case_id, CaseParty.unit_id.in_(gone)))
    if session.get(CaseParty, (case_id, unit.id)) is None:
        session.execute(insert(CaseParty).values(case_id=case_id, unit_id=unit.id))
    orders = list(session.scalars(select(OversightOrder.id).where(
        OversightOrder.case_id == case_id, OversightOrder.unit_id.in_(gone), OversightOrder.state != "closed")))
    if orders:
        session.execute(update(OversightOrder).where(OversightOrder.id.in_(orders)).values(unit_id=unit.id))
    search = session.scalar(select(Case.search_text).where(Case.id == case_id)) or ""
    if unit.name not in search:  # found by the successor's name too (search text is not in the events)
        session.execute(update(Case).where(Case.id == case_id).values(search_text=f"{search} {unit.name}"[:10000]))
    spec = resolved.spec
    Operation(session, row, actor, now, tz).finish(REORGANISED, case_values=values, delta={"reorganisation": {
        "key": key, "kind": spec.kind.value, "reason": spec.reason, "from": sorted(preds), "to": unit.id,
        "to_name": unit.name, "tasks": moved, "orders": orders}})


