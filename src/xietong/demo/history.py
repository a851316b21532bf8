"""The story of one historical demo case: who does what when, up to the reference instant.

:func:`play` follows a :class:`~xietong.demo.timeline.Plan`: the applicant's clerk submits, a clerk of
the handling department accepts (or refuses, or the applicant withdraws first), the holders of each
open task decide it after a delay drawn against the step's time limit (now and then too late), a 补正
may stop the clock, and the handling department concludes and later archives. Whatever falls after
the reference instant does not happen, so recent cases stay open. :class:`~xietong.demo.record.CaseRecord`
turns each step into the rows the services would write.
"""

from __future__ import annotations

import heapq
import random
from datetime import datetime
from typing import Any

from xietong.demo.context import Context
from xietong.demo.record import CaseRecord, Rows
from xietong.demo.timeline import DAY_MINUTES, Plan
from xietong.engine.state import TaskRow

_APPROVE = ("同意。", "同意，按程序办理。", "材料齐全，同意。", "经审核，符合规定，同意。", "拟同意，请领导审定。")
_DENY = ("不同意：材料不全，请补充后重新申请。", "不同意：不符合相关规定。", "不同意：暂无预算安排。")
_REJECT = ("申请事项不属于本单位职责范围。", "申请材料不符合法定形式。", "同一事项已在办理中，请勿重复申请。")
_SUPPLEMENT = ("请补充加盖公章的申请函。", "预算明细表与申请金额不一致，请补正。", "请补充相关会议纪要。")
_WITHDRAW = ("申请内容有误，撤回后重新申请。", "情况发生变化，不再申请。")

Queue = list[tuple[datetime, int, TaskRow]]
_PROMPT = frozenset({"due_soon", "supplement_open"})  # accepted within the hour, so their timing holds


def play(ctx: Context, plan: Plan, case_id: int, number: str) -> Rows:
    """Every row of the case described by ``plan`` as it stands at the reference instant."""
    return _Story(ctx, plan, case_id, number).run()


