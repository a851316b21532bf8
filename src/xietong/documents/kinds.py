"""The kinds of document, the event each answers, the placeholders its template may use, and the city defaults.

Templates are plain text with ``${placeholder}`` fields (``string.Template``: no code runs in a template, and
an unknown field is an error reported with its line, never a half-rendered notice).
"""

from __future__ import annotations

from dataclasses import dataclass

REMEDIES = (
    "申请人如不服本决定，可以自收到本决定书之日起六十日内依法申请行政复议，"
    "或者在六个月内依法向人民法院提起行政诉讼。"
)
COMMON = ("number", "title", "date", "case_number", "matter", "applicant_unit", "applicant_person", "handling_unit",
          "submitted_date")


@dataclass(frozen=True)
class Kind:
    key: str
    title: str
    abbreviation: str  # in the number: 〔年〕 after the unit's and this abbreviation
    event: str  # the event type that issues it
    fields: tuple[str, ...]  # placeholders beyond COMMON
    default: str

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(COMMON + self.fields)


KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("acceptance_notice", "受理通知书", "受", "case.accepted", ("accepted_date", "promise", "due_date"), """\
${title}
${number}

${applicant_unit}：
    你单位于${submitted_date}提交的“${matter}”申请（办件编号 ${case_number}），经审查，申请材料齐全、符合法定形式，
本机关决定予以受理。${promise}

特此通知。

${handling_unit}
${date}
"""),
    Kind("rejection_decision", "不予受理决定书", "不受", "case.rejected", ("reason", "remedies"), """\
${title}
${number}

${applicant_unit}：
    你单位于${submitted_date}提交的“${matter}”申请（办件编号 ${case_number}），经审查，决定不予受理。
    理由：${reason}
    ${remedies}

${handling_unit}
${date}
"""),
    Kind("supplement_notice", "一次性补正告知书", "补正", "case.supplement_requested", ("items", "window_note"), """\
${title}
${number}

${applicant_unit}：
    你单位于${submitted_date}提交的“${matter}”申请（办件编号 ${case_number}），需要补正以下全部内容：
${items}
    请补正后重新提交。${window_note}

${handling_unit}
${date}
"""),
    Kind("denial_decision", "不予许可决定书", "不许", "case.concluded", ("reason", "remedies"), """\
${title}
${number}

${applicant_unit}：
    你单位提交的“${matter}”申请（办件编号 ${case_number}），经审查，决定不予许可。
    理由：${reason}
    ${remedies}

${handling_unit}
${date}
"""),
    Kind("conclusion_notice", "办结通知书", "办结", "case.concluded", ("concluded_date", "result_note"), """\
${title}
${number}

${applicant_unit}：
    你单位提交的“${matter}”申请（办件编号 ${case_number}）已于${concluded_date}办结，结果为准予。${result_note}

${handling_unit}
${date}
"""),
    Kind("special_procedure_notice", "特别程序告知书", "特程", "case.special_procedure_started",
         ("procedure", "reason", "basis", "planned"), """\
${title}
${number}

${applicant_unit}：
    你单位提交的“${matter}”申请（办件编号 ${case_number}），依据${basis}，需要进行${procedure}。
    理由：${reason}
    ${planned}所需时间不计算在办理期限内。

${handling_unit}
${date}
"""),
    Kind("extension_notice", "延期告知书", "延", "case.extended", ("days", "due_date", "reason"), """\
${title}
${number}

${applicant_unit}：
    你单位提交的“${matter}”申请（办件编号 ${case_number}），因${reason}，经本机关负责人批准，办理期限延长
${days}个工作日，延长后的办结期限为${due_date}。

${handling_unit}
${date}
"""),
)}

BY_EVENT: dict[str, tuple[Kind, ...]] = {}
for _kind in KINDS.values():
    BY_EVENT[_kind.event] = (*BY_EVENT.get(_kind.event, ()), _kind)
