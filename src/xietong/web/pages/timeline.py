"""How a case's events read on its page: a Chinese label per event type and the words people wrote with
it (opinions, reasons, notes). Presentation only — the events themselves come from ``cases.queries``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xietong.cases.schemas import EventOut
from xietong.oversight.enums import LEVEL_LABELS

LABELS = {
    "case.submitted": "提交申请", "case.accepted": "受理", "case.rejected": "不予受理", "case.withdrawn": "撤回申请",
    "task.completed": "办理", "task.claimed": "签收", "task.transferred": "转办", "task.signers_added": "加签",
    "task.signer_removed": "减签", "task.decision_withdrawn": "撤回决定", "task.overdue": "环节超期",
    "case.returned": "退回", "case.returned_to_applicant": "退回申请人", "case.supplement_requested": "要求补正",
    "case.resubmitted": "补正后重新提交", "case.suspended": "挂起", "case.resumed": "恢复",
    "case.concluded": "办结", "case.archived": "归档", "case.card_yellow": "亮黄牌", "case.card_red": "亮红牌",
    "case.urged": "催办", "case.supervision_ordered": "督办", "case.copied": "抄送", "case.rated": "评价",
    "case.result_sealed": "办结文书盖章", "case.archive_transferred": "移交电子档案",
    "case.reorganised": "机构改革", "task.reorganised": "机构改革转移待办", "task.delegated": "委派",
}
OUTCOMES = {"approve": "同意", "deny": "不同意", "return": "退回"}
RESULTS = {"granted": "准予", "denied": "不予"}


@dataclass(frozen=True)
class Entry:
    at: datetime
    label: str
    actor: str
    step: str | None
    lines: list[str]


def entries(events: list[EventOut], step_names: dict[str, str]) -> list[Entry]:
    return [_entry(e, step_names) for e in events]


def _entry(event: EventOut, step_names: dict[str, str]) -> Entry:
    delta, lines = event.delta, []
    done = delta.get("task_completed") or delta.get("task_ended") or {}
    step = step_names.get(done.get("node", ""), done.get("node")) if done else None
    if done.get("outcome") in OUTCOMES and event.type == "task.completed":
        lines.append(f"结论：{OUTCOMES[done['outcome']]}")
    if done.get("opinion"):
        lines.append(f"意见：{done['opinion']}")
    returned = delta.get("returned")
    if returned:
        to = str(returned.get("to"))
        target = "申请人" if to == "applicant" else step_names.get(to, to)
        lines.append(f"退回到：{target}")
    case = delta.get("case") or {}
    if case.get("result") in RESULTS:
        lines.append(f"办结结果：{RESULTS[case['result']]}")
    for key, label in (("reason", "理由"), ("result_note", "说明")):
        if case.get(key) and event.type != "case.returned_to_applicant":
            lines.append(f"{label}：{case[key]}")
    lines += [f"补正：{item.get('note')}" for item in (delta.get("supplement") or {}).get("items", [])]
    lines += _notes(delta)
    reorganised = delta.get("reorganisation") or {}
    if reorganised.get("to_name"):
        lines.append(f"现由：{reorganised['to_name']}（{reorganised.get('reason', '')}）")
    return Entry(event.at, LABELS.get(event.type, event.type), event.actor_name or "系统", step, lines)


def _notes(delta: dict[str, Any]) -> list[str]:
    lines = []
    for key in ("changes", "resumed"):
        note = (delta.get(key) or {}).get("note")
        if note:
            lines.append(f"说明：{note}")
    if delta.get("materials"):
        lines.append(f"材料：{sum(len(v) for v in delta['materials'].values())} 份")
    if delta.get("shared_materials"):  # 减材料: linked from the catalogue instead of uploaded
        lines.append(f"引用共享材料：{len(delta['shared_materials'])} 份")
    oversight = delta.get("oversight") or {}
    rating = oversight.get("rating")
    if rating:
        lines.append(f"评价：{LEVEL_LABELS.get(rating.get('level'), rating.get('level'))}")
        if rating.get("comment"):
            lines.append(f"评价意见：{rating['comment']}")
    for key in ("urge", "copy"):
        if (oversight.get(key) or {}).get("note"):
            lines.append(f"说明：{oversight[key]['note']}")
    order = oversight.get("order")
    if order and order.get("content"):
        lines.append(f"内容：{order['content']}")
    return lines