class _Story:
    def __init__(self, ctx: Context, plan: Plan, case_id: int, number: str) -> None:
        self.ctx, self.plan, self.number = ctx, plan, number
        self.rng = random.Random(plan.seed)
        self.case = CaseRecord(ctx, case_id, plan.matter)
        self.applicant_id = ctx.ids.person[plan.applicant.key]
        self.rounds: dict[str, int] = {}
        self.seen: set[int | None] = set()
        self.attachments: list[dict[str, Any]] = []

    def run(self) -> Rows:
        ctx, plan, rng = self.ctx, self.plan, self.rng
        at = plan.submitted_at
        self._submit(at)
        if plan.fate == "withdrawn":
            at = ctx.clock.advance(at, rng.uniform(10, 400))
            if at < ctx.as_of:
                self.case.close("withdraw", at, by=self.applicant_id, reason=rng.choice(_WITHDRAW))
                self._maybe_archive(at)
        elif plan.fate != "pending":
            quick = plan.matter.kind == "immediate" or plan.channel == "counter" or plan.fate in _PROMPT
            at = ctx.clock.advance(at, rng.uniform(5, 60) if quick else rng.uniform(20, 650))
            if at < ctx.as_of and plan.fate == "rejected":
                self.case.close("reject", at, by=self._handler(), reason=rng.choice(_REJECT))
                self._maybe_archive(at)
            elif at < ctx.as_of:
                self.case.accept(at, by=self._handler())
                self._handle(at)
        rows = self.case.finished_rows()
        return rows[:1] + [("attachment", a) for a in self.attachments] + rows[1:]

    def _submit(self, at: datetime) -> None:
        ctx, m, person = self.ctx, self.plan.matter, self.plan.applicant
        self.attachments, materials = ctx.attach(self.case.id, m.materials, self.applicant_id, at, self.rng,
                                                 unit_id=ctx.ids.unit[person.unit_key])
        form = ctx.filler(self.rng).fill(
            m.form,
            matter_name=m.name,
            applicant=ctx.applicant(person),
            day=ctx.calendar.local_date(at),
            attachments=materials,
            check=ctx.first_form(m.version_id),
        )
        unit_id, unit_name = ctx.ids.unit[person.unit_key], ctx.unit_names[person.unit_key]
        title = str(form.get("title") or f"{unit_name}申请{m.name}")[:200]
        parties = sorted({unit_id, m.handling_unit_id})
        values = {
            "number": self.number,
            "title": title,
            "matter_version_id": m.version_id,
            "local_matter_id": m.local_id,
            "base_matter_id": m.base_id,
            "region_id": m.region_id,
            "handling_unit_id": m.handling_unit_id,
            "applicant_unit_id": unit_id,
            "applicant_person_id": self.applicant_id,
            "channel": self.plan.channel,
            "status": "submitted",
            "process_state": "not_started",
            "form": form,
            "step_results": {},
            "party_units": "," + ",".join(map(str, parties)) + ",",
            "search_text": " ".join([self.number, title, unit_name, m.name]),
            "kind": m.kind,
            "promised_limit_days": m.promised_limit_days,
            "legal_limit_days": m.legal_limit_days,
            "submitted_at": at,
            "paused_days": 0,
            "trips": 0,
            "extended_days": 0,
            "card": "none",  # until a card timer fires (CaseRecord.fire_until)
            "scope_seq": 0,
            "event_seq": 0,
            "last_event_hash": "",
            "created_at": at,
            "updated_at": at,
        }
        self.case.submit(at, values, materials)

    def _handle(self, accepted: datetime) -> None:
        """Decide open tasks in time order until the process ends or the reference instant comes."""
        ctx, plan = self.ctx, self.plan
        queue: Queue = []
        self._schedule(queue, self.case.open(), None)
        supplement = plan.fate in ("supplement", "supplement_open")
        decisions, last = 0, accepted
        while queue:
            when, _, task = heapq.heappop(queue)
            if task.state != "open":
                continue
            if when >= ctx.as_of or (plan.fate in ("stuck", "due_soon") and decisions == plan.hang_at):
                return
            if supplement:  # the reviewer finds something missing before deciding anything
                supplement = False
                if plan.fate == "supplement_open":
                    when = min(when, ctx.clock.advance(accepted, self.rng.uniform(30, 240)))
                back = self._supplement(when)
                if back is None:
                    return
                queue = []
                self._schedule(queue, self.case.open(), back)
                continue
            last = when
            self._schedule(queue, self._decide(task, when), when)
            decisions += 1
        if self.case.row["process_state"] == "finished":
            self._conclude(last)

    def _schedule(self, queue: Queue, tasks: list[TaskRow], since: datetime | None) -> None:
        """When each task will be decided: mostly well within its step's limit, one in twenty late."""
        for task in tasks:
            if task.seq == 0 and task.id not in self.seen:  # each time a step comes round it opens one seq-0 task
                self.seen.add(task.id)
                self.rounds[task.node_id] = self.rounds.get(task.node_id, 0) + 1
            limit = self.plan.matter.process.node(task.node_id).limit_days
            minutes = (limit or 0.15) * DAY_MINUTES
            late = self.rng.random() < 0.05
            spent = minutes * (self.rng.uniform(1.0, 2.2) if late else 0.9 * self.rng.random() ** 1.5)
            heapq.heappush(queue, (self.ctx.clock.advance(since or task.created_at, spent), task.id or 0, task))

    def _decide(self, task: TaskRow, at: datetime) -> list[TaskRow]:
        approved = self._approves(task)
        holders = self.ctx.ids.holders[(task.slot.unit_id, task.slot.post_id or 0)] if task.slot.post_id else []
        by = task.slot.person_id or self.rng.choice(holders)
        opinion = self.rng.choice(_APPROVE if approved else _DENY)
        return self.case.decide(task, at, by=by, approved=approved, opinion=opinion)

    def _approves(self, task: TaskRow) -> bool:
        """A ``deny`` case says no the first time each step comes round; others rarely, and only in a
        parallel branch or among several signers — so a 联合会审 sometimes goes back for another round."""
        first = self.rounds.get(task.node_id, 1) <= 1
        if self.plan.fate == "deny":
            return not first
        shared = task.scope is not None and task.scope.kind in ("branch", "multi")
        return not (first and shared and self.rng.random() < 0.08)

    def _supplement(self, at: datetime) -> datetime | None:
        """补正 asked at ``at``; when the applicant hands it in, or None while the case still waits."""
        if at >= self.ctx.as_of:
            return None
        self.case.request_supplement(at, by=self._handler(), reason=self.rng.choice(_SUPPLEMENT))
        back = self.ctx.clock.advance(at, self.rng.uniform(1, 5) * DAY_MINUTES)
        if self.plan.fate == "supplement_open" or back >= self.ctx.as_of:
            return None
        self.case.resubmit(back, by=self.applicant_id)
        return back

    def _conclude(self, last: datetime) -> None:
        immediate = self.plan.matter.kind == "immediate"
        at = self.ctx.clock.advance(last, self.rng.uniform(1, 20) if immediate else self.rng.uniform(5, 240))
        if at >= self.ctx.as_of:
            return
        decided = self.case.row["step_results"].get(self.case.last_decided or "", {})
        if decided.get("approved", True):
            result, note = "granted", "准予。"
        else:
            result, note = "denied", "不予：" + self.rng.choice(_DENY).split("：", 1)[1]
        trips = int(self.plan.channel == "counter" or self.rng.random() < 0.04)
        self.case.conclude(at, by=self._handler(), result=result, note=note, trips=trips)
        self._maybe_archive(at)

    def _maybe_archive(self, after: datetime) -> None:
        if self.rng.random() >= (0.85 if self.case.row["status"] == "concluded" else 0.5):
            return
        at = self.ctx.clock.advance(after, self.rng.uniform(3, 20) * DAY_MINUTES)
        if at < self.ctx.as_of:
            self.case.archive(at, by=self._handler())

    def _handler(self) -> int:
        """A clerk of the handling department."""
        return self.rng.choice(self.ctx.handlers[self.plan.matter.unit_key])
